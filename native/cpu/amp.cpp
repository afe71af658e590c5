// Mixed-precision support on the CPU that needs no special instructions: float32 <-> float16
// conversions (plain bit arithmetic, alexnet/float16.hpp) and the gradient unscaling of dynamic
// loss scaling.
#include <cmath>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {
constexpr long long kParallelMin = 1 << 15;
using Index = long long;
}  // namespace

void CpuBackend::castToFloat16(size_t count, const float* x, Float16* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] = toF16(x[i]);
}

void CpuBackend::castFloat16ToFloat32(size_t count, const Float16* x, float* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] = toFloat(x[i]);
}

// The flag is written once, after the loop, from a reduction: no thread races on it. The product
// is what is checked, so an overflow of the multiplication itself counts too (invScale > 1).
void CpuBackend::unscaleGradient(size_t count, float invScale, float* g, float* foundInf) {
  const Index n = static_cast<Index>(count);
  int nonFinite = 0;
#pragma omp parallel for schedule(static) reduction(| : nonFinite) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) {
    const float v = g[i] * invScale;
    g[i] = v;
    nonFinite |= std::isfinite(v) ? 0 : 1;
  }
  if (nonFinite) *foundInf = 1.0f;
}

}  // namespace cpu
}  // namespace alexnet
