// Level-1 vector ops: fill, axpy, scale; the same bits as the CPU's (update_element.hpp).
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/update_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

__global__ void fillKernel(size_t count, float value, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = value;
}

__global__ void axpyKernel(size_t count, float alpha, const float* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = axpyElement(alpha, x[i], y[i]);
}

__global__ void scaleKernel(size_t count, float alpha, const float* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = scaleElement(alpha, x[i]);
}

}  // namespace

void fill(size_t count, float value, float* y, cudaStream_t stream) {
  if (count == 0) return;
  fillKernel<<<gridFor(count), kThreads, 0, stream>>>(count, value, y);
  checkLaunch("fillKernel");
}

void axpy(size_t count, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (count == 0) return;
  axpyKernel<<<gridFor(count), kThreads, 0, stream>>>(count, alpha, x, y);
  checkLaunch("axpyKernel");
}

void scale(size_t count, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (count == 0) return;
  scaleKernel<<<gridFor(count), kThreads, 0, stream>>>(count, alpha, x, y);
  checkLaunch("scaleKernel");
}

}  // namespace alexnet::cuda::kernels
