// Mixed-precision support on the CPU that needs no special instructions: float32 <-> float16
// conversions (plain bit arithmetic, alexnet/float16.hpp) and the gradient unscaling of dynamic
// loss scaling.
#include <atomic>
#include <cmath>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {
using Index = long long;

ALEXNET_CPU_CLONES void toF16Chunk(const float* x, Float16* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = toF16(x[i]);
}

ALEXNET_CPU_CLONES void f16ToFloatChunk(const Float16* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = toFloat(x[i]);
}

// Whether any product is not finite: the product is what is checked, so an overflow of the
// multiplication itself counts too (invScale > 1).
ALEXNET_CPU_CLONES bool unscaleChunk(float invScale, float* g, Index n) {
  int nonFinite = 0;
  for (Index i = 0; i < n; ++i) {
    const float v = g[i] * invScale;
    g[i] = v;
    nonFinite |= std::isfinite(v) ? 0 : 1;
  }
  return nonFinite != 0;
}
}  // namespace

void CpuBackend::castToFloat16(size_t count, const float* x, Float16* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { toF16Chunk(x + b, y + b, e - b); });
}

void CpuBackend::castFloat16ToFloat32(size_t count, const Float16* x, float* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { f16ToFloatChunk(x + b, y + b, e - b); });
}

// The flag is written once, after the loop: each chunk reports into an atomic, no thread races
// on foundInf.
void CpuBackend::unscaleGradient(size_t count, float invScale, float* g, float* foundInf) {
  std::atomic<bool> nonFinite{false};
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) {
    if (unscaleChunk(invScale, g + b, e - b)) nonFinite.store(true, std::memory_order_relaxed);
  });
  if (nonFinite.load()) *foundInf = 1.0f;
}

}  // namespace cpu
}  // namespace alexnet
