// Max pooling sixteen planes at a time, for planes whose output rows are narrower than a vector.
//
// pool.cpp vectorizes along an output row. The quick preset's pools have rows of 7, 3 and 1
// outputs (the paper's pool2 and pool5, 13 and 6): there most of each row ran in remainder loops,
// and per row and per plane costs dominated (about 13 ns per output in the backward at the quick
// preset's shapes). Here sixteen planes are first interleaved, t[pixel][plane], by 16 x 16
// transposes in registers (bfloat16 widened on the way); every window tap is then one load of
// sixteen values, and each step of the loops works on sixteen planes at once.
//
// Same rules and same bits as pool.cpp: a window's maximum is taken branch-free, with a NaN
// anywhere remembered (the output is then the canonical quiet NaN); its argmax is the first maximum
// in row-major window order, or the first NaN. The backward adds each output's gradient at its
// argmax, in (oh, ow) order, into float32 sums starting at 0, by masked adds that leave the other
// taps' sums untouched; bfloat16 gradients are rounded once, from those sums.
//
// AVX-512 (F, BW, VL, DQ) intrinsics: the lane masks are what the loops are made of, and written
// with GCC's generic vectors the compiler turned each NaN test into sixteen scalar compares. On
// other CPUs pool.cpp's row kernels run instead.
#include "pool_interleaved.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu_internal.hpp"

#define ALEXNET_POOL_INLINE inline __attribute__((always_inline))

#if ALEXNET_CPU_X86_GCC
#include <immintrin.h>
#endif

namespace alexnet {
namespace cpu {

#if ALEXNET_CPU_X86_GCC
ALEXNET_AVX512_BEGIN
namespace {

constexpr int kLanes = 16;

// 16 x 16 floats, r[row] holding a row, transposed in place: each stage swaps the off-diagonal
// b x b blocks of every 2b x 2b block, for b = 8, 4, 2, 1 (64 two-source permutes for 256 values).
// Index i < 16 picks lane i of the first source, 16 + i lane i of the second.
alignas(64) constexpr int32_t kTopHalves[4][kLanes] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
    {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
    {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
    {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}};
alignas(64) constexpr int32_t kBottomHalves[4][kLanes] = {
    {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
    {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
    {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
    {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}};

ALEXNET_POOL_INLINE void transpose(__m512* r) {
#pragma GCC unroll 4
  for (int stage = 0; stage < 4; ++stage) {
    const int b = 8 >> stage;
    const __m512i top = _mm512_load_si512(kTopHalves[stage]), bottom = _mm512_load_si512(kBottomHalves[stage]);
#pragma GCC unroll 16
    for (int i = 0; i < kLanes; ++i)
      if ((i & b) == 0) {
        const __m512 upper = r[i], lower = r[i + b];
        r[i] = _mm512_permutex2var_ps(upper, top, lower);
        r[i + b] = _mm512_permutex2var_ps(upper, bottom, lower);
      }
  }
}

ALEXNET_POOL_INLINE __mmask16 firstLanes(int width) { return static_cast<__mmask16>((1u << width) - 1u); }

// `width` (at most 16) consecutive values as float32 lanes, zeros after them (bfloat16 widened).
ALEXNET_POOL_INLINE __m512 loadPixels(const float* src, int width) {
  return _mm512_maskz_loadu_ps(firstLanes(width), src);
}
ALEXNET_POOL_INLINE __m512 loadPixels(const BFloat16* src, int width) {
  const __m256i bits = _mm256_maskz_loadu_epi16(firstLanes(width), src);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}

ALEXNET_POOL_INLINE void storePixels(float* dst, __m512 v, int width) {
  _mm512_mask_storeu_ps(dst, firstLanes(width), v);
}
// Rounded as toBf16 rounds: to nearest even, a NaN kept quiet with its sign and top payload bits.
ALEXNET_POOL_INLINE void storePixels(BFloat16* dst, __m512 v, int width) {
  const __m512i u = _mm512_castps_si512(v);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  const __m512i lowestKept = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lowestKept));
  const __m512i quiet = _mm512_or_si512(u, _mm512_set1_epi32(0x00400000));
  const __m512i bits = _mm512_srli_epi32(_mm512_mask_blend_epi32(nan, rounded, quiet), 16);
  _mm256_mask_storeu_epi16(dst, firstLanes(width), _mm512_cvtepi32_epi16(bits));
}

// `count` planes of `src`, `plane` values each, into t[p][lane] as float32 (lanes past count: 0).
template <class T>
ALEXNET_POOL_INLINE void interleave(const T* src, long plane, int count, float* t) {
  for (long p0 = 0; p0 < plane; p0 += kLanes) {
    const int width = static_cast<int>(std::min<long>(kLanes, plane - p0));
    __m512 r[kLanes];
#pragma GCC unroll 16
    for (int l = 0; l < kLanes; ++l) r[l] = l < count ? loadPixels(src + l * plane + p0, width) : _mm512_setzero_ps();
    transpose(r);
#pragma GCC unroll 16
    for (int q = 0; q < kLanes; ++q)
      if (q < width) _mm512_storeu_ps(t + (p0 + q) * kLanes, r[q]);
  }
}

// The inverse for the first `count` lanes: t[p][lane] into `count` planes of `dst`.
template <class T>
ALEXNET_POOL_INLINE void deinterleave(const float* t, long plane, int count, T* dst) {
  for (long p0 = 0; p0 < plane; p0 += kLanes) {
    const int width = static_cast<int>(std::min<long>(kLanes, plane - p0));
    __m512 r[kLanes];
#pragma GCC unroll 16
    for (int q = 0; q < kLanes; ++q) r[q] = q < width ? _mm512_loadu_ps(t + (p0 + q) * kLanes) : _mm512_setzero_ps();
    transpose(r);
#pragma GCC unroll 16
    for (int l = 0; l < kLanes; ++l)
      if (l < count) storePixels(dst + l * plane + p0, r[l], width);
  }
}

// Each lane's window maximum, branch-free, and which lanes' windows hold a NaN (a NaN at the first
// tap stays in m, since no comparison with it is true). `win` is the window's first tap in t; the
// taps are `width` pixels apart by rows. KH x KW when compiled in, else kh x kw.
template <int KH, int KW>
ALEXNET_POOL_INLINE __m512 windowMax(const float* win, long width, int kh, int kw, __mmask16& nan) {
  __m512 m = _mm512_loadu_ps(win);
  nan = 0;
#pragma GCC unroll 4
  for (int i = 0; i < (KH ? KH : kh); ++i)
#pragma GCC unroll 4
    for (int j = 0; j < (KW ? KW : kw); ++j) {
      const __m512 v = _mm512_loadu_ps(win + (i * width + j) * kLanes);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, m, _CMP_GT_OQ), m, v);  // v > m ? v : m
    }
  return m;
}

template <int KH, int KW, class T>
void forwardGroup(const PoolGeometry& g, const T* x, T* y, int count, float* t, float* out) {
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
  const __m512 quietNan = _mm512_set1_ps(std::numeric_limits<float>::quiet_NaN());
  interleave(x, inPlane, count, t);
  for (int oh = 0; oh < g.outH; ++oh)
    for (int ow = 0; ow < g.outW; ++ow) {
      const long first = static_cast<long>(oh) * g.strideH * g.w + static_cast<long>(ow) * g.strideW;
      __mmask16 nan;
      const __m512 m = windowMax<KH, KW>(t + first * kLanes, g.w, g.kernelH, g.kernelW, nan);
      _mm512_storeu_ps(out + (static_cast<long>(oh) * g.outW + ow) * kLanes, _mm512_mask_blend_ps(nan, m, quietNan));
    }
  deinterleave(out, outPlane, count, y);  // exact for bfloat16: each is a widened bfloat16 or NaN
}

template <int KH, int KW, class T>
void backwardGroup(const PoolGeometry& g, const T* x, const T* dy, T* dx, int count, float* t, float* grad,
                   float* sums) {
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
  const int kh = KH ? KH : g.kernelH, kw = KW ? KW : g.kernelW;
  interleave(x, inPlane, count, t);
  interleave(dy, outPlane, count, grad);
  for (long p = 0; p < inPlane; ++p) _mm512_storeu_ps(sums + p * kLanes, _mm512_setzero_ps());
  for (int oh = 0; oh < g.outH; ++oh)
    for (int ow = 0; ow < g.outW; ++ow) {
      const long first = static_cast<long>(oh) * g.strideH * g.w + static_cast<long>(ow) * g.strideW;
      const float* win = t + first * kLanes;
      __mmask16 nan;
      const __m512 m = windowMax<KH, KW>(win, g.w, kh, kw, nan);
      // Scanning backwards, the last hit written is the first in window order.
      __m512i best = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int i = kh - 1; i >= 0; --i)
#pragma GCC unroll 4
        for (int j = kw - 1; j >= 0; --j) {
          const __m512 v = _mm512_loadu_ps(win + (i * g.w + j) * kLanes);
          const __mmask16 hit = (nan & _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q)) |
                                (~nan & _mm512_cmp_ps_mask(v, m, _CMP_EQ_OQ));
          best = _mm512_mask_mov_epi32(best, hit, _mm512_set1_epi32(i * kw + j));
        }
      const __m512 gr = _mm512_loadu_ps(grad + (static_cast<long>(oh) * g.outW + ow) * kLanes);
#pragma GCC unroll 4
      for (int i = 0; i < kh; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < kw; ++j) {
          float* s = sums + (first + static_cast<long>(i) * g.w + j) * kLanes;
          const __mmask16 here = _mm512_cmpeq_epi32_mask(best, _mm512_set1_epi32(i * kw + j));
          const __m512 sum = _mm512_loadu_ps(s);
          _mm512_storeu_ps(s, _mm512_mask_add_ps(sum, here, sum, gr));
        }
    }
  deinterleave(sums, inPlane, count, dx);
}

// Groups of sixteen planes (the last may be short), split among the threads.
template <int KH, int KW, class T>
void forwardAll(const PoolGeometry& g, const T* x, T* y) {
  const long planes = static_cast<long>(g.n) * g.c, groups = (planes + kLanes - 1) / kLanes;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel
  {
    std::vector<float> t(static_cast<size_t>(inPlane * kLanes)), out(static_cast<size_t>(outPlane * kLanes));
#pragma omp for schedule(static)
    for (long q = 0; q < groups; ++q) {
      const int count = static_cast<int>(std::min<long>(kLanes, planes - q * kLanes));
      forwardGroup<KH, KW>(g, x + q * kLanes * inPlane, y + q * kLanes * outPlane, count, t.data(), out.data());
    }
  }
}

template <int KH, int KW, class T>
void backwardAll(const PoolGeometry& g, const T* dy, const T* x, T* dx) {
  const long planes = static_cast<long>(g.n) * g.c, groups = (planes + kLanes - 1) / kLanes;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel
  {
    std::vector<float> t(static_cast<size_t>(inPlane * kLanes)), grad(static_cast<size_t>(outPlane * kLanes)),
        sums(static_cast<size_t>(inPlane * kLanes));
#pragma omp for schedule(static)
    for (long q = 0; q < groups; ++q) {
      const int count = static_cast<int>(std::min<long>(kLanes, planes - q * kLanes));
      backwardGroup<KH, KW>(g, x + q * kLanes * inPlane, dy + q * kLanes * outPlane, dx + q * kLanes * inPlane,
                            count, t.data(), grad.data(), sums.data());
    }
  }
}

// The window compiled in for the two the models use (3x3 overlapping, 2x2 plain), else read from
// the geometry at run time (0, 0).
template <class T>
void forward(const PoolGeometry& g, const T* x, T* y) {
  if (g.kernelH == 3 && g.kernelW == 3) forwardAll<3, 3>(g, x, y);
  else if (g.kernelH == 2 && g.kernelW == 2) forwardAll<2, 2>(g, x, y);
  else forwardAll<0, 0>(g, x, y);
}

template <class T>
void backward(const PoolGeometry& g, const T* dy, const T* x, T* dx) {
  if (g.kernelH == 3 && g.kernelW == 3) backwardAll<3, 3>(g, dy, x, dx);
  else if (g.kernelH == 2 && g.kernelW == 2) backwardAll<2, 2>(g, dy, x, dx);
  else backwardAll<0, 0>(g, dy, x, dx);
}

}  // namespace
ALEXNET_AVX512_END

void maxPoolForwardInterleaved(const PoolGeometry& g, const float* x, float* y) { forward(g, x, y); }
void maxPoolForwardInterleaved(const PoolGeometry& g, const BFloat16* x, BFloat16* y) { forward(g, x, y); }
void maxPoolBackwardInterleaved(const PoolGeometry& g, const float* dy, const float* x, float* dx) {
  backward(g, dy, x, dx);
}
void maxPoolBackwardInterleaved(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x, BFloat16* dx) {
  backward(g, dy, x, dx);
}
#endif  // ALEXNET_CPU_X86_GCC

}  // namespace cpu
}  // namespace alexnet
