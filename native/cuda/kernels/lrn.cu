// Cross-channel LRN for what cuDNN's LRN rejects (window wider than 16 channels, k < 1e-5,
// beta < 0.01). The per-element math is in lrn_element.hpp.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/lrn_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

__global__ void lrnForwardKernel(size_t count, LrnShape s, const float* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = lrnForwardElement(s, i, x);
}

__global__ void lrnBackwardKernel(size_t count, LrnShape s, const float* dy, const float* x,
                                  const float* y, float* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dx[i] = lrnBackwardElement(s, i, dy, x, y);
}

}  // namespace

void lrnForwardFallback(const LrnGeometry& g, const float* x, float* y, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.h * g.w;
  if (count == 0) return;
  lrnForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, lrnShapeOf(g), x, y);
  checkLaunch("lrnForwardKernel");
}

void lrnBackwardFallback(const LrnGeometry& g, const float* dy, const float* x, const float* y,
                         float* dx, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.h * g.w;
  if (count == 0) return;
  lrnBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, lrnShapeOf(g), dy, x, y, dx);
  checkLaunch("lrnBackwardKernel");
}

}  // namespace alexnet::cuda::kernels
