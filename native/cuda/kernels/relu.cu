// ReLU forward and backward.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void reluForwardKernel(size_t count, const float* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = x[i] < 0.0f ? 0.0f : x[i];  // NaN passes through, as on the CPU
}

// The gradient passes where the output is positive (the contract decides by y, not x).
__global__ void reluBackwardKernel(size_t count, const float* dy, const float* y, float* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace

void reluForward(size_t count, const float* x, float* y, cudaStream_t stream) {
  if (count == 0) return;
  reluForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, y);
  checkLaunch("reluForwardKernel");
}

void reluBackward(size_t count, const float* dy, const float* y, float* dx, cudaStream_t stream) {
  if (count == 0) return;
  reluBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, dy, y, dx);
  checkLaunch("reluBackwardKernel");
}

}  // namespace alexnet::cuda::kernels
