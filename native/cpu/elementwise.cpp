// Elementwise ops, the SGD update and initialisation as OpenMP loops. Small tensors stay on one
// thread: starting a parallel region costs more than the work.
#include <cmath>
#include <cstddef>

#include "alexnet/random.hpp"
#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {
constexpr long long kParallelMin = 1 << 15;
using Index = long long;  // signed: OpenMP loops are simplest over a signed index

// One row of inverted dropout: element j keeps x[j] * keepScale when counterUniform(seed, base + j)
// >= p. One element at a time it took 10 ns (scalar 64-bit multiplies and a 64-bit integer to float
// conversion); over a row it vectorizes: 0.4 ns with AVX-512 and DQ's 64-bit multiplies, 0.8 ns
// with AVX2. Integer arithmetic and exact conversions only: every version draws the same mask.
ALEXNET_CPU_CLONES_DQ void dropoutRow(const float* x, float* y, float* mask, size_t length, uint64_t seed,
                                     uint64_t base, float p, float keepScale) {
  if (mask) {
#pragma omp simd
    for (size_t j = 0; j < length; ++j) {
      const float m = counterUniform(seed, base + j) >= p ? keepScale : 0.0f;
      mask[j] = m;
      y[j] = x[j] * m;
    }
  } else {
#pragma omp simd
    for (size_t j = 0; j < length; ++j) y[j] = x[j] * (counterUniform(seed, base + j) >= p ? keepScale : 0.0f);
  }
}
}  // namespace

void CpuBackend::reluForward(size_t count, const float* x, float* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  // `x < 0 ? 0 : x` lets NaN through (as PyTorch does), so a diverging step reaches the loss.
  for (Index i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void CpuBackend::reluBackward(size_t count, const float* dy, const float* y, float* dx) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) {
    // Both loads up front: a select the compiler turns into a vector blend. With dy read only
    // where y > 0 it kept a branch, mispredicted for half the elements (10x slower than forward).
    const float g = dy[i], v = y[i];
    dx[i] = v > 0.0f ? g : 0.0f;
  }
}

void CpuBackend::tanhForward(size_t count, const float* x, float* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

// From the output alone: tanh'(x) = 1 - tanh(x)^2.
void CpuBackend::tanhBackward(size_t count, const float* dy, const float* y, float* dx) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void CpuBackend::dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                                uint64_t rowStride, const float* x, float* y, float* mask) {
  if (count == 0 || rowLength == 0) return;
  const float keepScale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  // Row r of x draws the counters offset + r * rowStride + (0 .. rowLength - 1) (backend.hpp).
  const Index rows = static_cast<Index>((count + rowLength - 1) / rowLength);
#pragma omp parallel for schedule(static) if (static_cast<Index>(count) >= kParallelMin)
  for (Index r = 0; r < rows; ++r) {
    const size_t start = static_cast<size_t>(r) * rowLength;
    const size_t length = count - start < rowLength ? count - start : rowLength;
    dropoutRow(x + start, y + start, mask ? mask + start : nullptr, length, seed, offset + static_cast<uint64_t>(r) * rowStride,
               p, keepScale);
  }
}

void CpuBackend::dropoutBackward(size_t count, const float* dy, const float* mask, float* dx) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

void CpuBackend::sgdStep(size_t count, float lr, float momentum, float weightDecay, float* w,
                         float* v, const float* g) {
  const Index n = static_cast<Index>(count);
  const float decay = weightDecay * lr;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) {
    float vi = momentum * v[i] - decay * w[i] - lr * g[i];
    v[i] = vi;
    w[i] += vi;
  }
}

void CpuBackend::fill(size_t count, float value, float* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] = value;
}

void CpuBackend::normalInit(size_t count, float mean, float std, uint64_t seed, uint64_t offset, float* y) {
  const Index n = static_cast<Index>(count);
  // A rounded product, then a rounded sum (no fused multiply-add: the target builds with
  // -ffp-contract=off), as the CUDA kernel does with __fmul_rn / __fadd_rn, so both backends
  // produce bit-identical weights.
#pragma omp parallel for schedule(static) if (n >= 4096)
  for (Index i = 0; i < n; ++i) y[i] = mean + std * counterNormal(seed, offset + static_cast<uint64_t>(i));
}

void CpuBackend::axpy(size_t count, float alpha, const float* x, float* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void CpuBackend::scale(size_t count, float alpha, const float* x, float* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] = alpha * x[i];
}

}  // namespace cpu
}  // namespace alexnet
