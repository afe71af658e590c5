// Biases: the fully connected layers' broadcast add over rows and its gradient (a column sum), and
// for bfloat16 and float16 convolutions the add over the channels of NCHW and its gradient (a per-channel sum).
// Biases and their gradients are float32 for every activation type: the add is done in float32 on
// the widened activation and rounded once to it, and the gradient sums widened values in float32.
#include "kernels/element.hpp"
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/plane_walk.hpp"

namespace alexnet::cuda::kernels {

namespace {

// y[i] = acc[i] + bias[column]; acc may be y itself (float32, in place).
template <class T>
__global__ void biasAddRowsKernel(size_t count, int out, const float* bias, const float* acc,
                                  T* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    y[i] = storeElement<T>(acc[i] + bias[i % out]);
}

// One thread per column: neighbouring threads read neighbouring addresses, and each sum runs over
// the rows in order, so db is deterministic.
template <class T>
__global__ void biasGradRowsKernel(int n, int out, const T* dy, float* db) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= out) return;
  float sum = 0.0f;
  for (int r = 0; r < n; ++r) sum += loadElement(dy[static_cast<size_t>(r) * out + j]);
  db[j] = sum;
}

// NCHW, in place: element i is in channel (i / plane) % channels.
template <class T>
__global__ void biasAddChannelsKernel(size_t count, int channels, size_t plane, const float* bias,
                                      T* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    y[i] = storeElement<T>(loadElement(y[i]) + bias[(i / plane) % channels]);
}

// The same on a plane grid (launch.cuh): the channel is one 32-bit remainder per thread.
template <class T>
__global__ void biasAddPlanesKernel(int channels, size_t plane, const float* bias, T* y) {
  const size_t pixel = planePixel();
  if (pixel >= plane) return;
  const size_t i = static_cast<size_t>(blockIdx.x) * plane + pixel;
  y[i] = storeElement<T>(loadElement(y[i]) + bias[blockIdx.x % static_cast<unsigned>(channels)]);
}

// One block per channel; its threads stride over the channel's n * plane elements and the block
// reduces their sums in a fixed order, so db is deterministic.
template <class T>
__global__ void biasGradChannelsKernel(int n, int channels, size_t plane, const T* dy, float* db) {
  __shared__ float shared[kThreads / 32];
  const int c = blockIdx.x;
  const size_t perChannel = static_cast<size_t>(n) * plane;
  float sum = 0.0f;
  // k = image * plane + at, walked without dividing: the same elements in the same order.
  PlaneWalk walk(plane, threadIdx.x, blockDim.x);
  for (size_t k = threadIdx.x; k < perChannel; k += blockDim.x, walk.next())
    sum += loadElement(dy[(walk.image * channels + c) * plane + walk.at]);
  sum = blockReduce(sum, SumOp{}, shared);
  if (threadIdx.x == 0) db[c] = sum;
}

template <class T>
void launchBiasAddRows(int n, int out, const float* bias, const float* acc, T* y,
                       cudaStream_t stream) {
  const size_t count = static_cast<size_t>(n) * out;
  if (count == 0) return;
  biasAddRowsKernel<<<gridFor(count), kThreads, 0, stream>>>(count, out, bias, acc, y);
  checkLaunch("biasAddRowsKernel");
}

template <class T>
void launchBiasGradRows(int n, int out, const T* dy, float* db, cudaStream_t stream) {
  if (out <= 0) return;
  biasGradRowsKernel<<<(out + kThreads - 1) / kThreads, kThreads, 0, stream>>>(n, out, dy, db);
  checkLaunch("biasGradRowsKernel");
}

template <class T>
void launchBiasAddChannels(int n, int channels, size_t plane, const float* bias, T* y,
                           cudaStream_t stream) {
  const size_t count = static_cast<size_t>(n) * channels * plane;
  if (count == 0) return;
  dim3 grid;
  if (planeGrid(static_cast<unsigned long long>(n) * channels, plane, grid)) {
    biasAddPlanesKernel<<<grid, kThreads, 0, stream>>>(channels, plane, bias, y);
    checkLaunch("biasAddPlanesKernel");
    return;
  }
  biasAddChannelsKernel<<<gridFor(count), kThreads, 0, stream>>>(count, channels, plane, bias, y);
  checkLaunch("biasAddChannelsKernel");
}

template <class T>
void launchBiasGradChannels(int n, int channels, size_t plane, const T* dy, float* db,
                            cudaStream_t stream) {
  if (channels <= 0) return;
  biasGradChannelsKernel<<<static_cast<unsigned>(channels), kThreads, 0, stream>>>(n, channels,
                                                                                 plane, dy, db);
  checkLaunch("biasGradChannelsKernel");
}

}  // namespace

void biasAddRows(int n, int out, const float* bias, float* y, cudaStream_t stream) {
  launchBiasAddRows(n, out, bias, y, y, stream);
}
void biasAddRows(int n, int out, const float* bias, const float* acc, BFloat16* y,
                 cudaStream_t stream) {
  launchBiasAddRows(n, out, bias, acc, y, stream);
}

void biasGradRows(int n, int out, const float* dy, float* db, cudaStream_t stream) {
  launchBiasGradRows(n, out, dy, db, stream);
}
void biasGradRows(int n, int out, const BFloat16* dy, float* db, cudaStream_t stream) {
  launchBiasGradRows(n, out, dy, db, stream);
}
void biasAddRows(int n, int out, const float* bias, const float* acc, Float16* y,
                 cudaStream_t stream) {
  launchBiasAddRows(n, out, bias, acc, y, stream);
}
void biasGradRows(int n, int out, const Float16* dy, float* db, cudaStream_t stream) {
  launchBiasGradRows(n, out, dy, db, stream);
}

void biasAddChannels(int n, int channels, size_t plane, const float* bias, BFloat16* y,
                     cudaStream_t stream) {
  launchBiasAddChannels(n, channels, plane, bias, y, stream);
}
void biasAddChannels(int n, int channels, size_t plane, const float* bias, Float16* y,
                     cudaStream_t stream) {
  launchBiasAddChannels(n, channels, plane, bias, y, stream);
}

void biasGradChannels(int n, int channels, size_t plane, const BFloat16* dy, float* db,
                      cudaStream_t stream) {
  launchBiasGradChannels(n, channels, plane, dy, db, stream);
}
void biasGradChannels(int n, int channels, size_t plane, const Float16* dy, float* db,
                      cudaStream_t stream) {
  launchBiasGradChannels(n, channels, plane, dy, db, stream);
}

}  // namespace alexnet::cuda::kernels
