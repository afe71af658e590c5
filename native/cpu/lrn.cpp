// Cross-channel LRN on the CPU, by direct loops, per image:
//   s_c = k + alpha * sum_{j in W(c)} x_j^2,   y_c = x_c * s_c^-beta
//   dx_i = dy_i * s_i^-beta - 2 alpha beta x_i * sum_{c in W(i)} dy_c * y_c / s_c
// (the window is symmetric for the odd sizes the op accepts, so c in W(i) iff i in W(c)).
// The contract's alpha multiplies the plain sum of squares, as here.
//
// Not oneDNN's LRN: its JIT kernels need the blocked nChw16c layout, so it ran behind reorders to
// and from that layout, and its backward needs the forward's workspace, which the contract does not
// carry (the backward gets x and y only), so the forward ran again inside every backward; off the
// 16-block it has only its reference loop (43 ms instead of 4 for the backward at [128, 24, 15, 15]).
// These loops, vectorized, were faster at every AlexNet shape measured (2 threads, forward +
// backward, one run on a shared machine): the quick preset's per-column LRN after conv2,
// [256, 32, 7, 7], 2.0 -> 1.4 ms in float32, 1.4 -> 1.1 in bfloat16; the paper's after conv1 and
// conv2 at batch 64 per column, [64, 48, 55, 55] 39 -> 29 ms and [64, 128, 27, 27] 24 -> 15 ms in
// float32, 25 -> 19 and 15 -> 12 in bfloat16.
//
// Each window is summed on its own, not as a running sum updated by adding the channel that enters
// and subtracting the one that leaves: with a running sum, one huge channel (1e20, whose square is
// infinite, or NaN) would corrupt every later channel of the pixel, and a merely large one would
// cancel the small ones after it. Summing whole planes at a time keeps it vectorised.
//
// bfloat16 activations are widened (exactly) one image at a time as they are read, and the result
// rounded once as it is written: the same values as widening whole tensors first, without their
// float32 copies and the passes over them.
//
// The per-image kernels are compiled for several instruction sets (ALEXNET_CPU_CLONES): built for
// the baseline alone their loops ran 4 wide. Elementwise IEEE operations in the same order (no
// contraction into FMA): every version gives the same bits.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_internal.hpp"

// The helpers are inlined into each clone, so that they are compiled for its instruction set too.
#define ALEXNET_LRN_INLINE inline __attribute__((always_inline))

namespace alexnet {
namespace cpu {
namespace {

ALEXNET_LRN_INLINE float load(float v) { return v; }
ALEXNET_LRN_INLINE float load(BFloat16 v) { return toFloat(v); }
ALEXNET_LRN_INLINE float store(float v, float*) { return v; }
ALEXNET_LRN_INLINE BFloat16 store(float v, BFloat16*) { return toBf16(v); }

// One image of `image` values as float32: `v` itself, or (bfloat16) widened into `scratch`.
ALEXNET_LRN_INLINE const float* widened(const float* v, long, std::vector<float>&) { return v; }
ALEXNET_LRN_INLINE const float* widened(const BFloat16* v, long image, std::vector<float>& scratch) {
  scratch.resize(static_cast<size_t>(image));
  for (long i = 0; i < image; ++i) scratch[i] = toFloat(v[i]);
  return scratch.data();
}

// out[c][p] = sum of v[j][p] over the channels j of c's window, for one image (c x plane values).
ALEXNET_LRN_INLINE void windowSum(const LrnGeometry& g, const float* v, float* out) {
  const long plane = static_cast<long>(g.h) * g.w;
  const long half = g.size / 2;
  for (long c = 0; c < g.c; ++c) {
    const long first = std::max(0L, c - half), last = std::min(static_cast<long>(g.c) - 1, c + half);
    float* o = out + c * plane;
    const float* src = v + first * plane;
    for (long p = 0; p < plane; ++p) o[p] = src[p];
    for (long j = first + 1; j <= last; ++j) {
      src = v + j * plane;
      for (long p = 0; p < plane; ++p) o[p] += src[p];
    }
  }
}

// scale[c][p] = s_c at pixel p for one image; `squares` is scratch of the image's size.
ALEXNET_LRN_INLINE void windowScale(const LrnGeometry& g, const float* x, float* scale, float* squares) {
  const long image = static_cast<long>(g.h) * g.w * g.c;
  for (long i = 0; i < image; ++i) squares[i] = x[i] * x[i];
  windowSum(g, squares, scale);
  for (long i = 0; i < image; ++i) scale[i] = g.k + g.alpha * scale[i];
}

// out[i] = s[i]^-beta. For the paper's beta = 3/4 as 1 / (sqrt(s) * sqrt(sqrt(s))): a few ulp from
// pow, and vectorised, where a pow call per element (~25 ns) was most of this op's time.
ALEXNET_LRN_INLINE void negativePower(const float* s, float* out, long count, float beta) {
  if (beta == 0.75f) {
    for (long i = 0; i < count; ++i) {
      const float root = std::sqrt(s[i]);
      out[i] = 1.0f / (root * std::sqrt(root));
    }
  } else {
    for (long i = 0; i < count; ++i) out[i] = std::pow(s[i], -beta);
  }
}

// One image (c x plane values) of the forward pass; `scale` and `squares` are scratch of its size.
template <class T>
ALEXNET_CPU_CLONES void forwardImage(const LrnGeometry& g, const T* x, T* y, float* scale, float* squares,
                                    std::vector<float>& wideX) {
  const long image = static_cast<long>(g.h) * g.w * g.c;
  const float* xn = widened(x, image, wideX);
  windowScale(g, xn, scale, squares);
  negativePower(scale, scale, image, g.beta);
  for (long i = 0; i < image; ++i) y[i] = store(xn[i] * scale[i], y);
}

// One image of the backward pass; `scale`, `ratio`, `power` and `sums` are scratch of its size.
template <class T>
ALEXNET_CPU_CLONES void backwardImage(const LrnGeometry& g, const T* dy, const T* x, const T* y, T* dx, float* scale,
                                     float* ratio, float* power, float* sums, std::vector<float>& wideX) {
  const long image = static_cast<long>(g.h) * g.w * g.c;
  const float twoAlphaBeta = 2.0f * g.alpha * g.beta;
  const float* xn = widened(x, image, wideX);
  windowScale(g, xn, scale, sums);
  for (long i = 0; i < image; ++i) ratio[i] = load(dy[i]) * load(y[i]) / scale[i];
  negativePower(scale, power, image, g.beta);
  windowSum(g, ratio, sums);
  for (long i = 0; i < image; ++i) dx[i] = store(load(dy[i]) * power[i] - twoAlphaBeta * xn[i] * sums[i], dx);
}

template <class T>
void forwardBatch(const LrnGeometry& g, const T* x, T* y) {
  const long image = static_cast<long>(g.h) * g.w * g.c;
#pragma omp parallel
  {
    std::vector<float> scale(static_cast<size_t>(image)), squares(static_cast<size_t>(image)), wideX;
#pragma omp for schedule(static)
    for (int n = 0; n < g.n; ++n) forwardImage(g, x + n * image, y + n * image, scale.data(), squares.data(), wideX);
  }
}

template <class T>
void backwardBatch(const LrnGeometry& g, const T* dy, const T* x, const T* y, T* dx) {
  const long image = static_cast<long>(g.h) * g.w * g.c;
#pragma omp parallel
  {
    std::vector<float> scale(static_cast<size_t>(image)), ratio(static_cast<size_t>(image)),
        power(static_cast<size_t>(image)), sums(static_cast<size_t>(image)), wideX;
#pragma omp for schedule(static)
    for (int n = 0; n < g.n; ++n)
      backwardImage(g, dy + n * image, x + n * image, y + n * image, dx + n * image, scale.data(), ratio.data(),
                    power.data(), sums.data(), wideX);
  }
}

}  // namespace

void CpuBackend::lrnForward(const LrnGeometry& g, const float* x, float* y) { forwardBatch(g, x, y); }

void CpuBackend::lrnBackward(const LrnGeometry& g, const float* dy, const float* x, const float* y, float* dx) {
  backwardBatch(g, dy, x, y, dx);
}

void CpuBackend::lrnForward(const LrnGeometry& g, const BFloat16* x, BFloat16* y) {
  requireBf16("lrnForward");
  forwardBatch(g, x, y);
}

void CpuBackend::lrnBackward(const LrnGeometry& g, const BFloat16* dy, const BFloat16* x, const BFloat16* y,
                             BFloat16* dx) {
  requireBf16("lrnBackward");
  backwardBatch(g, dy, x, y, dx);
}

}  // namespace cpu
}  // namespace alexnet
