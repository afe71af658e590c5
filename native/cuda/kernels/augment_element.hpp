// Per-image draws and per-pixel values of the device augmentation (augment.cu; formulas in
// ../augment.hpp). Callable from host code too, so a CPU pipeline can reproduce a batch exactly
// (compile it with -ffp-contract=off) and tests can check it without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alexnet/random.hpp"
#include "augment.hpp"

namespace alexnet::cuda::kernels {

// Separately rounded float operations: no fused multiply-add on either side.
ALEXNET_HOST_DEVICE inline float mulRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
ALEXNET_HOST_DEVICE inline float addRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

struct ImageDraw {
  int cropY, cropX;
  bool flip;
  float offset[4];
};

// offset = P * (alpha . lambda), P with eigenvector k in column k, summed from k = 0 upwards.
ALEXNET_HOST_DEVICE inline void pcaOffset(int channels, const float* eigvec, const float* eigval,
                                          const float* alpha, float* offset) {
  for (int c = 0; c < channels; ++c) {
    float sum = 0.0f;
    for (int k = 0; k < channels; ++k)
      sum = addRn(sum, mulRn(eigvec[c * channels + k], mulRn(alpha[k], eigval[k])));
    offset[c] = sum;
  }
}

ALEXNET_HOST_DEVICE inline int randomCropStart(uint64_t seed, uint64_t counter, int range) {
  const double u = counterUniform(seed, counter);
  const int start = static_cast<int>(u * (range + 1));
  return start < range ? start : range;
}

ALEXNET_HOST_DEVICE inline ImageDraw drawImage(const AugmentParams& p, int b) {
  ImageDraw d{};
  const uint64_t base = 4ull * static_cast<uint64_t>(b);
  const int rangeY = p.srcH - p.outH, rangeX = p.srcW - p.outW;
  if (p.crop == CropMode::Random) {
    d.cropY = randomCropStart(p.seed, base + 0, rangeY);
    d.cropX = randomCropStart(p.seed, base + 1, rangeX);
  } else if (p.crop == CropMode::Centre) {
    d.cropY = rangeY / 2;
    d.cropX = rangeX / 2;
  } else {
    d.cropY = p.cropY;
    d.cropX = p.cropX;
  }
  d.flip = p.flip == FlipMode::All ||
           (p.flip == FlipMode::Random && counterUniform(p.seed, base + 2) < 0.5f);
  if (p.pcaStd != 0.0f) {
    float alpha[4];
    const uint64_t normalSeed = mix64(p.seed);
    for (int k = 0; k < p.channels; ++k)
      alpha[k] = mulRn(p.pcaStd, counterNormal(normalSeed, base + k));
    pcaOffset(p.channels, p.eigvec, p.eigval, alpha, d.offset);
  }
  return d;
}

// Output pixel i (= y * outW + x) of channel c of image b.
ALEXNET_HOST_DEVICE inline float augmentPixel(const AugmentParams& p, const ImageDraw& d, int b,
                                              int c, int i, const uint8_t* src) {
  const int oy = i / p.outW, ox = i % p.outW;
  const int sy = d.cropY + oy;
  const int sx = d.flip ? d.cropX + p.outW - 1 - ox : d.cropX + ox;
  const size_t srcPlane = static_cast<size_t>(p.srcH) * p.srcW;
  const size_t pixel = static_cast<size_t>(sy) * p.srcW + sx;
  const uint8_t byte = p.layout == ImageLayout::NHWC
                           ? src[(static_cast<size_t>(b) * srcPlane + pixel) * p.channels + c]
                           : src[(static_cast<size_t>(b) * p.channels + c) * srcPlane + pixel];
  float v = mulRn(p.inputScale, static_cast<float>(byte));
  if (p.mean == MeanMode::PerChannel) v = addRn(v, -p.meanData[c]);
  if (p.mean == MeanMode::PerPixel) v = addRn(v, -p.meanData[c * srcPlane + pixel]);
  return addRn(v, d.offset[c]);
}

}  // namespace alexnet::cuda::kernels
