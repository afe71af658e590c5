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
// cancel the small ones after it. Summing runs of whole planes at a time keeps it vectorised.
//
// bfloat16 activations are widened (exactly) one image at a time as they are read, and the result
// rounded once as it is written, without float32 copies of whole tensors. On AVX-512 the power
// s^-3/4 of bfloat16 activations comes from reciprocal square root estimates, within 2.2e-4
// relative (lrn_power16.cpp): 0.06 of bfloat16's unit roundoff, and 1% of outputs then round to the
// neighbouring bfloat16 of the float32 result.
//
// The per-image kernels are compiled for several instruction sets (ALEXNET_CPU_CLONES): built for
// the baseline alone their loops ran 4 wide. Elementwise IEEE operations in the same order (no
// contraction into FMA): every version gives the same float32 bits.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_internal.hpp"
#include "lrn_power16.hpp"

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

// A run of an image's values whose windows all have the same shape relative to them: the value at
// i sums v[i + (first + d) * plane] for d < count. Each edge channel, whose window the first or last
// channel clips, is a run of its own; all the channels with the whole window are one run, so that
// most of an image is one long loop rather than a loop per plane (7 x 7 planes left most of each
// vector loop to its remainder).
struct Run {
  long begin, end;  // values [begin, end) of the image
  long first;       // the window's first channel, relative to the value's own
  int count;        // channels in the window
};

// The image's runs in channel order.
std::vector<Run> runsOf(const LrnGeometry& g) {
  const long plane = static_cast<long>(g.h) * g.w;
  const int half = g.size / 2;
  std::vector<Run> runs;
  for (int c = 0; c < g.c;) {
    const int first = std::max(0, c - half), last = std::min(g.c - 1, c + half);
    if (c - half >= 0 && c + half < g.c) {  // channels c .. c - half - 1 all have the whole window
      const int end = g.c - half;
      runs.push_back({c * plane, end * plane, -half, g.size});
      c = end;
    } else {
      runs.push_back({c * plane, (c + 1) * plane, first - c, last - first + 1});
      ++c;
    }
  }
  return runs;
}

// Runs are processed in blocks of this many values, whose window sums stay in L1.
constexpr long kBlock = 256;

// out[b] = the window sum of v at value at + b, b < length, in channel order: the same additions in
// the same order as summing whole planes.
ALEXNET_LRN_INLINE void windowSum(const float* v, long at, long length, long plane, const Run& run, float* out) {
  const float* src = v + at + run.first * plane;
  for (long b = 0; b < length; ++b) out[b] = src[b];
  for (int d = 1; d < run.count; ++d) {
    src += plane;
    for (long b = 0; b < length; ++b) out[b] += src[b];
  }
}

// out[i] = s[i]^-beta. For the paper's beta = 3/4 as 1 / (sqrt(s) * sqrt(sqrt(s))): a few ulp from
// pow, and vectorised, where a pow call per element (~25 ns) was most of this op's time.
ALEXNET_LRN_INLINE void negativePower(const float* s, float* out, long count, float beta, float*) {
  if (beta == 0.75f) {
    for (long i = 0; i < count; ++i) {
      const float root = std::sqrt(s[i]);
      out[i] = 1.0f / (root * std::sqrt(root));
    }
  } else {
    for (long i = 0; i < count; ++i) out[i] = std::pow(s[i], -beta);
  }
}

// bfloat16 output keeps 8 significant bits: for beta = 3/4 on AVX-512, s^-beta from reciprocal
// square root estimates, within 2.2e-4 relative (lrn_power16.cpp says why that suffices).
ALEXNET_LRN_INLINE void negativePower(const float* s, float* out, long count, float beta, BFloat16*) {
#if ALEXNET_CPU_X86_GCC
  if (beta == 0.75f && cpuHasAvx512()) return lrnPower16(s, out, count);
#endif
  negativePower(s, out, count, beta, static_cast<float*>(nullptr));
}

// Squares x (one image, xn widened) into `squares`, then calls block(at, length, scale) for each
// block of the image's runs with scale[b] = s at value at + b. The blocks are where the forward and
// backward differ; their lambdas are inlined into the cloned callers, so they are compiled for the
// same instruction set.
template <class Block>
ALEXNET_LRN_INLINE void forEachScaleBlock(const LrnGeometry& g, const Run* runs, int runCount, const float* xn,
                                          float* squares, Block&& block) {
  const long plane = static_cast<long>(g.h) * g.w, image = plane * g.c;
  for (long i = 0; i < image; ++i) squares[i] = xn[i] * xn[i];
  for (int r = 0; r < runCount; ++r)
    for (long at = runs[r].begin; at < runs[r].end; at += kBlock) {
      const long length = std::min(kBlock, runs[r].end - at);
      float scale[kBlock];
      windowSum(squares, at, length, plane, runs[r], scale);
      for (long b = 0; b < length; ++b) scale[b] = g.k + g.alpha * scale[b];
      block(at, length, scale);
    }
}

// One image (c x plane values) of the forward pass; `squares` is scratch of its size.
template <class T>
ALEXNET_CPU_CLONES void forwardImage(const LrnGeometry& g, const Run* runs, int runCount, const T* x, T* y,
                                    float* squares, std::vector<float>& wideX) {
  const float* xn = widened(x, static_cast<long>(g.h) * g.w * g.c, wideX);
  forEachScaleBlock(g, runs, runCount, xn, squares,
                    [&](long at, long length, float* scale) __attribute__((always_inline)) {
                      negativePower(scale, scale, length, g.beta, y);
                      for (long b = 0; b < length; ++b) y[at + b] = store(xn[at + b] * scale[b], y);
                    });
}

// One image of the backward pass; `squares`, `ratio` and `power` are scratch of its size.
template <class T>
ALEXNET_CPU_CLONES void backwardImage(const LrnGeometry& g, const Run* runs, int runCount, const T* dy, const T* x,
                                     const T* y, T* dx, float* squares, float* ratio, float* power,
                                     std::vector<float>& wideX) {
  const long plane = static_cast<long>(g.h) * g.w;
  const float twoAlphaBeta = 2.0f * g.alpha * g.beta;
  const float* xn = widened(x, plane * g.c, wideX);
  forEachScaleBlock(g, runs, runCount, xn, squares,
                    [&](long at, long length, float* scale) __attribute__((always_inline)) {
                      for (long b = 0; b < length; ++b) ratio[at + b] = load(dy[at + b]) * load(y[at + b]) / scale[b];
                      negativePower(scale, power + at, length, g.beta, dx);
                    });
  for (int r = 0; r < runCount; ++r)
    for (long at = runs[r].begin; at < runs[r].end; at += kBlock) {
      const long length = std::min(kBlock, runs[r].end - at);
      float sums[kBlock];
      windowSum(ratio, at, length, plane, runs[r], sums);
      for (long b = 0; b < length; ++b)
        dx[at + b] = store(load(dy[at + b]) * power[at + b] - twoAlphaBeta * xn[at + b] * sums[b], dx);
    }
}

template <class T>
void forwardBatch(const LrnGeometry& g, const T* x, T* y) {
  const long image = static_cast<long>(g.h) * g.w * g.c;
  const std::vector<Run> runs = runsOf(g);
#pragma omp parallel
  {
    std::vector<float> squares(static_cast<size_t>(image)), wideX;
#pragma omp for schedule(static)
    for (int n = 0; n < g.n; ++n)
      forwardImage(g, runs.data(), static_cast<int>(runs.size()), x + n * image, y + n * image, squares.data(), wideX);
  }
}

template <class T>
void backwardBatch(const LrnGeometry& g, const T* dy, const T* x, const T* y, T* dx) {
  const long image = static_cast<long>(g.h) * g.w * g.c;
  const std::vector<Run> runs = runsOf(g);
#pragma omp parallel
  {
    std::vector<float> squares(static_cast<size_t>(image)), ratio(static_cast<size_t>(image)),
        power(static_cast<size_t>(image)), wideX;
#pragma omp for schedule(static)
    for (int n = 0; n < g.n; ++n)
      backwardImage(g, runs.data(), static_cast<int>(runs.size()), dy + n * image, x + n * image, y + n * image,
                    dx + n * image, squares.data(), ratio.data(), power.data(), wideX);
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
