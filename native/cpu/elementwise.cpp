// Elementwise ops, the SGD update and initialisation as OpenMP loops. Small tensors stay on one
// thread: starting a parallel region costs more than the work (parallelChunks, cpu_internal.hpp).
// The loops are compiled for AVX-512, AVX2 and the baseline (ALEXNET_CPU_CLONES): with
// -ffp-contract=off every version rounds each operation as written, so all give the same bits.
#include <cmath>
#include <cstddef>

#include "alexnet/random.hpp"
#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {
using Index = long long;  // signed: OpenMP loops are simplest over a signed index

// `x < 0 ? 0 : x` lets NaN through (as PyTorch does), so a diverging step reaches the loss.
ALEXNET_CPU_CLONES void reluChunk(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

ALEXNET_CPU_CLONES void reluBackwardChunk(const float* dy, const float* y, float* dx, Index n) {
  for (Index i = 0; i < n; ++i) {
    // Both loads up front: a select the compiler turns into a vector blend. With dy read only
    // where y > 0 it kept a branch, mispredicted for half the elements (10x slower than forward).
    const float g = dy[i], v = y[i];
    dx[i] = v > 0.0f ? g : 0.0f;
  }
}

// From the output alone: tanh'(x) = 1 - tanh(x)^2.
ALEXNET_CPU_CLONES void tanhBackwardChunk(const float* dy, const float* y, float* dx, Index n) {
  for (Index i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

ALEXNET_CPU_CLONES void sgdChunk(float lr, float momentum, float decay, float* w, float* v, const float* g,
                                 Index n) {
  for (Index i = 0; i < n; ++i) {
    const float vi = momentum * v[i] - decay * w[i] - lr * g[i];
    v[i] = vi;
    w[i] += vi;
  }
}

ALEXNET_CPU_CLONES void fillChunk(float value, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = value;
}

ALEXNET_CPU_CLONES void axpyChunk(float alpha, const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] += alpha * x[i];
}

ALEXNET_CPU_CLONES void scaleChunk(float alpha, const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = alpha * x[i];
}

// A float32 value of an activation and back: bfloat16 widens exactly and rounds once on the way
// back (to nearest even), so a bfloat16 result is the float32 one rounded.
inline __attribute__((always_inline)) float widen(float v) { return v; }
inline __attribute__((always_inline)) float widen(BFloat16 v) { return toFloat(v); }
inline __attribute__((always_inline)) void put(float v, float* at) { *at = v; }
inline __attribute__((always_inline)) void put(float v, BFloat16* at) { *at = toBf16(v); }

// One row of inverted dropout: element j keeps x[j] * keepScale when counterUniform(seed, base + j)
// >= p. One element at a time it took 10 ns (scalar 64-bit multiplies and a 64-bit integer to float
// conversion); over a row it vectorizes: 0.4 ns with AVX-512 and DQ's 64-bit multiplies, 0.8 ns
// with AVX2. Integer arithmetic and exact conversions only: every version draws the same mask.
template <class A>
ALEXNET_CPU_CLONES_DQ void dropoutRow(const A* x, A* y, float* mask, size_t length, uint64_t seed,
                                     uint64_t base, float p, float keepScale) {
  if (mask) {
#pragma omp simd
    for (size_t j = 0; j < length; ++j) {
      const float m = counterUniform(seed, base + j) >= p ? keepScale : 0.0f;
      mask[j] = m;
      put(widen(x[j]) * m, y + j);
    }
  } else {
#pragma omp simd
    for (size_t j = 0; j < length; ++j) put(widen(x[j]) * (counterUniform(seed, base + j) >= p ? keepScale : 0.0f), y + j);
  }
}

template <class A>
ALEXNET_CPU_CLONES void dropoutBackwardChunk(const A* dy, const float* mask, A* dx, Index n) {
  for (Index i = 0; i < n; ++i) put(widen(dy[i]) * mask[i], dx + i);
}

template <class A>
void dropoutForwardRows(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength, uint64_t rowStride,
                        const A* x, A* y, float* mask) {
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
}  // namespace

void CpuBackend::reluForward(size_t count, const float* x, float* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { reluChunk(x + b, y + b, e - b); });
}

void CpuBackend::reluBackward(size_t count, const float* dy, const float* y, float* dx) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { reluBackwardChunk(dy + b, y + b, dx + b, e - b); });
}

void CpuBackend::tanhForward(size_t count, const float* x, float* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) y[i] = std::tanh(x[i]);
  });
}

void CpuBackend::tanhBackward(size_t count, const float* dy, const float* y, float* dx) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { tanhBackwardChunk(dy + b, y + b, dx + b, e - b); });
}

void CpuBackend::dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                                uint64_t rowStride, const float* x, float* y, float* mask) {
  dropoutForwardRows(count, p, seed, offset, rowLength, rowStride, x, y, mask);
}

void CpuBackend::dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                                uint64_t rowStride, const BFloat16* x, BFloat16* y, float* mask) {
  requireBf16("dropoutForward");
  dropoutForwardRows(count, p, seed, offset, rowLength, rowStride, x, y, mask);
}

void CpuBackend::dropoutBackward(size_t count, const float* dy, const float* mask, float* dx) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { dropoutBackwardChunk(dy + b, mask + b, dx + b, e - b); });
}

void CpuBackend::dropoutBackward(size_t count, const BFloat16* dy, const float* mask, BFloat16* dx) {
  requireBf16("dropoutBackward");
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { dropoutBackwardChunk(dy + b, mask + b, dx + b, e - b); });
}

void CpuBackend::sgdStep(size_t count, float lr, float momentum, float weightDecay, float* w,
                         float* v, const float* g) {
  const float decay = weightDecay * lr;
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { sgdChunk(lr, momentum, decay, w + b, v + b, g + b, e - b); });
}

void CpuBackend::fill(size_t count, float value, float* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { fillChunk(value, y + b, e - b); });
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
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { axpyChunk(alpha, x + b, y + b, e - b); });
}

void CpuBackend::scale(size_t count, float alpha, const float* x, float* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { scaleChunk(alpha, x + b, y + b, e - b); });
}

}  // namespace cpu
}  // namespace alexnet
