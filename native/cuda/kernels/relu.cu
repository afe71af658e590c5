// ReLU forward and backward, for each activation type of the op table (relu_element.hpp).
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/relu_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

template <class T>
__global__ void reluForwardKernel(size_t count, const T* x, T* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = reluForwardElement(x[i]);
}

template <class T>
__global__ void reluBackwardKernel(size_t count, const T* dy, const T* y, T* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dx[i] = reluBackwardElement(dy[i], y[i]);
}

template <class T>
void launchReluForward(size_t count, const T* x, T* y, cudaStream_t stream) {
  if (count == 0) return;
  reluForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, y);
  checkLaunch("reluForwardKernel");
}

template <class T>
void launchReluBackward(size_t count, const T* dy, const T* y, T* dx, cudaStream_t stream) {
  if (count == 0) return;
  reluBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, dy, y, dx);
  checkLaunch("reluBackwardKernel");
}

}  // namespace

void reluForward(size_t count, const float* x, float* y, cudaStream_t stream) {
  launchReluForward(count, x, y, stream);
}
void reluBackward(size_t count, const float* dy, const float* y, float* dx, cudaStream_t stream) {
  launchReluBackward(count, dy, y, dx, stream);
}
void reluForward(size_t count, const BFloat16* x, BFloat16* y, cudaStream_t stream) {
  launchReluForward(count, x, y, stream);
}
void reluBackward(size_t count, const BFloat16* dy, const BFloat16* y, BFloat16* dx,
                  cudaStream_t stream) {
  launchReluBackward(count, dy, y, dx, stream);
}
void reluForward(size_t count, const Float16* x, Float16* y, cudaStream_t stream) {
  launchReluForward(count, x, y, stream);
}
void reluBackward(size_t count, const Float16* dy, const Float16* y, Float16* dx,
                  cudaStream_t stream) {
  launchReluBackward(count, dy, y, dx, stream);
}

}  // namespace alexnet::cuda::kernels
