// Cross-channel LRN kernels: for float32 where cuDNN's LRN rejects the parameters (window wider
// than 16 channels, k < 1e-5, beta < 0.01); for bfloat16 and float16 always (float32 arithmetic on exactly
// widened values, one rounding of each output, the contract's rule for bfloat16). The per-element
// math is in lrn_element.hpp.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/lrn_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

template <class T>
__global__ void lrnForwardKernel(size_t count, LrnShape s, const T* x, T* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    y[i] = storeElement<T>(lrnForwardElement(s, i, x));
}

template <class T>
__global__ void lrnBackwardKernel(size_t count, LrnShape s, const T* dy, const T* x, const T* y,
                                  T* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dx[i] = storeElement<T>(lrnBackwardElement(s, i, dy, x, y));
}

size_t elements(const LrnGeometry& g) { return static_cast<size_t>(g.n) * g.c * g.h * g.w; }

template <class T>
void launchLrnForward(const LrnGeometry& g, const T* x, T* y, cudaStream_t stream) {
  const size_t count = elements(g);
  if (count == 0) return;
  lrnForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, lrnShapeOf(g), x, y);
  checkLaunch("lrnForwardKernel");
}

template <class T>
void launchLrnBackward(const LrnGeometry& g, const T* dy, const T* x, const T* y, T* dx,
                       cudaStream_t stream) {
  const size_t count = elements(g);
  if (count == 0) return;
  lrnBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, lrnShapeOf(g), dy, x, y, dx);
  checkLaunch("lrnBackwardKernel");
}

}  // namespace

void lrnForward(const LrnGeometry& g, const float* x, float* y, cudaStream_t stream) {
  launchLrnForward(g, x, y, stream);
}
void lrnBackward(const LrnGeometry& g, const float* dy, const float* x, const float* y, float* dx,
                 cudaStream_t stream) {
  launchLrnBackward(g, dy, x, y, dx, stream);
}
void lrnForward(const LrnGeometry& g, const BFloat16* x, BFloat16* y, cudaStream_t stream) {
  launchLrnForward(g, x, y, stream);
}
void lrnBackward(const LrnGeometry& g, const BFloat16* dy, const BFloat16* x, const BFloat16* y,
                 BFloat16* dx, cudaStream_t stream) {
  launchLrnBackward(g, dy, x, y, dx, stream);
}
void lrnForward(const LrnGeometry& g, const Float16* x, Float16* y, cudaStream_t stream) {
  launchLrnForward(g, x, y, stream);
}
void lrnBackward(const LrnGeometry& g, const Float16* dy, const Float16* x, const Float16* y,
                 Float16* dx, cudaStream_t stream) {
  launchLrnBackward(g, dy, x, y, dx, stream);
}

}  // namespace alexnet::cuda::kernels
