// Shared launch geometry and block reductions for the backend's kernels.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "check.hpp"

namespace alexnet::cuda {

constexpr int kThreads = 256;  // threads per block for every kernel here

// Blocks for a grid-stride loop over count elements. Capped: past this many blocks a grid-stride
// loop is as fast and the index never needs more than 64 bits.
inline unsigned gridFor(size_t count) {
  size_t blocks = (count + kThreads - 1) / kThreads;
  const size_t cap = 65536;
  return static_cast<unsigned>(blocks < cap ? blocks : cap);
}

__device__ inline size_t globalIndex() {
  return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline size_t globalStride() { return static_cast<size_t>(gridDim.x) * blockDim.x; }

// Block-wide reductions for kThreads threads; every thread gets the result. `shared` holds one
// value per warp. The order is fixed, so results are deterministic.
template <class T, class Op>
__device__ inline T blockReduce(T value, Op op, T* shared) {
  for (int offset = 16; offset > 0; offset >>= 1)
    value = op(value, __shfl_xor_sync(0xffffffffu, value, offset));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // shared may still be read by a previous reduction
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  value = shared[0];
  for (int i = 1; i < kThreads / 32; ++i) value = op(value, shared[i]);
  return value;
}

struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

}  // namespace alexnet::cuda
