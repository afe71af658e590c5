// Max pooling, both directions, with the CPU backend's rule for ties and NaN
// (maxpool_element.hpp), for each activation type of the op table. Not cuDNN: its pooling
// documents neither which of several tied maxima gets the gradient nor, with NaN, which element is
// the maximum, and the contract fixes both. The backward gathers per input: deterministic, no
// atomics. bfloat16 and float16: the maximum of widened values is one of them, so its rounding is exact; each
// input's gradient is summed in float32 and rounded once.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/maxpool_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

template <class T>
__global__ void maxPoolForwardKernel(size_t count, PoolGeometry g, const T* x, T* y) {
  for (size_t o = globalIndex(); o < count; o += globalStride())
    y[o] = storeElement<T>(maxPoolOutput(g, o, x));
}

template <class T>
__global__ void maxPoolBackwardKernel(size_t count, PoolGeometry g, const T* dy, const T* x,
                                      T* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dx[i] = storeElement<T>(maxPoolInputGrad(g, i, dy, x));
}

template <class T>
void launchMaxPoolForward(const PoolGeometry& g, const T* x, T* y, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.outH * g.outW;
  if (count == 0) return;
  maxPoolForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, g, x, y);
  checkLaunch("maxPoolForwardKernel");
}

template <class T>
void launchMaxPoolBackward(const PoolGeometry& g, const T* dy, const T* x, T* dx,
                           cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.h * g.w;
  if (count == 0) return;
  maxPoolBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, g, dy, x, dx);
  checkLaunch("maxPoolBackwardKernel");
}

}  // namespace

void maxPoolForward(const PoolGeometry& g, const float* x, float* y, cudaStream_t stream) {
  launchMaxPoolForward(g, x, y, stream);
}
void maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x, float* dx,
                     cudaStream_t stream) {
  launchMaxPoolBackward(g, dy, x, dx, stream);
}
void maxPoolForward(const PoolGeometry& g, const BFloat16* x, BFloat16* y, cudaStream_t stream) {
  launchMaxPoolForward(g, x, y, stream);
}
void maxPoolBackward(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x, BFloat16* dx,
                     cudaStream_t stream) {
  launchMaxPoolBackward(g, dy, x, dx, stream);
}
void maxPoolForward(const PoolGeometry& g, const Float16* x, Float16* y, cudaStream_t stream) {
  launchMaxPoolForward(g, x, y, stream);
}
void maxPoolBackward(const PoolGeometry& g, const Float16* dy, const Float16* x, Float16* dx,
                     cudaStream_t stream) {
  launchMaxPoolBackward(g, dy, x, dx, stream);
}

}  // namespace alexnet::cuda::kernels
