// Gaussian initialisation with the counter-based normal every backend draws identically.
#include "alexnet/random.hpp"
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void normalInitKernel(size_t count, float mean, float std, uint64_t seed, uint64_t offset,
                                 float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) {
    // Rounded multiply then add (no FMA contraction), as a plain CPU loop computes it.
    y[i] = __fadd_rn(mean, __fmul_rn(std, counterNormal(seed, offset + i)));
  }
}

}  // namespace

void normalInit(size_t count, float mean, float std, uint64_t seed, uint64_t offset, float* y,
                cudaStream_t stream) {
  if (count == 0) return;
  normalInitKernel<<<gridFor(count), kThreads, 0, stream>>>(count, mean, std, seed, offset, y);
  checkLaunch("normalInitKernel");
}

}  // namespace alexnet::cuda::kernels
