// One element of inverted dropout (dropout.cu), callable from host code so that it can be checked
// without a GPU against the CPU backend's rule (native/cpu/elementwise.cpp): element i of row
// i / rowLength draws counterUniform(seed, offset + (i / rowLength) * rowStride + i % rowLength)
// and is kept, times keepScale, when the draw is >= p. The contract lets the mask be null (only
// y is wanted): then nothing is written to it. Over the element type T of x and y (element.hpp):
// the product is float32 on the exactly widened value, rounded once to T.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alexnet/random.hpp"
#include "kernels/element.hpp"

namespace alexnet::cuda::kernels {

// The counter of element i (rowLength > 0; rowStride == rowLength: plain offset + i).
ALEXNET_HOST_DEVICE inline uint64_t dropoutCounter(uint64_t offset, size_t rowLength,
                                                   uint64_t rowStride, size_t i) {
  return rowStride == rowLength ? offset + i : offset + (i / rowLength) * rowStride + i % rowLength;
}

template <class T>
ALEXNET_HOST_DEVICE inline void dropoutElement(size_t i, float p, float keepScale, uint64_t seed,
                                               uint64_t offset, size_t rowLength,
                                               uint64_t rowStride, const T* x, T* y,
                                               float* mask) {
  const float m =
      counterUniform(seed, dropoutCounter(offset, rowLength, rowStride, i)) >= p ? keepScale : 0.0f;
  if (mask != nullptr) mask[i] = m;
  y[i] = storeElement<T>(loadElement(x[i]) * m);
}

// The backward's element: dy * mask in float32, rounded once to T.
template <class T>
ALEXNET_HOST_DEVICE inline T dropoutGradElement(const T& dy, float mask) {
  return storeElement<T>(loadElement(dy) * mask);
}

}  // namespace alexnet::cuda::kernels
