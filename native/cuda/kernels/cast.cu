// float32 <-> bfloat16 conversions with alexnet/bfloat16.hpp's functions themselves (round to
// nearest even, NaN kept quiet), so a tensor converted here equals one converted on the CPU or the
// host, bit for bit.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "alexnet/bfloat16.hpp"

namespace alexnet::cuda::kernels {

namespace {

__global__ void castToBFloat16Kernel(size_t count, const float* x, BFloat16* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = toBf16(x[i]);
}

__global__ void castToFloat32Kernel(size_t count, const BFloat16* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = toFloat(x[i]);
}

}  // namespace

void castToBFloat16(size_t count, const float* x, BFloat16* y, cudaStream_t stream) {
  if (count == 0) return;
  castToBFloat16Kernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, y);
  checkLaunch("castToBFloat16Kernel");
}

void castToFloat32(size_t count, const BFloat16* x, float* y, cudaStream_t stream) {
  if (count == 0) return;
  castToFloat32Kernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, y);
  checkLaunch("castToFloat32Kernel");
}

}  // namespace alexnet::cuda::kernels
