// Max pooling on channel-blocked f32 tensors: see maxpool.h. The work is split over images and
// channels (OpenMP: the addon's threads, setThreads and --threads); every element's result is
// computed alone, so the thread count changes no bit. Two paths with the same results to the bit: AVX2
// intrinsics (in functions compiled for AVX2 alone, so the addon still loads on a CPU without it),
// and plain scalar loops, the reference the tests hold the AVX2 path to.
#include "maxpool.h"

#if defined(__x86_64__) || defined(__i386__)
#define GN_X86 1
#include <immintrin.h>
#endif
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

namespace gn {
namespace maxpool {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The window positions [lo, hi) of output index o that lie inside the input.
struct Span {
  int64_t start, lo, hi;
};
inline Span span(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in) {
  int64_t start = o * stride - pad;
  return {start, std::max<int64_t>(0, -start), std::min<int64_t>(k, in - start)};
}

// The outputs [lo, hi] whose windows hold input index i: o·s − p ≤ i ≤ o·s − p + k − 1.
struct Range {
  int64_t lo, hi;
};
inline Range windowsOf(int64_t i, int64_t stride, int64_t pad, int64_t k, int64_t out) {
  int64_t first = i + pad - k + 1;  // o·s ≥ first
  int64_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  int64_t hi = std::min(out - 1, (i + pad) / stride);
  return {lo, hi};
}

// ---- plain loops: the reference, and what the tests compare the AVX2 path with --------------

void forwardPlanePortable(const Geom &g, const float *x, float *y, uint8_t *ws) {
  const int64_t cb = g.cb;
  for (int64_t oh = 0; oh < g.oh; oh++) {
    const Span h = span(oh, g.sh, g.ph, g.kh, g.ih);
    for (int64_t ow = 0; ow < g.ow; ow++) {
      const Span w = span(ow, g.sw, g.pw, g.kw, g.iw);
      const int64_t o = (oh * g.ow + ow) * cb;
      for (int64_t l = 0; l < cb; l++) {
        float best = kNegInf;
        int64_t arg = h.lo * g.kw + w.lo;
        for (int64_t kh = h.lo; kh < h.hi; kh++)
          for (int64_t kw = w.lo; kw < w.hi; kw++) {
            const float v = x[((h.start + kh) * g.iw + w.start + kw) * cb + l];
            if (v > best || std::isnan(v)) {
              best = v;
              arg = kh * g.kw + kw;
            }
          }
        y[o + l] = best;
        if (ws) ws[o + l] = (uint8_t)arg;
      }
    }
  }
}

void backwardPlanePortable(const Geom &g, const Range *rows, const Range *cols, const float *dy, const uint8_t *ws,
                           float *dx) {
  const int64_t cb = g.cb;
  for (int64_t ih = 0; ih < g.ih; ih++)
    for (int64_t iw = 0; iw < g.iw; iw++)
      for (int64_t l = 0; l < cb; l++) {
        float acc = 0.f;
        for (int64_t oh = rows[ih].lo; oh <= rows[ih].hi; oh++)
          for (int64_t ow = cols[iw].lo; ow <= cols[iw].hi; ow++) {
            const int64_t k = (ih + g.ph - oh * g.sh) * g.kw + iw + g.pw - ow * g.sw;
            const int64_t o = (oh * g.ow + ow) * cb + l;
            if (ws[o] == k) acc += dy[o];
          }
        dx[(ih * g.iw + iw) * cb + l] = acc;
      }
}

constexpr int kUnits = 4;

#ifdef GN_X86
// ---- AVX2 ----------------------------------------------------------------------------------
//
// In functions compiled for AVX2 alone, called only where the CPU has it. A unit is 8 channels of one
// plane (a 16-channel block is two units): one register. A window's steps depend on each other (the
// running maximum; the running sum), so kUnits units with the same geometry run side by side, chains
// that hide each other's latency, each unit's arithmetic the same as alone.

template <int P>
__attribute__((target("avx2"))) void forwardUnitsAvx2(const Geom &g, const float *const *x, float *const *y,
                                                      uint8_t *const *ws) {
  const int64_t cb = g.cb;
  for (int64_t oh = 0; oh < g.oh; oh++) {
    const Span h = span(oh, g.sh, g.ph, g.kh, g.ih);
    for (int64_t ow = 0; ow < g.ow; ow++) {
      const Span w = span(ow, g.sw, g.pw, g.kw, g.iw);
      __m256 best[P], arg[P];
      for (int q = 0; q < P; q++) {
        best[q] = _mm256_set1_ps(kNegInf);
        arg[q] = _mm256_set1_ps((float)(h.lo * g.kw + w.lo));  // small integers, exact in f32
      }
      for (int64_t kh = h.lo; kh < h.hi; kh++) {
        const int64_t row = ((h.start + kh) * g.iw + w.start) * cb;
        for (int64_t kw = w.lo; kw < w.hi; kw++) {
          const __m256 k = _mm256_set1_ps((float)(kh * g.kw + kw));
          for (int q = 0; q < P; q++) {
            const __m256 v = _mm256_loadu_ps(x[q] + (row + kw * cb));
            // v > best, or v is NaN (PyTorch's rule)
            const __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, best[q], _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            best[q] = _mm256_blendv_ps(best[q], v, take);
            arg[q] = _mm256_blendv_ps(arg[q], k, take);
          }
        }
      }
      const int64_t o = (oh * g.ow + ow) * cb;
      for (int q = 0; q < P; q++) {
        _mm256_storeu_ps(y[q] + o, best[q]);
        if (ws[q]) {
          const __m256i a = _mm256_cvttps_epi32(arg[q]);
          const __m128i a16 = _mm_packus_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
          _mm_storel_epi64(reinterpret_cast<__m128i *>(ws[q] + o), _mm_packus_epi16(a16, a16));
        }
      }
    }
  }
}

template <int P>
__attribute__((target("avx2"))) void backwardUnitsAvx2(const Geom &g, const Range *rows, const Range *cols,
                                                       const float *const *dy, const uint8_t *const *ws,
                                                       float *const *dx) {
  const int64_t cb = g.cb;
  for (int64_t ih = 0; ih < g.ih; ih++) {
    const Range rh = rows[ih];
    for (int64_t iw = 0; iw < g.iw; iw++) {
      const Range rw = cols[iw];
      __m256 acc[P];
      for (int q = 0; q < P; q++) acc[q] = _mm256_setzero_ps();
      for (int64_t oh = rh.lo; oh <= rh.hi; oh++) {
        const int64_t rowK = (ih + g.ph - oh * g.sh) * g.kw + iw + g.pw;
        for (int64_t ow = rw.lo; ow <= rw.hi; ow++) {
          const int64_t o = (oh * g.ow + ow) * cb;
          const __m256i k = _mm256_set1_epi32((int)(rowK - ow * g.sw));
          for (int q = 0; q < P; q++) {
            const __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(ws[q] + o)));
            const __m256 mine = _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, k));
            acc[q] = _mm256_add_ps(acc[q], _mm256_and_ps(mine, _mm256_loadu_ps(dy[q] + o)));  // + (+0) elsewhere: exact
          }
        }
      }
      const int64_t i = (ih * g.iw + iw) * cb;
      for (int q = 0; q < P; q++) _mm256_storeu_ps(dx[q] + i, acc[q]);
    }
  }
}

#endif  // GN_X86

// Channels past c in the last block stay zero, as oneDNN keeps them: lanes [from, to) of every position.
void zeroLanes(float *plane, int64_t positions, int64_t cb, int64_t from, int64_t to) {
  for (int64_t p = 0; p < positions; p++)
    for (int64_t l = from; l < to; l++) plane[p * cb + l] = 0.f;
}

// Runs fn(plane, channels) over the planes of the tensor (image, channel block of cb), in parallel, for the
// portable path; `channels` is how many of the block's cb channels are real (fewer in a partial last block).
template <class Fn>
void forPlanes(const Geom &g, Fn fn) {
  const int64_t blocks = (g.c + g.cb - 1) / g.cb;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.n; n++)
    for (int64_t b = 0; b < blocks; b++) fn(n * blocks + b, b == blocks - 1 && g.c % g.cb ? g.c % g.cb : g.cb);
}

// Runs fn(first, count) over the units of the tensor (image, channel block, 8 channels) in groups of
// up to kUnits, in parallel.
template <class Fn>
void forUnitGroups(const Geom &g, Fn fn) {
  const int64_t blocks = (g.c + g.cb - 1) / g.cb;
  const int64_t units = g.n * blocks * (g.cb / 8);
  const int64_t groups = (units + kUnits - 1) / kUnits;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < groups; i++) fn(i * kUnits, std::min<int64_t>(kUnits, units - i * kUnits));
}

// The padded channels of unit u, if any: lanes [from, 8) of it.
int64_t paddingFrom(const Geom &g, int64_t u) {
  const int64_t perPlane = g.cb / 8, blocks = (g.c + g.cb - 1) / g.cb;
  const int64_t plane = u / perPlane, chunk = u % perPlane;
  const int64_t firstChannel = (plane % blocks) * g.cb + chunk * 8;
  return std::clamp<int64_t>(g.c - firstChannel, 0, 8);
}

// Unit u's first element in a tensor with `positions` spatial positions per plane.
int64_t unitOffset(const Geom &g, int64_t u, int64_t positions) {
  const int64_t perPlane = g.cb / 8;
  return (u / perPlane) * positions * g.cb + (u % perPlane) * 8;
}

}  // namespace

bool avx2Usable() {
#ifdef GN_X86
  static const bool usable = __builtin_cpu_supports("avx2") &&
                             (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2;
  return usable;
#else
  return false;
#endif
}

void forward(const Geom &g, const float *x, float *y, uint8_t *ws, Path path) {
  const int64_t in = g.ih * g.iw, out = g.oh * g.ow;
  if (path == Path::portable) {
    forPlanes(g, [&](int64_t plane, int64_t channels) {
      forwardPlanePortable(g, x + plane * in * g.cb, y + plane * out * g.cb, ws ? ws + plane * out * g.cb : nullptr);
      if (channels < g.cb) zeroLanes(y + plane * out * g.cb, out, g.cb, channels, g.cb);
    });
    return;
  }
  forUnitGroups(g, [&](int64_t first, int64_t count) {
    const float *xs[kUnits];
    float *ys[kUnits];
    uint8_t *wss[kUnits];
    for (int64_t q = 0; q < count; q++) {
      xs[q] = x + unitOffset(g, first + q, in);
      ys[q] = y + unitOffset(g, first + q, out);
      wss[q] = ws ? ws + unitOffset(g, first + q, out) : nullptr;
    }
#ifdef GN_X86
    if (count == kUnits) forwardUnitsAvx2<kUnits>(g, xs, ys, wss);
    else
      for (int64_t q = 0; q < count; q++) forwardUnitsAvx2<1>(g, xs + q, ys + q, wss + q);
#endif
    for (int64_t q = 0; q < count; q++) {
      const int64_t from = paddingFrom(g, first + q);
      if (from < 8) zeroLanes(ys[q], out, g.cb, from, 8);
    }
  });
}

void backward(const Geom &g, const float *dy, const uint8_t *ws, float *dx, Path path) {
  const int64_t in = g.ih * g.iw, out = g.oh * g.ow;
  std::vector<Range> rows(g.ih), cols(g.iw);  // the same for every plane
  for (int64_t i = 0; i < g.ih; i++) rows[i] = windowsOf(i, g.sh, g.ph, g.kh, g.oh);
  for (int64_t i = 0; i < g.iw; i++) cols[i] = windowsOf(i, g.sw, g.pw, g.kw, g.ow);
  if (path == Path::portable) {
    forPlanes(g, [&](int64_t plane, int64_t channels) {
      float *dxp = dx + plane * in * g.cb;
      backwardPlanePortable(g, rows.data(), cols.data(), dy + plane * out * g.cb, ws + plane * out * g.cb, dxp);
      if (channels < g.cb) zeroLanes(dxp, in, g.cb, channels, g.cb);
    });
    return;
  }
  forUnitGroups(g, [&](int64_t first, int64_t count) {
    const float *dys[kUnits];
    const uint8_t *wss[kUnits];
    float *dxs[kUnits];
    for (int64_t q = 0; q < count; q++) {
      dys[q] = dy + unitOffset(g, first + q, out);
      wss[q] = ws + unitOffset(g, first + q, out);
      dxs[q] = dx + unitOffset(g, first + q, in);
    }
#ifdef GN_X86
    if (count == kUnits) backwardUnitsAvx2<kUnits>(g, rows.data(), cols.data(), dys, wss, dxs);
    else
      for (int64_t q = 0; q < count; q++) backwardUnitsAvx2<1>(g, rows.data(), cols.data(), dys + q, wss + q, dxs + q);
#endif
    for (int64_t q = 0; q < count; q++) {
      const int64_t from = paddingFrom(g, first + q);
      if (from < 8) zeroLanes(dxs[q], in, g.cb, from, 8);
    }
  });
}

}  // namespace maxpool
}  // namespace gn
