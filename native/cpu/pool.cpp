// Max pooling (no padding) as plain OpenMP loops. The backward recomputes each window's argmax
// from x rather than trusting y, so ties resolve exactly as the contract says (first maximum in
// row-major window order; a NaN beats every number, and the first NaN wins) and overlapping
// windows add their gradients. One thread owns a whole (n, c) plane of dx, so the accumulation
// needs no atomics.
#include <cstring>
#include <limits>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {

// Offset within the plane of the window's first maximum.
inline long argmaxWindow(const PoolGeometry& g, const float* plane, int oh, int ow) {
  long base = static_cast<long>(oh) * g.strideH * g.w + static_cast<long>(ow) * g.strideW;
  long best = base;
  float bestValue = plane[base];
  for (int i = 0; i < g.kernelH; ++i) {
    const float* row = plane + base + static_cast<long>(i) * g.w;
    for (int j = 0; j < g.kernelW; ++j) {
      // Strict, so an equal later value never wins; a NaN wins over any number, and once the best
      // is NaN nothing compares greater.
      if (row[j] > bestValue || (row[j] != row[j] && bestValue == bestValue)) {
        bestValue = row[j];
        best = base + static_cast<long>(i) * g.w + j;
      }
    }
  }
  return best;
}

}  // namespace

void CpuBackend::maxPoolForward(const PoolGeometry& g, const float* x, float* y) {
  const long planes = static_cast<long>(g.n) * g.c;
  const long inPlane = static_cast<long>(g.h) * g.w, outPlane = static_cast<long>(g.outH) * g.outW;
#pragma omp parallel for collapse(2) schedule(static)
  for (long p = 0; p < planes; ++p) {
    for (int oh = 0; oh < g.outH; ++oh) {
      const float* plane = x + p * inPlane;
      float* out = y + p * outPlane + static_cast<long>(oh) * g.outW;
      for (int ow = 0; ow < g.outW; ++ow) {
        // The maximum itself (no argmax needed here), branch-free so the compiler keeps maxss.
        // A NaN anywhere in the window gives NaN: one at the first position stays in m (no
        // comparison with it is true), and a later one is remembered in nan and put there at
        // the end. (Replacing m inside the loop when v != v made the loop branch: pool1 took
        // twice as long.)
        const float* win = plane + static_cast<long>(oh) * g.strideH * g.w +
                           static_cast<long>(ow) * g.strideW;
        float m = win[0];
        bool nan = false;
        for (int i = 0; i < g.kernelH; ++i)
          for (int j = 0; j < g.kernelW; ++j) {
            float v = win[static_cast<long>(i) * g.w + j];
            m = v > m ? v : m;
            nan |= v != v;
          }
        out[ow] = nan ? std::numeric_limits<float>::quiet_NaN() : m;
      }
    }
  }
}

void CpuBackend::maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x,
                                 const float* /*y*/, float* dx) {
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

}  // namespace cpu
}  // namespace alexnet
