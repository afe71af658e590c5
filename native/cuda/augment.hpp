// Data augmentation on the GPU (paper section 4.1): uint8 images in, float NCHW network input out.
// Plain C++ types only, so the core can include this without the CUDA headers.
//
// For every image b, channel c and output pixel (y, x):
//   sy = cropY_b + y,  sx = flip_b ? cropX_b + outW - 1 - x : cropX_b + x
//   out[b, c, y, x] = (inputScale * src[b, c, sy, sx] - mean(c, sy, sx)) + offset_b[c]
// computed in float with each product and sum rounded separately (no fused multiply-add), so a CPU
// loop in the same order gives the same bits. The mean image is indexed at the source pixel, i.e.
// it is subtracted before the crop, as the paper subtracts it from the 256x256 image.
//
// Random draws are counter-based (alexnet/random.hpp) and documented here so that a CPU pipeline
// can reproduce a batch exactly:
//   cropY_b = min(floor(counterUniform(seed, 4b + 0) * (srcH - outH + 1)), srcH - outH)   (double)
//   cropX_b = min(floor(counterUniform(seed, 4b + 1) * (srcW - outW + 1)), srcW - outW)
//   flip_b  = counterUniform(seed, 4b + 2) < 0.5
//   alpha_bk = pcaStd * counterNormal(mix64(seed), 4b + k)                 k = 0 .. channels-1
//   offset_b[c] = sum over k = 0.. of eigvec[c * channels + k] * (alpha_bk * eigval[k])
//                 (accumulated from k = 0 upwards, starting at 0)
// eigvec holds eigenvector k in column k (row-major channels x channels), as the oracle's
// `eigvecs`; eigval holds lambda itself (the paper's formula, not sqrt(lambda)), in the units of
// inputScale * pixel.
#pragma once

#include <cstdint>

namespace alexnet::cuda {

enum class ImageLayout : int32_t { NHWC = 0, NCHW = 1 };
enum class CropMode : int32_t { Random = 0, Centre = 1, Fixed = 2 };
enum class FlipMode : int32_t { None = 0, Random = 1, All = 2 };
enum class MeanMode : int32_t { None = 0, PerChannel = 1, PerPixel = 2 };

struct AugmentParams {
  int32_t n = 0;            // images in the batch (at most 65535)
  int32_t channels = 3;     // 1 to 4
  int32_t srcH = 0, srcW = 0;
  ImageLayout layout = ImageLayout::NHWC;  // of the uint8 source batch
  int32_t outH = 0, outW = 0;              // crop size, at most the source size
  CropMode crop = CropMode::Random;
  int32_t cropY = 0, cropX = 0;            // CropMode::Fixed: top-left corner for every image
  FlipMode flip = FlipMode::Random;
  float inputScale = 1.0f;                 // e.g. 1/255 for inputs in [0, 1]
  MeanMode mean = MeanMode::None;
  const float* meanData = nullptr;         // device memory: [channels] or [channels, srcH, srcW]
  float pcaStd = 0.0f;                     // standard deviation of alpha (paper: 0.1); 0 = off
  float eigvec[16] = {};                   // [channels x channels], eigenvector k in column k
  float eigval[4] = {};
  uint64_t seed = 0;
};

// Test-time ten-crop (section 4.1, "Test"): call with CropMode::Fixed at the four corners and the
// centre, each with FlipMode::None and FlipMode::All, and average the softmax outputs.

}  // namespace alexnet::cuda
