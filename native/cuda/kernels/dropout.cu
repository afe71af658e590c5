// Inverted dropout with the counter-based mask every backend draws identically (random.hpp); the
// element is dropout_element.hpp.
#include "kernels/dropout_element.hpp"
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

template <class T>
__global__ void dropoutForwardKernel(size_t count, float p, float keepScale, uint64_t seed,
                                     uint64_t offset, size_t rowLength, uint64_t rowStride,
                                     const T* x, T* y, float* mask) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dropoutElement(i, p, keepScale, seed, offset, rowLength, rowStride, x, y, mask);
}

template <class T>
__global__ void dropoutBackwardKernel(size_t count, const T* dy, const float* mask, T* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) dx[i] = dropoutGradElement(dy[i], mask[i]);
}

template <class T>
void launchDropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                          uint64_t rowStride, const T* x, T* y, float* mask, cudaStream_t stream) {
  if (count == 0 || rowLength == 0) return;  // as the CPU: no element, no row to divide by
  // Computed once on the host, in float, as the CPU computes it: 1 / (1 - p) (p < 1 is checked by
  // the core; p = 1 would keep nothing anyway, since every draw is below 1).
  const float keepScale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  dropoutForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, p, keepScale, seed, offset, rowLength,
                                                                 rowStride, x, y, mask);
  checkLaunch("dropoutForwardKernel");
}

template <class T>
void launchDropoutBackward(size_t count, const T* dy, const float* mask, T* dx, cudaStream_t stream) {
  if (count == 0) return;
  dropoutBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, dy, mask, dx);
  checkLaunch("dropoutBackwardKernel");
}

}  // namespace

void dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength, uint64_t rowStride,
                    const float* x, float* y, float* mask, cudaStream_t stream) {
  launchDropoutForward(count, p, seed, offset, rowLength, rowStride, x, y, mask, stream);
}
void dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength, uint64_t rowStride,
                    const BFloat16* x, BFloat16* y, float* mask, cudaStream_t stream) {
  launchDropoutForward(count, p, seed, offset, rowLength, rowStride, x, y, mask, stream);
}
void dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength, uint64_t rowStride,
                    const Float16* x, Float16* y, float* mask, cudaStream_t stream) {
  launchDropoutForward(count, p, seed, offset, rowLength, rowStride, x, y, mask, stream);
}

void dropoutBackward(size_t count, const float* dy, const float* mask, float* dx, cudaStream_t stream) {
  launchDropoutBackward(count, dy, mask, dx, stream);
}
void dropoutBackward(size_t count, const BFloat16* dy, const float* mask, BFloat16* dx, cudaStream_t stream) {
  launchDropoutBackward(count, dy, mask, dx, stream);
}
void dropoutBackward(size_t count, const Float16* dy, const float* mask, Float16* dx, cudaStream_t stream) {
  launchDropoutBackward(count, dy, mask, dx, stream);
}

}  // namespace alexnet::cuda::kernels
