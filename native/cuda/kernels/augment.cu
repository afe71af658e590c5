// Training-time augmentation on the device (paper section 4.1); the formulas and the random draws
// are specified in ../augment.hpp and implemented in augment_element.hpp.
// Grid: x over output pixels, y = channel, z = image.
#include "kernels/augment_element.hpp"
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void augmentKernel(AugmentParams p, const uint8_t* src, float* dst) {
  // One thread per block draws the image's crop, flip and colour offset (double-precision normals)
  // so that they are computed once per block rather than once per pixel.
  __shared__ ImageDraw draw;
  const int b = blockIdx.z, c = blockIdx.y;
  if (threadIdx.x == 0) draw = drawImage(p, b);
  __syncthreads();
  const int outPixels = p.outH * p.outW;
  float* out = dst + (static_cast<size_t>(b) * p.channels + c) * outPixels;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < outPixels; i += gridDim.x * blockDim.x)
    out[i] = augmentPixel(p, draw, b, c, i, src);
}

}  // namespace

void augmentBatch(const AugmentParams& p, const uint8_t* src, float* dst, cudaStream_t stream) {
  if (p.n == 0) return;
  const unsigned outPixels = static_cast<unsigned>(p.outH) * static_cast<unsigned>(p.outW);
  const dim3 grid((outPixels + kThreads - 1) / kThreads, p.channels, p.n);
  augmentKernel<<<grid, kThreads, 0, stream>>>(p, src, dst);
  checkLaunch("augmentKernel");
}

}  // namespace alexnet::cuda::kernels
