// Backend::cropImages on the GPU (paper section 4.1): raw 8-bit images and per-row crop
// parameters in, float NCHW network input out; the element math is augment_element.hpp.
// Grid: x over output pixels, y = channel, z over output rows (grid-stride beyond 65535).
#include "kernels/augment_element.hpp"
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void cropImagesKernel(CropGeometry g, const uint8_t* src, const float* params,
                                 const float* mean, float* out) {
  const int c = blockIdx.y;
  const int rows = g.images * g.crops;
  const int pixels = g.outH * g.outW;
  for (int r = blockIdx.z; r < rows; r += gridDim.z) {
    // Every thread of the block reads the same row of params: one broadcast load.
    const CropRow row = readCropRow(g, params, r);
    float* o = out + (static_cast<size_t>(r) * g.channels + c) * pixels;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < pixels; i += gridDim.x * blockDim.x)
      o[i] = cropElement(g, row, r, c, i, src, mean);
  }
}

}  // namespace

void cropImages(const CropGeometry& g, const uint8_t* src, const float* params, const float* mean,
                float* out, cudaStream_t stream) {
  const unsigned rows = static_cast<unsigned>(g.images) * static_cast<unsigned>(g.crops);
  if (rows == 0) return;
  const unsigned pixels = static_cast<unsigned>(g.outH) * static_cast<unsigned>(g.outW);
  const dim3 grid((pixels + kThreads - 1) / kThreads, g.channels, rows < 65535u ? rows : 65535u);
  cropImagesKernel<<<grid, kThreads, 0, stream>>>(g, src, params, mean, out);
  checkLaunch("cropImagesKernel");
}

}  // namespace alexnet::cuda::kernels
