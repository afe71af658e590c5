// tanh forward and backward.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void tanhForwardKernel(size_t count, const float* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = tanhf(x[i]);
}

// From the output alone: tanh'(x) = 1 - tanh(x)^2.
__global__ void tanhBackwardKernel(size_t count, const float* dy, const float* y, float* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) {
    const float v = y[i];
    dx[i] = dy[i] * (1.0f - v * v);
  }
}

}  // namespace

void tanhForward(size_t count, const float* x, float* y, cudaStream_t stream) {
  if (count == 0) return;
  tanhForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, y);
  checkLaunch("tanhForwardKernel");
}

void tanhBackward(size_t count, const float* dy, const float* y, float* dx, cudaStream_t stream) {
  if (count == 0) return;
  tanhBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, dy, y, dx);
  checkLaunch("tanhBackwardKernel");
}

}  // namespace alexnet::cuda::kernels
