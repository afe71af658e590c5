// The paper's update rule (section 5), in one pass over w, v and g; the same bits as the CPU's.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/update_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

__global__ void sgdStepKernel(size_t count, float lr, float momentum, float decayLr, float* w,
                              float* v, const float* g) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) {
    // Rounded as the CPU rounds it, bit for bit (update_element.hpp).
    float wi = w[i], vi = v[i];
    sgdElement(lr, momentum, decayLr, wi, vi, g[i]);
    v[i] = vi;
    w[i] = wi;
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
