#include "core.h"

#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>

namespace gn {

dnnl::engine &engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream &stream() {
  static dnnl::stream s(engine());
  return s;
}

// ---- caching allocator ----------------------------------------------------------
//
// Freed buffers are kept and reused, as PyTorch's caching allocators do: a training step
// allocates the same sizes every time, and fresh pages (mmap, page faults, zeroing) for every
// activation would cost more time than many kernels. A request takes the smallest cached block
// that is large enough, up to twice its size, so the blocks the backward pass frees also serve
// the next forward pass, and the pool stays close to the peak of live memory.

namespace {
std::multimap<size_t, void *> freeBlocks;           // capacity -> block
std::unordered_map<void *, size_t> capacityOf;      // every block we own
size_t live = 0, pooled = 0, peak = 0;
const double reuseFactor = 2.0;
}  // namespace

void *allocBytes(size_t bytes) {
  if (bytes == 0) bytes = 64;
  size_t want = (bytes + 63) / 64 * 64;
  auto it = freeBlocks.lower_bound(want);
  void *p;
  if (it != freeBlocks.end() && (double)it->first <= reuseFactor * (double)want) {
    p = it->second;
    pooled -= it->first;
    live += it->first;
    freeBlocks.erase(it);
  } else {
    p = std::aligned_alloc(64, want);
    if (!p) throw std::runtime_error("out of memory allocating " + std::to_string(bytes) + " bytes");
    capacityOf[p] = want;
    live += want;
  }
  if (live > peak) peak = live;
  return p;
}

void freeBytes(void *ptr, size_t) {
  if (!ptr) return;
  size_t cap = capacityOf.at(ptr);
  live -= cap;
  freeBlocks.emplace(cap, ptr);
  pooled += cap;
}

size_t liveBytes() { return live; }
size_t cachedBytes() { return pooled; }
size_t peakBytes() { return peak; }

void emptyCache() {
  for (auto &kv : freeBlocks) {
    capacityOf.erase(kv.second);
    std::free(kv.second);
  }
  freeBlocks.clear();
  pooled = 0;
}

// ---- tensors ----------------------------------------------------------------------

Tensor::Tensor(const memory::desc &desc) : md(desc) {
  bytes = md.get_size();
  data = allocBytes(bytes);
  mem = memory(md, engine(), data);
}

Tensor::~Tensor() { release(); }

void Tensor::release() {
  if (data) {
    freeBytes(data, bytes);
    data = nullptr;
    mem = memory();
  }
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (auto d : md.dims()) n *= d;
  return n;
}

namespace {
struct Handle {
  TensorPtr t;
};
}  // namespace

Napi::Value wrap(Napi::Env env, TensorPtr t) {
  return Napi::External<Handle>::New(env, new Handle{std::move(t)},
                                     [](Napi::Env, Handle *h) { delete h; });
}

TensorPtr unwrap(const Napi::Value &v, const char *op, const char *arg) {
  if (!v.IsExternal())
    throw std::invalid_argument(std::string(op) + ": " + arg + " is not a native tensor");
  auto *h = v.As<Napi::External<Handle>>().Data();
  if (!h || !h->t || !h->t->alive())
    throw std::invalid_argument(std::string(op) + ": " + arg + " was already disposed");
  return h->t;
}

TensorPtr unwrapOptional(const Napi::Value &v, const char *op, const char *arg) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return unwrap(v, op, arg);
}

TensorPtr newTensor(const memory::desc &md) { return std::make_shared<Tensor>(md); }

memory::desc plainDesc(const dims &d, memory::data_type dt) {
  static const memory::format_tag tags[] = {memory::format_tag::undef, memory::format_tag::a,
                                            memory::format_tag::ab,    memory::format_tag::abc,
                                            memory::format_tag::abcd,  memory::format_tag::abcde};
  if (d.size() < 1 || d.size() > 5) throw std::invalid_argument("tensors must have 1 to 5 dims");
  return memory::desc(d, dt, tags[d.size()]);
}

bool isPlain(const memory::desc &md) { return md == plainDesc(md.dims(), md.data_type()); }

void reorderInto(const memory &src, const memory &dst) {
  dnnl::reorder r(src, dst);
  r.execute(stream(), const_cast<memory &>(src), const_cast<memory &>(dst));
  stream().wait();
}

TensorPtr asLayout(const TensorPtr &t, const memory::desc &md) {
  if (t->md == md) return t;
  if (t->md.dims() != md.dims())
    throw std::invalid_argument("layout change between different shapes " + dimsStr(t->md.dims()) +
                                " -> " + dimsStr(md.dims()));
  auto out = newTensor(md);
  reorderInto(t->mem, out->mem);
  return out;
}

TensorPtr toPlain(const TensorPtr &t) { return asLayout(t, plainDesc(t->md.dims(), t->md.data_type())); }

TensorPtr toPlainF32(const TensorPtr &t) { return asLayout(t, plainDesc(t->md.dims())); }

std::string dimsStr(const dims &d) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < d.size(); i++) s << (i ? "," : "") << d[i];
  s << "]";
  return s.str();
}

std::string mdKey(const memory::desc &md) {
  const dnnl_memory_desc_t &c = md.data;
  std::ostringstream s;
  s << c.ndims << ":" << c.data_type << ":" << c.format_kind << ":" << c.offset0;
  for (int i = 0; i < c.ndims; i++) s << "," << c.dims[i] << "/" << c.padded_dims[i];
  if (c.format_kind == dnnl_blocked) {
    const auto &b = c.format_desc.blocking;
    for (int i = 0; i < c.ndims; i++) s << ";" << b.strides[i];
    for (int i = 0; i < b.inner_nblks; i++) s << "|" << b.inner_blks[i] << "@" << b.inner_idxs[i];
  }
  return s.str();
}

std::string describe(const TensorPtr &t) { return t ? dimsStr(t->md.dims()) : "null"; }

// ---- primitive cache ----------------------------------------------------------------

namespace {
std::unordered_map<std::string, CacheEntry> primitiveCache;
}

CacheEntry &cached(const std::string &key, const std::function<CacheEntry()> &make) {
  auto it = primitiveCache.find(key);
  if (it != primitiveCache.end()) return it->second;
  return primitiveCache.emplace(key, make()).first->second;
}

size_t cacheSize() { return primitiveCache.size(); }

void execute(dnnl::primitive &p, const std::unordered_map<int, memory> &args) {
  p.execute(stream(), args);
  stream().wait();
}

// ---- arguments ---------------------------------------------------------------------------

namespace {

std::string typeName(const Napi::Value &v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "an array";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsExternal()) return "a native tensor";
  if (v.IsFunction()) return "a function";
  return "an object";
}

bool isInteger(double v) { return std::isfinite(v) && std::floor(v) == v; }

std::string numStr(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

Attrs::Attrs(const Napi::CallbackInfo &info, const char *op, size_t positional,
             std::initializer_list<const char *> names)
    : env_(info.Env()), op_(op) {
  if (names.size() > kMaxNames) throw std::logic_error(std::string(op) + " declares too many attributes");
  for (const char *n : names) names_[count_++] = n;
  size_t want = positional + (count_ ? 1 : 0);
  if (info.Length() != want)
    fail("expected " + std::to_string(want) + " argument" + (want == 1 ? "" : "s") +
         (count_ ? " (the last one its attributes object)" : "") + ", got " + std::to_string(info.Length()));
  if (!count_) return;
  Napi::Value v = info[positional];
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray())
    fail("the last argument must be its attributes object, got " + typeName(v));
  auto obj = v.As<Napi::Object>();
  size_t present = 0;
  for (size_t i = 0; i < count_; i++) {
    values_[i] = obj.Get(names_[i]);
    if (!values_[i].IsUndefined()) present++;
  }
  // Every key is a declared name unless there are more keys than declared names present; only
  // then (or with a declared name set to undefined) are the keys compared one by one.
  Napi::Array keys = obj.GetPropertyNames();
  if (keys.Length() == present) return;
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    bool known = false;
    for (size_t j = 0; j < count_; j++) known = known || k == names_[j];
    if (!known) {
      std::string list;
      for (size_t j = 0; j < count_; j++) list += std::string(j ? ", " : "") + names_[j];
      fail("unknown attribute '" + k + "' (it takes " + list + ")");
    }
  }
}

void Attrs::fail(const std::string &msg) const { throw Napi::TypeError::New(env_, op_ + (": " + msg)); }

const Napi::Value &Attrs::value(const char *name) const {
  for (size_t i = 0; i < count_; i++)
    if (names_[i] == name || std::strcmp(names_[i], name) == 0) return values_[i];
  throw std::logic_error(std::string(op_) + " reads attribute '" + name + "' that it does not declare");
}

Napi::Value Attrs::get(const char *name, const char *expected) const {
  const Napi::Value &v = value(name);
  if (v.IsUndefined()) fail("attribute '" + std::string(name) + "' must be " + expected + ", but it is missing");
  return v;
}

bool Attrs::has(const char *name) const { return !value(name).IsUndefined(); }

double Attrs::num(const char *name) const {
  Napi::Value v = get(name, "a number");
  if (!v.IsNumber()) fail("attribute '" + std::string(name) + "' must be a number, got " + typeName(v));
  return v.As<Napi::Number>().DoubleValue();
}

int64_t Attrs::integer(const char *name) const {
  Napi::Value v = get(name, "an integer");
  if (!v.IsNumber() || !isInteger(v.As<Napi::Number>().DoubleValue()))
    fail("attribute '" + std::string(name) + "' must be an integer, got " +
         (v.IsNumber() ? numStr(v.As<Napi::Number>().DoubleValue()) : typeName(v)));
  return v.As<Napi::Number>().Int64Value();
}

bool Attrs::boolean(const char *name) const {
  Napi::Value v = get(name, "a boolean");
  if (!v.IsBoolean()) fail("attribute '" + std::string(name) + "' must be a boolean, got " + typeName(v));
  return v.As<Napi::Boolean>().Value();
}

dims Attrs::shape(const char *name) const {
  const char *what = "an array of non-negative integers";
  Napi::Value v = get(name, what);
  if (!v.IsArray()) fail("attribute '" + std::string(name) + "' must be " + what + ", got " + typeName(v));
  auto a = v.As<Napi::Array>();
  dims d(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber() || !isInteger(e.As<Napi::Number>().DoubleValue()) || e.As<Napi::Number>().DoubleValue() < 0)
      fail("attribute '" + std::string(name) + "' must be " + what + ", entry " + std::to_string(i) + " is not");
    d[i] = e.As<Napi::Number>().Int64Value();
  }
  return d;
}

std::vector<int64_t> Attrs::pair(const char *name) const {
  auto d = shape(name);
  if (d.size() != 2)
    fail("attribute '" + std::string(name) + "' must be a pair [h, w], got " + std::to_string(d.size()) + " entries");
  return d;
}

std::string Attrs::oneOf(const char *name, std::initializer_list<const char *> choices) const {
  const Napi::Value &v = value(name);
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  for (const char *c : choices)
    if (v.IsString() && s == c) return s;
  std::string list;
  for (const char *c : choices) list += std::string(list.empty() ? "'" : ", '") + c + "'";
  if (v.IsUndefined()) fail("attribute '" + std::string(name) + "' must be one of " + list + ", but it is missing");
  fail("attribute '" + std::string(name) + "' must be one of " + list + ", got " +
       (v.IsString() ? "'" + s + "'" : typeName(v)));
}

Napi::Float32Array float32Arg(const Napi::Value &v, const char *op, const char *arg) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), std::string(op) + ": " + arg + " must be a Float32Array, got " + typeName(v));
  return v.As<Napi::Float32Array>();
}

Napi::Value guarded(const Napi::CallbackInfo &info, const char *op,
                    const std::function<Napi::Value()> &fn) {
  try {
    return fn();
  } catch (const Napi::Error &) {
    throw;
  } catch (const dnnl::error &e) {
    std::string shapes;
    for (size_t i = 0; i < info.Length(); i++) {
      if (info[i].IsExternal()) {
        try {
          shapes += " " + describe(unwrap(info[i], op, "arg"));
        } catch (...) {
        }
      }
    }
    throw Napi::Error::New(info.Env(), std::string("oneDNN ") + op + " failed (status " +
                                           std::to_string(static_cast<int>(e.status)) + ": " + e.what() +
                                           ") for inputs" + shapes);
  } catch (const std::exception &e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what());
  }
}

// ---- exported core functions --------------------------------------------------------------

namespace {

// (data: Float32Array | null, {shape, fill?}) -> a plain f32 tensor holding data, else fill (0 by default)
Napi::Value Create(const Napi::CallbackInfo &info) {
  return guarded(info, "create", [&]() -> Napi::Value {
    Attrs a(info, "create", 1, {"shape", "fill"});
    auto d = a.shape("shape");
    bool hasData = !info[0].IsNull();
    Napi::Float32Array arr = hasData ? float32Arg(info[0], "create", "data") : Napi::Float32Array();
    if (hasData && a.has("fill")) throw std::invalid_argument("give data or fill, not both");
    auto t = newTensor(plainDesc(d));
    if (hasData) {
      if ((int64_t)arr.ElementLength() != t->numel())
        throw std::invalid_argument("data has " + std::to_string(arr.ElementLength()) + " values, shape " +
                                    dimsStr(d) + " needs " + std::to_string(t->numel()));
      std::memcpy(t->data, arr.Data(), t->bytes);
    } else {
      float v = a.has("fill") ? (float)a.num("fill") : 0.f;
      float *p = t->f32();
      for (int64_t i = 0; i < t->numel(); i++) p[i] = v;
    }
    return wrap(info.Env(), t);
  });
}

Napi::Value Read(const Napi::CallbackInfo &info) {
  return guarded(info, "read", [&]() -> Napi::Value {
    expectArgs(info, "read", 1);
    auto src = unwrap(info[0], "read", "tensor");
    auto t = toPlainF32(src);  // whatever the layout and type
    auto arr = Napi::Float32Array::New(info.Env(), t->numel());
    std::memcpy(arr.Data(), t->data, t->numel() * sizeof(float));
    return arr;
  });
}

Napi::Value Write(const Napi::CallbackInfo &info) {
  return guarded(info, "write", [&]() -> Napi::Value {
    expectArgs(info, "write", 2);
    auto t = unwrap(info[0], "write", "tensor");
    auto arr = float32Arg(info[1], "write", "data");
    if ((int64_t)arr.ElementLength() != t->numel())
      throw std::invalid_argument("data has " + std::to_string(arr.ElementLength()) + " values, tensor " +
                                  describe(t) + " has " + std::to_string(t->numel()));
    auto src = memory(plainDesc(t->md.dims()), engine(), arr.Data());
    reorderInto(src, t->mem);
    return info.Env().Undefined();
  });
}

Napi::Value Copy(const Napi::CallbackInfo &info) {
  return guarded(info, "copy", [&]() -> Napi::Value {
    expectArgs(info, "copy", 1);
    auto t = unwrap(info[0], "copy", "tensor");
    auto out = newTensor(t->md);
    std::memcpy(out->data, t->data, t->bytes);
    return wrap(info.Env(), out);
  });
}

// Releasing twice, or a handle whose buffer is gone, is a no-op (dispose may run late).
Napi::Value Release(const Napi::CallbackInfo &info) {
  expectArgs(info, "release", 1);
  if (info[0].IsExternal()) {
    auto *h = info[0].As<Napi::External<Handle>>().Data();
    if (h && h->t) {
      h->t->release();
      h->t.reset();
    }
  }
  return info.Env().Undefined();
}

// Debug API only (not part of Backend): "plain", or the memory descriptor's key.
Napi::Value DebugLayout(const Napi::CallbackInfo &info) {
  return guarded(info, "debugLayout", [&]() -> Napi::Value {
    expectArgs(info, "debugLayout", 1);
    auto t = unwrap(info[0], "debugLayout", "tensor");
    return Napi::String::New(info.Env(), isPlain(t->md) ? "plain" : mdKey(t->md));
  });
}

// Debug API only (not part of Backend), for tests: (tensor, {layout, padding?}) -> a copy in the named
// layout ('nchw' plain, 'nhwc', or the channel-blocked 'nChw8c', 'nChw16c'), whatever oneDNN would
// pick here. With padding (blocked f32 layouts only), the padded channels of the last block hold that
// value instead of oneDNN's zeros: input that a kernel must not let through.
Napi::Value DebugAsLayout(const Napi::CallbackInfo &info) {
  return guarded(info, "debugAsLayout", [&]() -> Napi::Value {
    Attrs a(info, "debugAsLayout", 1, {"layout", "padding"});
    auto t = unwrap(info[0], "debugAsLayout", "tensor");
    auto name = a.oneOf("layout", {"nchw", "nhwc", "nChw8c", "nChw16c"});
    auto d = t->md.dims();
    if (d.size() != 4) throw std::invalid_argument("the tensor must be 4-d, got " + describe(t));
    int64_t block = name == "nChw8c" ? 8 : name == "nChw16c" ? 16 : 0;
    auto layout = name == "nchw"  ? memory::format_tag::nchw
                  : name == "nhwc" ? memory::format_tag::nhwc
                  : block == 8     ? memory::format_tag::nChw8c
                                   : memory::format_tag::nChw16c;
    auto out = newTensor(memory::desc(d, t->md.data_type(), layout));
    reorderInto(t->mem, out->mem);
    if (a.has("padding")) {
      if (!block || out->md.data_type() != memory::data_type::f32)
        throw std::invalid_argument("padding needs a blocked layout of an f32 tensor");
      float v = (float)a.num("padding");
      int64_t blocks = (d[1] + block - 1) / block, used = d[1] % block, positions = d[2] * d[3];
      for (int64_t n = 0; used && n < d[0]; n++) {
        float *plane = out->f32() + ((n * blocks + blocks - 1) * positions) * block;
        for (int64_t p = 0; p < positions; p++)
          for (int64_t l = used; l < block; l++) plane[p * block + l] = v;
      }
    }
    return wrap(info.Env(), out);
  });
}

// Debug API only (not part of Backend), for tests: an f32 tensor's whole buffer as it lies in memory,
// the padding of a blocked layout included.
Napi::Value DebugRaw(const Napi::CallbackInfo &info) {
  return guarded(info, "debugRaw", [&]() -> Napi::Value {
    expectArgs(info, "debugRaw", 1);
    auto t = unwrap(info[0], "debugRaw", "tensor");
    if (t->md.data_type() != memory::data_type::f32) throw std::invalid_argument("the tensor must be f32");
    auto arr = Napi::Float32Array::New(info.Env(), t->md.get_size() / sizeof(float));
    std::memcpy(arr.Data(), t->data, arr.ElementLength() * sizeof(float));
    return arr;
  });
}

Napi::Value Stats(const Napi::CallbackInfo &info) {
  expectArgs(info, "stats", 0);
  auto o = Napi::Object::New(info.Env());
  o.Set("liveBytes", Napi::Number::New(info.Env(), (double)liveBytes()));
  o.Set("cachedBytes", Napi::Number::New(info.Env(), (double)cachedBytes()));
  o.Set("peakBytes", Napi::Number::New(info.Env(), (double)peakBytes()));
  o.Set("primitives", Napi::Number::New(info.Env(), (double)cacheSize()));
  o.Set("threads", Napi::Number::New(info.Env(), omp_get_max_threads()));
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo &info) {
  expectArgs(info, "emptyCache", 0);
  emptyCache();
  return info.Env().Undefined();
}

// ({threads})
Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  Attrs a(info, "setThreads", 0, {"threads"});
  int64_t n = a.integer("threads");
  if (n < 1) throw Napi::Error::New(info.Env(), "setThreads: thread count must be at least 1");
  omp_set_num_threads((int)n);
  return info.Env().Undefined();
}

Napi::Value Version(const Napi::CallbackInfo &info) {
  expectArgs(info, "version", 0);
  auto v = dnnl::version();
  return Napi::String::New(info.Env(), std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                           std::to_string(v->patch));
}

// The instruction set oneDNN's CPU kernels use on this machine (recorded with each training attempt:
// a run resumed under another ISA is no longer bit-reproducible).
Napi::Value CpuIsa(const Napi::CallbackInfo &info) {
  expectArgs(info, "cpuIsa", 0);
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return Napi::String::New(info.Env(), "sse41");
    case dnnl_cpu_isa_avx: return Napi::String::New(info.Env(), "avx");
    case dnnl_cpu_isa_avx2: return Napi::String::New(info.Env(), "avx2");
    case dnnl_cpu_isa_avx2_vnni: return Napi::String::New(info.Env(), "avx2_vnni");
    case dnnl_cpu_isa_avx512_mic: return Napi::String::New(info.Env(), "avx512_mic");
    case dnnl_cpu_isa_avx512_mic_4ops: return Napi::String::New(info.Env(), "avx512_mic_4ops");
    case dnnl_cpu_isa_avx512_core: return Napi::String::New(info.Env(), "avx512_core");
    case dnnl_cpu_isa_avx512_core_vnni: return Napi::String::New(info.Env(), "avx512_core_vnni");
    case dnnl_cpu_isa_avx512_core_bf16: return Napi::String::New(info.Env(), "avx512_core_bf16");
    case dnnl_cpu_isa_avx512_core_amx: return Napi::String::New(info.Env(), "avx512_core_amx");
    default: return Napi::String::New(info.Env(), "isa_all");
  }
}

}  // namespace

void registerCore(Napi::Env env, Napi::Object exports) {
  exports.Set("create", Napi::Function::New(env, Create));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("copy", Napi::Function::New(env, Copy));
  exports.Set("release", Napi::Function::New(env, Release));
  exports.Set("debugLayout", Napi::Function::New(env, DebugLayout));
  exports.Set("debugAsLayout", Napi::Function::New(env, DebugAsLayout));
  exports.Set("debugRaw", Napi::Function::New(env, DebugRaw));
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("version", Napi::Function::New(env, Version));
  exports.Set("cpuIsa", Napi::Function::New(env, CpuIsa));
}

}  // namespace gn

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  gn::registerCore(env, exports);
  gn::registerOps(env, exports);
  return exports;
}

NODE_API_MODULE(googlenet_dnnl, Init)
