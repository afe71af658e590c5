// float32 <-> bfloat16 conversions: the same bit arithmetic as alexnet/bfloat16.hpp (round to
// nearest even, NaN kept quiet), so a tensor converted here equals one converted on the CPU or the
// host, bit for bit.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__device__ __forceinline__ uint16_t bf16Bits(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

__global__ void castToBFloat16Kernel(size_t count, const float* x, uint16_t* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = bf16Bits(x[i]);
}

__global__ void castToFloat32Kernel(size_t count, const uint16_t* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    y[i] = __uint_as_float(static_cast<uint32_t>(x[i]) << 16);
}

}  // namespace

void castToBFloat16(size_t count, const float* x, BFloat16* y, cudaStream_t stream) {
  if (count == 0) return;
  castToBFloat16Kernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, reinterpret_cast<uint16_t*>(y));
  checkLaunch("castToBFloat16Kernel");
}

void castToFloat32(size_t count, const BFloat16* x, float* y, cudaStream_t stream) {
  if (count == 0) return;
  castToFloat32Kernel<<<gridFor(count), kThreads, 0, stream>>>(count, reinterpret_cast<const uint16_t*>(x), y);
  checkLaunch("castToFloat32Kernel");
}

}  // namespace alexnet::cuda::kernels
