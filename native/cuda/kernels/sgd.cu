// The paper's update rule (section 5), fused into one pass over w, v and g.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void sgdStepKernel(size_t count, float lr, float momentum, float decayLr, float* w,
                              float* v, const float* g) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) {
    // v <- momentum * v - weightDecay * lr * w - lr * g;  w <- w + v (with the new v).
    const float vi = momentum * v[i] - decayLr * w[i] - lr * g[i];
    v[i] = vi;
    w[i] = w[i] + vi;
  }
}

}  // namespace

void sgdStep(size_t count, float lr, float momentum, float weightDecay, float* w, float* v,
             const float* g, cudaStream_t stream) {
  if (count == 0) return;
  sgdStepKernel<<<gridFor(count), kThreads, 0, stream>>>(count, lr, momentum, weightDecay * lr, w,
                                                          v, g);
  checkLaunch("sgdStepKernel");
}

}  // namespace alexnet::cuda::kernels
