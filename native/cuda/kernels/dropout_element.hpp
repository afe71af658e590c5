// One element of inverted dropout (dropout.cu), callable from host code so that it can be checked
// without a GPU against the CPU backend's rule (native/cpu/elementwise.cpp): element i of row
// i / rowLength draws counterUniform(seed, offset + (i / rowLength) * rowStride + i % rowLength)
// and is kept, times keepScale, when the draw is >= p. The contract lets the mask be null (only
// y is wanted): then nothing is written to it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alexnet/random.hpp"

namespace alexnet::cuda::kernels {

// The counter of element i (rowLength > 0; rowStride == rowLength: plain offset + i).
ALEXNET_HOST_DEVICE inline uint64_t dropoutCounter(uint64_t offset, size_t rowLength,
                                                   uint64_t rowStride, size_t i) {
  return rowStride == rowLength ? offset + i : offset + (i / rowLength) * rowStride + i % rowLength;
}

ALEXNET_HOST_DEVICE inline void dropoutElement(size_t i, float p, float keepScale, uint64_t seed,
                                               uint64_t offset, size_t rowLength,
                                               uint64_t rowStride, const float* x, float* y,
                                               float* mask) {
  const float m =
      counterUniform(seed, dropoutCounter(offset, rowLength, rowStride, i)) >= p ? keepScale : 0.0f;
  if (mask != nullptr) mask[i] = m;
  y[i] = x[i] * m;
}

}  // namespace alexnet::cuda::kernels
