{
  "targets": [
    {
      "target_name": "googlenet_dnnl",
      "sources": ["native/core.cc", "native/ops.cc", "native/maxpool.cc"],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      "libraries": ["-ldnnl", "-fopenmp"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions", "-Wall"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
