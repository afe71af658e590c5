// Mixed-precision support: float32 <-> float16 conversions with alexnet/float16.hpp's functions
// themselves (so a tensor converted here equals one converted on the CPU or the host, bit for bit),
// and the gradient unscaling of dynamic loss scaling.
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "alexnet/float16.hpp"

namespace alexnet::cuda::kernels {

namespace {

__global__ void castToFloat16Kernel(size_t count, const float* x, Float16* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = toF16(x[i]);
}

__global__ void castFloat16ToFloat32Kernel(size_t count, const Float16* x, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] = toFloat(x[i]);
}

// Every thread that meets a non-finite product stores the same 1.0f: the flag is only ever set,
// never cleared here, so concurrent stores agree and need no atomics. It stays in device memory
// until the caller reads it, once per step.
__global__ void unscaleGradientKernel(size_t count, float invScale, float* g, float* foundInf) {
  bool nonFinite = false;
  for (size_t i = globalIndex(); i < count; i += globalStride()) {
    const float v = __fmul_rn(g[i], invScale);
    g[i] = v;
    nonFinite |= !isfinite(v);
  }
  if (nonFinite) *foundInf = 1.0f;
}

}  // namespace

void castToFloat16(size_t count, const float* x, Float16* y, cudaStream_t stream) {
  if (count == 0) return;
  castToFloat16Kernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, y);
  checkLaunch("castToFloat16Kernel");
}

void castFloat16ToFloat32(size_t count, const Float16* x, float* y, cudaStream_t stream) {
  if (count == 0) return;
  castFloat16ToFloat32Kernel<<<gridFor(count), kThreads, 0, stream>>>(count, x, y);
  checkLaunch("castFloat16ToFloat32Kernel");
}

void unscaleGradient(size_t count, float invScale, float* g, float* foundInf, cudaStream_t stream) {
  if (count == 0) return;
  unscaleGradientKernel<<<gridFor(count), kThreads, 0, stream>>>(count, invScale, g, foundInf);
  checkLaunch("unscaleGradientKernel");
}

}  // namespace alexnet::cuda::kernels
