// Max pooling, both directions, with the CPU backend's rule for ties and NaN
// (maxpool_element.hpp). Not cuDNN: its pooling documents neither which of several tied maxima
// gets the gradient nor, with NaN, which element is the maximum, and the contract fixes both.
// The backward gathers per input: deterministic, no atomics.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/maxpool_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

__global__ void maxPoolForwardKernel(size_t count, PoolGeometry g, const float* x, float* y) {
  for (size_t o = globalIndex(); o < count; o += globalStride()) y[o] = maxPoolOutput(g, o, x);
}

__global__ void maxPoolBackwardKernel(size_t count, PoolGeometry g, const float* dy,
                                      const float* x, float* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dx[i] = maxPoolInputGrad(g, i, dy, x);
}

}  // namespace

void maxPoolForward(const PoolGeometry& g, const float* x, float* y, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.outH * g.outW;
  if (count == 0) return;
  maxPoolForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, g, x, y);
  checkLaunch("maxPoolForwardKernel");
}

void maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x, float* dx,
                     cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.h * g.w;
  if (count == 0) return;
  maxPoolBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, g, dy, x, dx);
  checkLaunch("maxPoolBackwardKernel");
}

}  // namespace alexnet::cuda::kernels
