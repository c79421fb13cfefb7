// Our own max pooling kernels for f32 activations in oneDNN's channel-blocked layouts (nChw8c,
// nChw16c): x[n][c/cb][h][w][cb], the channels padded to a whole block. oneDNN 2.6's AVX2 backward
// does a masked store per window position, which is microcoded on Zen 1-3; these kernels gather
// instead: each input element sums, with plain stores, the gradients of the windows whose maximum it
// is. ops.cc decides when they run (f32 input in a blocked layout, a window of at most 255 positions,
// a CPU with AVX2) and uses oneDNN's pooling otherwise.
//
// The workspace is oneDNN's format for such pools, so either side's backward reads either side's
// forward: u8 in the output's layout, per output element the position of its window's maximum,
// kh·KW + kw, counted from the window's top-left corner with the padding included.
//
// As PyTorch's max_pool2d: the padding is -inf (only the window's positions inside the image are
// read), the maximum is the first in row-major order over the window (ties go to the first; a NaN
// is taken, and the last NaN wins, as PyTorch's `val > max || isnan(val)`), and a window whose
// values are all -inf points at its first position inside the image. The backward adds, for each
// input element, the gradients of its windows in the output's row-major order, starting from +0:
// PyTorch's order of accumulation, so its float32 result is PyTorch's to the bit.
#pragma once

#include <cstdint>

namespace gn {
namespace maxpool {

struct Geom {
  int64_t n, c, cb;        // batch, channels, channel block (8 or 16)
  int64_t ih, iw, oh, ow;  // input and output spatial size
  int64_t kh, kw, sh, sw, ph, pw;
};

// avx2: 8 channels per instruction; portable: plain scalar loops, slower than oneDNN's pooling, so
// ops.cc runs them only when a test asks (debugMaxPool); both give the same results to the bit.
enum class Path { portable, avx2 };

// Whether the CPU has AVX2 and oneDNN's ISA allows it (not capped below it, e.g. by
// ONEDNN_MAX_CPU_ISA=SSE41). Without it, ops.cc runs oneDNN's pooling.
bool avx2Usable();

// y: the output in x's blocking; ws: null, or the workspace (u8) in y's layout. Padded channels of
// y come out zero.
void forward(const Geom &g, const float *x, float *y, uint8_t *ws, Path path);
// dx in x's blocking; padded channels come out zero.
void backward(const Geom &g, const float *dy, const uint8_t *ws, float *dx, Path path);

}  // namespace maxpool
}  // namespace gn
