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

// A plane grid over NCHW data: block x is one (image, channel) plane, block y a run of kThreads of
// its pixels, so a thread finds its channel with one 32-bit remainder (planePixel, blockIdx.x %
// channels) instead of 64-bit divisions per element. False where CUDA's grid limits do not allow
// it (over 2^31 - 1 planes, or planes of over 65535 runs): the caller then launches a grid-stride
// kernel instead.
inline bool planeGrid(unsigned long long planes, unsigned long long pixels, dim3& grid) {
  const unsigned long long runs = (pixels + kThreads - 1) / kThreads;
  if (planes == 0 || planes > 0x7fffffffULL || runs == 0 || runs > 65535) return false;
  grid = dim3(static_cast<unsigned>(planes), static_cast<unsigned>(runs));
  return true;
}

// This thread's pixel in its plane of a planeGrid launch (past the plane's end for the last run's
// spare threads: the kernel checks).
__device__ inline size_t planePixel() {
  return static_cast<size_t>(blockIdx.y) * blockDim.x + threadIdx.x;
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
