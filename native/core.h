// Core of the oneDNN backend: the engine and stream, native tensors (a oneDNN memory
// descriptor over a buffer from a caching allocator), a primitive cache, and the
// helpers that move data between layouts. Every op lives in ops.cc.
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace gn {

using dnnl::memory;
using dims = memory::dims;

dnnl::engine &engine();
dnnl::stream &stream();

// Freed buffers are cached and reused, as PyTorch's caching allocators do: a request takes the
// smallest cached block at least as large, if that block is at most twice the (64-byte rounded)
// request, else fresh memory. A training step allocates the same sizes every time, and mmap/munmap
// plus page faults on every activation would otherwise cost more than some kernels.
void *allocBytes(size_t bytes);
void freeBytes(void *ptr, size_t bytes);
size_t liveBytes();
size_t cachedBytes();
size_t peakBytes();
void emptyCache();

// A native tensor: logical dims plus whatever physical layout oneDNN chose.
struct Tensor {
  memory::desc md;
  void *data = nullptr;
  size_t bytes = 0;
  memory mem;

  explicit Tensor(const memory::desc &desc);
  ~Tensor();
  void release();  // frees the buffer now; the JS wrapper object stays until GC
  bool alive() const { return data != nullptr; }
  dims logicalDims() const { return md.dims(); }
  int64_t numel() const;
  float *f32() const { return static_cast<float *>(data); }
};

using TensorPtr = std::shared_ptr<Tensor>;

// JS handle <-> native tensor. A handle is a Napi::External owning a shared_ptr, so
// the JS side can free the buffer deterministically (release) while late GC of the
// handle object only deletes a small struct.
Napi::Value wrap(Napi::Env env, TensorPtr t);
TensorPtr unwrap(const Napi::Value &v, const char *op, const char *arg);
TensorPtr unwrapOptional(const Napi::Value &v, const char *op, const char *arg);

TensorPtr newTensor(const memory::desc &md);
// Returns t itself when it already has layout md, otherwise a reordered copy.
TensorPtr asLayout(const TensorPtr &t, const memory::desc &md);
memory::desc plainDesc(const dims &d, memory::data_type dt = memory::data_type::f32);
bool isPlain(const memory::desc &md);
TensorPtr toPlain(const TensorPtr &t);     // plain layout, same type
TensorPtr toPlainF32(const TensorPtr &t);  // plain layout, f32
void reorderInto(const memory &src, const memory &dst);

std::string mdKey(const memory::desc &md);
std::string dimsStr(const dims &d);
std::string describe(const TensorPtr &t);

// Primitive cache keyed by op + shapes + layouts: a primitive descriptor search is
// far slower than a lookup, and a training step repeats the same shapes.
struct CacheEntry {
  std::shared_ptr<void> pd;
  dnnl::primitive prim;
};
CacheEntry &cached(const std::string &key, const std::function<CacheEntry()> &make);
size_t cacheSize();

template <class PD>
PD &pdOf(CacheEntry &e) {
  return *static_cast<PD *>(e.pd.get());
}
template <class PD, class P>
CacheEntry makeEntry(const PD &pd) {
  CacheEntry e;
  e.pd = std::make_shared<PD>(pd);
  e.prim = P(pd);
  return e;
}

void execute(dnnl::primitive &p, const std::unordered_map<int, memory> &args);

// ---- the calling convention (see src/backend/backend.ts) ----------------------------------
//
// Every exported function takes its data positionally (handles, lists of handles, host arrays)
// and then, if it has any other parameter, ONE attributes object read by name. Attrs checks the
// call: the count of arguments, that the attributes object holds only the names the op declares,
// and each attribute's type as it is read. Its errors are TypeErrors naming the JS method and the
// attribute, e.g. "adamStep: attribute 'beta2' must be a number, got string".
class Attrs {
 public:
  // info must hold `positional` data arguments then the attributes object, whose keys must be
  // among `names` (an unknown key is a typo). With no names the op takes no attributes object.
  Attrs(const Napi::CallbackInfo &info, const char *op, size_t positional,
        std::initializer_list<const char *> names = {});

  double num(const char *name) const;
  int64_t integer(const char *name) const;
  bool boolean(const char *name) const;
  dims shape(const char *name) const;                 // non-negative integers
  std::vector<int64_t> pair(const char *name) const;  // two non-negative integers
  std::string oneOf(const char *name, std::initializer_list<const char *> choices) const;
  // For optional attributes: present and not undefined.
  bool has(const char *name) const;

 private:
  static constexpr size_t kMaxNames = 8;
  const Napi::Value &value(const char *name) const;               // undefined when absent
  Napi::Value get(const char *name, const char *expected) const;  // throws when absent
  [[noreturn]] void fail(const std::string &msg) const;
  Napi::Env env_;
  const char *op_;
  size_t count_ = 0;
  // Each declared name's value, read once in the constructor (fixed arrays: no allocation per call).
  const char *names_[kMaxNames];
  Napi::Value values_[kMaxNames];
};

// For a function without attributes: checks only the count of its (data) arguments.
inline void expectArgs(const Napi::CallbackInfo &info, const char *op, size_t n) { Attrs(info, op, n); }

// A Float32Array data argument (host values, a dropout mask).
Napi::Float32Array float32Arg(const Napi::Value &v, const char *op, const char *arg);

// Runs fn, turning oneDNN and std errors into JS exceptions that name the op and shapes.
Napi::Value guarded(const Napi::CallbackInfo &info, const char *op,
                    const std::function<Napi::Value()> &fn);

void registerCore(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);

}  // namespace gn
