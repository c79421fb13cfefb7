// Fails `npm install` early, in one line, when oneDNN's headers or library are missing.
const fs = require('node:fs');
const header = '/usr/include/oneapi/dnnl/dnnl.hpp';
const libs = ['/usr/lib/x86_64-linux-gnu/libdnnl.so', '/usr/lib/aarch64-linux-gnu/libdnnl.so', '/usr/lib/libdnnl.so', '/usr/local/lib/libdnnl.so'];
if (!fs.existsSync(header) || !libs.some((p) => fs.existsSync(p))) {
  console.error('googlenet: oneDNN 2.x not found (need ' + header + ' and libdnnl.so); install it with: sudo apt-get install -y libdnnl-dev');
  process.exit(1);
}
