// Max pooling, both directions, with the CPU backend's rule for ties and NaN
// (maxpool_element.hpp), for each activation type of the op table. Not cuDNN: its pooling
// documents neither which of several tied maxima gets the gradient nor, with NaN, which element is
// the maximum, and the contract fixes both. The backward gathers per input: deterministic, no
// atomics.
//
// Where a plane's windows fit (at most kMaxPlaneWindows of them, each at most 256 elements), one
// block works on one (image, channel) plane with 32-bit indices: the backward first finds each
// window's argmax once, into shared memory, then gathers every input's gradient from it. The
// per-element kernels below (any geometry) instead find the argmax of up to four windows per input,
// nine loads each at AlexNet's pooling, with 64-bit divisions for every index. bfloat16 and float16: the maximum of widened values is one of them, so its rounding is exact; each
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

constexpr int kMaxPlaneWindows = 16384;  // bytes of shared memory for one plane's argmax positions

// Whether one block per plane can take this geometry (positions fit a byte, windows the shared
// memory, planes the grid, and a plane 32-bit indices).
bool planeKernelsFit(const PoolGeometry& g) {
  const long long planes = static_cast<long long>(g.n) * g.c;
  return g.kernelH * g.kernelW <= 256 && static_cast<long long>(g.outH) * g.outW <= kMaxPlaneWindows &&
         planes <= 0x7fffffffLL && static_cast<long long>(g.h) * g.w <= 0x7fffffffLL;
}

// Threads for a block that loops over `work` items of one plane: whole warps, at most kThreads.
unsigned planeThreads(long long work) {
  const long long warps = (work + 31) / 32;
  return static_cast<unsigned>(warps * 32 < kThreads ? warps * 32 : kThreads);
}

template <class T>
__global__ void maxPoolForwardPlaneKernel(PoolGeometry g, const T* x, T* y) {
  const int outCount = g.outH * g.outW;
  const T* xp = x + static_cast<size_t>(blockIdx.x) * g.h * g.w;
  T* yp = y + static_cast<size_t>(blockIdx.x) * outCount;
  for (int o = threadIdx.x; o < outCount; o += blockDim.x) {
    const int oh = o / g.outW, ow = o - oh * g.outW;
    yp[o] = storeElement<T>(maxPoolWindowMax(g, xp + oh * g.strideH * g.w + ow * g.strideW));
  }
}

template <class T>
__global__ void maxPoolBackwardPlaneKernel(PoolGeometry g, const T* dy, const T* x, T* dx) {
  extern __shared__ unsigned char args[];  // each window's argmax position, row-major
  const int outCount = g.outH * g.outW, inCount = g.h * g.w;
  const T* xp = x + static_cast<size_t>(blockIdx.x) * inCount;
  const T* dyp = dy + static_cast<size_t>(blockIdx.x) * outCount;
  T* dxp = dx + static_cast<size_t>(blockIdx.x) * inCount;
  for (int o = threadIdx.x; o < outCount; o += blockDim.x) {
    const int oh = o / g.outW, ow = o - oh * g.outW;
    args[o] = static_cast<unsigned char>(maxPoolWindowArg(g, xp + oh * g.strideH * g.w + ow * g.strideW));
  }
  __syncthreads();
  for (int i = threadIdx.x; i < inCount; i += blockDim.x) {
    const int ih = i / g.w, iw = i - ih * g.w;
    dxp[i] = storeElement<T>(maxPoolGatherGrad(g, args, dyp, ih, iw));
  }
}

template <class T>
void launchMaxPoolForward(const PoolGeometry& g, const T* x, T* y, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.outH * g.outW;
  if (count == 0) return;
  if (planeKernelsFit(g)) {
    maxPoolForwardPlaneKernel<<<static_cast<unsigned>(g.n * g.c), planeThreads(static_cast<long long>(g.outH) * g.outW), 0,
                                stream>>>(g, x, y);
    checkLaunch("maxPoolForwardPlaneKernel");
    return;
  }
  maxPoolForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, g, x, y);
  checkLaunch("maxPoolForwardKernel");
}

template <class T>
void launchMaxPoolBackward(const PoolGeometry& g, const T* dy, const T* x, T* dx,
                           cudaStream_t stream) {
  const size_t count = static_cast<size_t>(g.n) * g.c * g.h * g.w;
  if (count == 0) return;
  if (planeKernelsFit(g)) {
    const size_t shared = static_cast<size_t>(g.outH) * g.outW;
    maxPoolBackwardPlaneKernel<<<static_cast<unsigned>(g.n * g.c), planeThreads(static_cast<long long>(g.h) * g.w), shared,
                                 stream>>>(g, dy, x, dx);
    checkLaunch("maxPoolBackwardPlaneKernel");
    return;
  }
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
