// Max pooling (no padding) as plain OpenMP loops, one output row at a time. The backward recomputes
// each window's argmax from x rather than trusting y, so ties resolve exactly as the contract says
// (first maximum in row-major window order; a NaN beats every number, and the first NaN wins) and
// overlapping windows add their gradients. One thread owns a whole (n, c) plane of dx, so the
// accumulation needs no atomics.
//
// Why rows and two passes: a window's argmax found by "replace the best when greater" branches on
// every element, and on real activations that branch is a coin toss: the backward spent most of
// its time in mispredictions (55 ms for pool1 at batch 32 on one core). Instead each window's
// maximum is taken branch-free (a NaN anywhere remembered beside it), and then its first position
// holding that maximum (or the first NaN) is picked by a backward scan of selects. Every output of a
// row does the same work, independently, so the compiler vectorizes across the row; the 3x3 and 2x2
// windows (the paper's overlapping pooling and the ablation's plain one) are compiled with their
// size known, which unrolls the window. Measured on one core at pool1's shape: backward 55 -> 9 ms
// (float32) and 62 -> 12 ms (bfloat16); forward 14 -> 4 ms and 18 -> 9 ms, results bit-identical.
// (The argmax scan vectorizes only with window positions as small ints and a branch-free NaN test:
// with 64-bit offsets GCC 12 kept it scalar. That change, measured as the op's CPU time on one core
// at pool1's shape, batch 32: backward 26-31 -> 14-17 ms in float32, 24-29 -> 16-19 ms in bfloat16.)
//
// bfloat16: the same loops on widened values (exact), so the maximum is exact and ties and NaN
// resolve as in float32; the backward sums each plane's gradients in float32 and rounds once.
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu_internal.hpp"
#include "pool_interleaved.hpp"

// The row kernels are compiled for several instruction sets (ALEXNET_CPU_CLONES). Comparisons and
// selects only: the versions agree exactly. (The bfloat16 widening and rounding around them, cloned
// too, measured no faster: they are not where the time goes.)

namespace alexnet {
namespace cpu {

namespace {

inline float load(float v) { return v; }
inline float load(BFloat16 v) { return toFloat(v); }

// The maximum of the window at `win` (rows `width` apart), branch-free so it vectorizes, and
// whether it holds a NaN (a NaN at the first position stays in m, since no comparison with it is
// true; a later one is only remembered). The window is KH x KW when compiled in, else kh x kw.
template <int KH, int KW>
inline __attribute__((always_inline)) float windowMax(const float* win, long width, int kh, int kw,
                                                       bool& nan) {
  float m = win[0];
  nan = false;
#pragma GCC unroll 4
  for (int i = 0; i < (KH ? KH : kh); ++i)
#pragma GCC unroll 4
    for (int j = 0; j < (KW ? KW : kw); ++j) {
      const float v = win[i * width + j];
      m = v > m ? v : m;
      nan |= v != v;
    }
  return m;
}

// One output row: out[ow] = the maximum of the window at column ow * stride of `rows` (the input
// rows the output row reads, each `width` long), NaN when the window holds one.
template <int KH, int KW>
inline __attribute__((always_inline)) void rowMaxInline(const float* rows, long width, int kernelH, int kernelW,
                                                        int stride, int outW, float* out) {
  for (int ow = 0; ow < outW; ++ow) {
    bool nan;
    const float m = windowMax<KH, KW>(rows + static_cast<long>(ow) * stride, width, kernelH, kernelW, nan);
    out[ow] = nan ? std::numeric_limits<float>::quiet_NaN() : m;
  }
}

template <int KH, int KW>
ALEXNET_CPU_CLONES void rowMax(const float* rows, long width, int kernelH, int kernelW, int stride,
                               int outW, float* out) {
  rowMaxInline<KH, KW>(rows, width, kernelH, kernelW, stride, outW, out);
}

// One output row of argmaxes: taps[ow] = the window position (i kw + j) of the first maximum of
// window ow in row-major window order (the first NaN when the window holds one). Positions are
// small ints and the hit test has no branch, so the loop over the row vectorizes (with 64-bit
// offsets and a branch on NaN it stayed scalar: 7 ns per output at pool1's shape).
template <int KH, int KW>
inline __attribute__((always_inline)) void rowArgmax(const float* rows, long width, int kernelH, int kernelW,
                                                     int stride, int outW, int* taps) {
  const int kh = KH ? KH : kernelH, kw = KW ? KW : kernelW;
  for (int ow = 0; ow < outW; ++ow) {
    const float* win = rows + static_cast<long>(ow) * stride;
    bool nan;
    const float m = windowMax<KH, KW>(win, width, kernelH, kernelW, nan);
    // Scanning backwards, the last hit written is the first in window order.
    int best = 0;
#pragma GCC unroll 4
    for (int i = kh - 1; i >= 0; --i)
#pragma GCC unroll 4
      for (int j = kw - 1; j >= 0; --j) {
        const float v = win[i * width + j];
        const bool hit = (nan & (v != v)) | (!nan & (v == m));
        best = hit ? i * kw + j : best;
      }
    taps[ow] = best;
  }
}

template <int KH, int KW>
void poolForward(const PoolGeometry& g, const float* x, float* y) {
  const long planes = static_cast<long>(g.n) * g.c;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel for collapse(2) schedule(static)
  for (long p = 0; p < planes; ++p)
    for (int oh = 0; oh < g.outH; ++oh)
      rowMax<KH, KW>(x + p * inPlane + static_cast<long>(oh) * g.strideH * g.w, g.w, g.kernelH,
                     g.kernelW, g.strideW, g.outW, y + p * outPlane + static_cast<long>(oh) * g.outW);
}

// bfloat16 input is widened (exactly) a plane at a time into float32 that the row kernels read:
// strided 16-bit loads kept the compiler from vectorizing them (pool1 in bfloat16 took 1.3x the
// float32 time), while widening a contiguous plane is one vectorized pass over data in cache. The
// plane's widening, rows and rounding are one cloned function, compiled for the machine's vectors.
template <int KH, int KW>
ALEXNET_CPU_CLONES void forwardPlane(const PoolGeometry& g, const BFloat16* x, BFloat16* y, float* wide,
                                     float* out) {
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
  for (long i = 0; i < inPlane; ++i) wide[i] = toFloat(x[i]);
  for (int oh = 0; oh < g.outH; ++oh)
    rowMaxInline<KH, KW>(wide + static_cast<long>(oh) * g.strideH * g.w, g.w, g.kernelH, g.kernelW, g.strideW,
                         g.outW, out + static_cast<long>(oh) * g.outW);
  for (long i = 0; i < outPlane; ++i) y[i] = toBf16(out[i]);  // exact: a widened bf16 or NaN
}

template <int KH, int KW>
void poolForward(const PoolGeometry& g, const BFloat16* x, BFloat16* y) {
  const long planes = static_cast<long>(g.n) * g.c;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel
  {
    std::vector<float> wide(static_cast<size_t>(inPlane)), out(static_cast<size_t>(outPlane));
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p)
      forwardPlane<KH, KW>(g, x + p * inPlane, y + p * outPlane, wide.data(), out.data());
  }
}

// Adds a plane's output gradients into d (the plane's float32 input gradient, zeroed).
template <class G, int KH, int KW>
inline __attribute__((always_inline)) void scatterPlane(const PoolGeometry& g, const float* plane, const G* grad,
                                                        float* d, int* taps) {
  const int kw = KW ? KW : g.kernelW;
  for (int oh = 0; oh < g.outH; ++oh) {
    const long rowStart = static_cast<long>(oh) * g.strideH * g.w;
    rowArgmax<KH, KW>(plane + rowStart, g.w, g.kernelH, g.kernelW, g.strideW, g.outW, taps);
    const G* gradRow = grad + static_cast<long>(oh) * g.outW;
    // In order: windows overlap, so two outputs may add into the same input.
    for (int ow = 0; ow < g.outW; ++ow) {
      const int t = taps[ow];
      d[rowStart + static_cast<long>(ow) * g.strideW + static_cast<long>(t / kw) * g.w + t % kw] += load(gradRow[ow]);
    }
  }
}

// One plane of dx from x's and dy's. The whole plane is one cloned function, so that the argmax
// rows, and for bfloat16 the widening and the rounding, are compiled for the machine's vectors.
template <int KH, int KW>
ALEXNET_CPU_CLONES void backwardPlane(const PoolGeometry& g, const float* x, const float* dy, float* dx, float*,
                                      float*, int* taps) {
  const long inPlane = static_cast<long>(g.h) * g.w;
  for (long i = 0; i < inPlane; ++i) dx[i] = 0.0f;
  scatterPlane<float, KH, KW>(g, x, dy, dx, taps);
}

// bfloat16: the plane widened (exactly) into `wide`, its gradients summed in the float32 `sums`,
// rounded once.
template <int KH, int KW>
ALEXNET_CPU_CLONES void backwardPlane(const PoolGeometry& g, const BFloat16* x, const BFloat16* dy, BFloat16* dx,
                                      float* wide, float* sums, int* taps) {
  const long inPlane = static_cast<long>(g.h) * g.w;
  for (long i = 0; i < inPlane; ++i) {
    wide[i] = toFloat(x[i]);
    sums[i] = 0.0f;
  }
  scatterPlane<BFloat16, KH, KW>(g, wide, dy, sums, taps);
  for (long i = 0; i < inPlane; ++i) dx[i] = toBf16(sums[i]);
}

template <class T, int KH, int KW>
void poolBackward(const PoolGeometry& g, const T* dy, const T* x, T* dx) {
  const long planes = static_cast<long>(g.n) * g.c;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel
  {
    std::vector<int> taps(static_cast<size_t>(g.outW));
    // Scratch for bfloat16 only: the widened plane and its float32 sums.
    std::vector<float> wide(std::is_same<T, BFloat16>::value ? inPlane : 0), sums(wide.size());
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p)
      backwardPlane<KH, KW>(g, x + p * inPlane, dy + p * outPlane, dx + p * inPlane, wide.data(), sums.data(),
                            taps.data());
  }
}

// Rows narrower than a vector go to pool_interleaved.cpp where the CPU runs it (same bits).
inline bool interleavedRows(const PoolGeometry& g) {
  return g.outW < kInterleavedPoolMaxOutW && cpuHasAvx512();
}

// The window compiled in where it is one of the two the models use (3x3 overlapping, 2x2 plain),
// else read from the geometry at run time (0, 0).
template <class T>
void forward(const PoolGeometry& g, const T* x, T* y) {
#if ALEXNET_CPU_X86_GCC
  if (interleavedRows(g)) return maxPoolForwardInterleaved(g, x, y);
#endif
  if (g.kernelH == 3 && g.kernelW == 3) poolForward<3, 3>(g, x, y);
  else if (g.kernelH == 2 && g.kernelW == 2) poolForward<2, 2>(g, x, y);
  else poolForward<0, 0>(g, x, y);
}

template <class T>
void backward(const PoolGeometry& g, const T* dy, const T* x, T* dx) {
#if ALEXNET_CPU_X86_GCC
  if (interleavedRows(g)) return maxPoolBackwardInterleaved(g, dy, x, dx);
#endif
  if (g.kernelH == 3 && g.kernelW == 3) poolBackward<T, 3, 3>(g, dy, x, dx);
  else if (g.kernelH == 2 && g.kernelW == 2) poolBackward<T, 2, 2>(g, dy, x, dx);
  else poolBackward<T, 0, 0>(g, dy, x, dx);
}

}  // namespace

void CpuBackend::maxPoolForward(const PoolGeometry& g, const float* x, float* y) { forward(g, x, y); }
void CpuBackend::maxPoolForward(const PoolGeometry& g, const BFloat16* x, BFloat16* y) {
  requireBf16("maxPoolForward");
  forward(g, x, y);
}
void CpuBackend::maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x,
                                 const float* /*y*/, float* dx) {
  backward(g, dy, x, dx);
}
void CpuBackend::maxPoolBackward(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x,
                                 const BFloat16* /*y*/, BFloat16* dx) {
  requireBf16("maxPoolBackward");
  backward(g, dy, x, dx);
}

}  // namespace cpu
}  // namespace alexnet
