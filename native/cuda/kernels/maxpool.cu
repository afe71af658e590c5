// Max-pooling backward with the contract's tie rule (maxpool_element.hpp). cuDNN does not document
// which of several tied maxima receives the gradient, so this gathers per input instead:
// deterministic, no atomics. The forward pass is cuDNN's.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/maxpool_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

__global__ void maxPoolBackwardKernel(size_t count, PoolGeometry g, const float* dy,
                                      const float* x, const float* y, float* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dx[i] = maxPoolInputGrad(g, i, dy, x, y);
}

}  // namespace

void maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x, const float* y,
                     float* dx, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.h * g.w;
  if (count == 0) return;
  maxPoolBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, g, dy, x, y, dx);
  checkLaunch("maxPoolBackwardKernel");
}

}  // namespace alexnet::cuda::kernels
