// Max pooling (no padding) as plain OpenMP loops. The backward recomputes each window's argmax
// from x rather than trusting y, so ties resolve exactly as the contract says (first maximum in
// row-major window order; a NaN beats every number, and the first NaN wins) and overlapping
// windows add their gradients. One thread owns a whole (n, c) plane of dx, so the accumulation
// needs no atomics.
//
// bfloat16: the same loops on widened values (exact), so the maximum is exact and ties and NaN
// resolve as in float32; the backward sums each plane's gradients in float32 and rounds once.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {

inline float load(float v) { return v; }
inline float load(BFloat16 v) { return toFloat(v); }
inline void store(float* p, float v) { *p = v; }
inline void store(BFloat16* p, float v) { *p = toBf16(v); }  // exact for a widened bf16 or NaN

// Offset within the plane of the window's first maximum.
template <class T>
inline long argmaxWindow(const PoolGeometry& g, const T* plane, int oh, int ow) {
  long base = static_cast<long>(oh) * g.strideH * g.w + static_cast<long>(ow) * g.strideW;
  long best = base;
  float bestValue = load(plane[base]);
  for (int i = 0; i < g.kernelH; ++i) {
    const T* row = plane + base + static_cast<long>(i) * g.w;
    for (int j = 0; j < g.kernelW; ++j) {
      // Strict, so an equal later value never wins; a NaN wins over any number, and once the best
      // is NaN nothing compares greater.
      const float v = load(row[j]);
      if (v > bestValue || (v != v && bestValue == bestValue)) {
        bestValue = v;
        best = base + static_cast<long>(i) * g.w + j;
      }
    }
  }
  return best;
}

template <class T>
void poolForward(const PoolGeometry& g, const T* x, T* y) {
  const long planes = static_cast<long>(g.n) * g.c;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel for collapse(2) schedule(static)
  for (long p = 0; p < planes; ++p) {
    for (int oh = 0; oh < g.outH; ++oh) {
      const T* plane = x + p * inPlane;
      T* out = y + p * outPlane + static_cast<long>(oh) * g.outW;
      for (int ow = 0; ow < g.outW; ++ow) {
        // The maximum itself (no argmax needed here), branch-free so the compiler keeps maxss.
        // A NaN anywhere in the window gives NaN: one at the first position stays in m (no
        // comparison with it is true), and a later one is remembered in nan and put there at
        // the end. (Replacing m inside the loop when v != v made the loop branch: pool1 took
        // twice as long.)
        const T* win = plane + static_cast<long>(oh) * g.strideH * g.w +
                           static_cast<long>(ow) * g.strideW;
        float m = load(win[0]);
        bool nan = false;
        for (int i = 0; i < g.kernelH; ++i)
          for (int j = 0; j < g.kernelW; ++j) {
            float v = load(win[static_cast<long>(i) * g.w + j]);
            m = v > m ? v : m;
            nan |= v != v;
          }
        store(out + ow, nan ? std::numeric_limits<float>::quiet_NaN() : m);
      }
    }
  }
}

void poolBackward(const PoolGeometry& g, const float* dy, const float* x, float* dx) {
  const long planes = static_cast<long>(g.n) * g.c;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel for schedule(static)
  for (long p = 0; p < planes; ++p) {
    const float* plane = x + p * inPlane;
    const float* grad = dy + p * outPlane;
    float* d = dx + p * inPlane;
    std::memset(d, 0, sizeof(float) * inPlane);
    for (int oh = 0; oh < g.outH; ++oh)
      for (int ow = 0; ow < g.outW; ++ow)
        d[argmaxWindow(g, plane, oh, ow)] += grad[static_cast<long>(oh) * g.outW + ow];
  }
}

// bfloat16: each thread sums its plane's gradients in a float32 buffer, then rounds it once.
void poolBackward(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x, BFloat16* dx) {
  const long planes = static_cast<long>(g.n) * g.c;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel
  {
    std::vector<float> d(static_cast<size_t>(inPlane));
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const BFloat16* plane = x + p * inPlane;
      const BFloat16* grad = dy + p * outPlane;
      std::fill(d.begin(), d.end(), 0.0f);
      for (int oh = 0; oh < g.outH; ++oh)
        for (int ow = 0; ow < g.outW; ++ow)
          d[argmaxWindow(g, plane, oh, ow)] += toFloat(grad[static_cast<long>(oh) * g.outW + ow]);
      BFloat16* out = dx + p * inPlane;
      for (long i = 0; i < inPlane; ++i) out[i] = toBf16(d[i]);
    }
  }
}

}  // namespace

void CpuBackend::maxPoolForward(const PoolGeometry& g, const float* x, float* y) { poolForward(g, x, y); }
void CpuBackend::maxPoolForward(const PoolGeometry& g, const BFloat16* x, BFloat16* y) {
  requireBf16("maxPoolForward");
  poolForward(g, x, y);
}
void CpuBackend::maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x,
                                 const float* /*y*/, float* dx) {
  poolBackward(g, dy, x, dx);
}
void CpuBackend::maxPoolBackward(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x,
                                 const BFloat16* /*y*/, BFloat16* dx) {
  requireBf16("maxPoolBackward");
  poolBackward(g, dy, x, dx);
}

}  // namespace cpu
}  // namespace alexnet
