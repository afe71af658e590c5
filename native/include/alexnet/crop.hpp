// The input crop of paper section 4.1, written once for every implementation: the data pipeline's
// host path (native/data/augment.cpp), the CPU backend's cropImages (native/cpu/crop.cpp) and the
// CUDA kernel (native/cuda/kernels/augment.cu). For a prepared 8-bit image (HWC) and one window:
//   out[c, y, x] = (scale * src[sy, sx, c] - mean(c, sy, sx)) + offset[c]
//   sy = top + y,  sx = flip ? left + w - 1 - x : left + x
// rounded in float after each operation, never fused (host code is compiled with
// -ffp-contract=off, the device uses __fmul_rn / __fsub_rn / __fadd_rn), so every implementation
// gives the same bits. The mean is indexed at the source pixel: it is the mean of the whole
// prepared images, subtracted before cropping as in the paper.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE

namespace alexnet {

// What is subtracted: nothing, one value per channel [C], or the mean image [C, height, width].
enum class MeanMode : int32_t { None = 0, PerChannel = 1, PerPixel = 2 };

// Top-left corner of a crop in its source image, and whether the crop is mirrored.
struct CropWindow {
  int y = 0, x = 0;
  bool flip = false;
};

// One output value. `mean` is 0 when nothing is subtracted, `offset` 0 without colour noise: both
// operations still happen, so a zero never changes the rounding between implementations.
ALEXNET_HOST_DEVICE inline float cropValue(float scale, uint8_t pixel, float mean, float offset) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(__fsub_rn(__fmul_rn(scale, static_cast<float>(pixel)), mean), offset);
#else
  const float scaled = scale * static_cast<float>(pixel);
  const float centred = scaled - mean;
  return centred + offset;
#endif
}

// Whether a window given as floats (the device crop's parameter rows) is whole pixels inside an
// image of srcH x srcW with a flip of exactly 0 or 1. NaN fails every comparison.
ALEXNET_HOST_DEVICE inline bool cropWindowValid(float top, float left, float flip, int outH, int outW,
                                                int srcH, int srcW) {
  if (!(top >= 0.0f && top <= static_cast<float>(srcH - outH))) return false;
  if (!(left >= 0.0f && left <= static_cast<float>(srcW - outW))) return false;
  if (static_cast<float>(static_cast<int>(top)) != top) return false;
  if (static_cast<float>(static_cast<int>(left)) != left) return false;
  return flip == 0.0f || flip == 1.0f;
}

namespace detail {
// Row by row, all channels at once: the source row is read once, contiguously, in the direction of
// the flip; the per-pixel mean rows are read at the same source columns.
template <int C>
inline void cropImageRows(const uint8_t* src, int srcH, int srcW, float scale, MeanMode meanMode,
                          const float* mean, const float* offset, CropWindow win, int h, int w,
                          float* out) {
  const size_t plane = static_cast<size_t>(srcH) * srcW;
  float off[C], meanConst[C];
  for (int c = 0; c < C; ++c) {
    off[c] = offset ? offset[c] : 0.0f;
    meanConst[c] = meanMode == MeanMode::PerChannel ? mean[c] : 0.0f;
  }
  const int step = win.flip ? -1 : 1;
  const int x0 = win.flip ? win.x + w - 1 : win.x;  // source column of output column 0
  for (int y = 0; y < h; ++y) {
    const int sy = win.y + y;
    const uint8_t* row = src + (static_cast<size_t>(sy) * srcW + x0) * C;
    float* o[C];
    for (int c = 0; c < C; ++c) o[c] = out + (static_cast<size_t>(c) * h + y) * w;
    if (meanMode == MeanMode::PerPixel) {
      const float* m = mean + static_cast<size_t>(sy) * srcW + x0;
      for (int x = 0; x < w; ++x) {
        const ptrdiff_t s = static_cast<ptrdiff_t>(x) * step;
        for (int c = 0; c < C; ++c) o[c][x] = cropValue(scale, row[s * C + c], m[c * plane + s], off[c]);
      }
    } else {
      for (int x = 0; x < w; ++x) {
        const ptrdiff_t s = static_cast<ptrdiff_t>(x) * step;
        for (int c = 0; c < C; ++c) o[c][x] = cropValue(scale, row[s * C + c], meanConst[c], off[c]);
      }
    }
  }
}
}  // namespace detail

// Writes one [channels, h, w] float crop of the srcH x srcW x channels image `src` (channels 1 to
// 4) to `out`. `mean` is [channels] or [channels, srcH, srcW] as meanMode says (unused for None);
// `offset` is [channels] or null (no colour offset). The window must lie inside the image.
inline void cropImage(const uint8_t* src, int srcH, int srcW, int channels, float scale,
                      MeanMode meanMode, const float* mean, const float* offset, CropWindow window,
                      int h, int w, float* out) {
  switch (channels) {
    case 1: return detail::cropImageRows<1>(src, srcH, srcW, scale, meanMode, mean, offset, window, h, w, out);
    case 2: return detail::cropImageRows<2>(src, srcH, srcW, scale, meanMode, mean, offset, window, h, w, out);
    case 3: return detail::cropImageRows<3>(src, srcH, srcW, scale, meanMode, mean, offset, window, h, w, out);
    default: return detail::cropImageRows<4>(src, srcH, srcW, scale, meanMode, mean, offset, window, h, w, out);
  }
}

}  // namespace alexnet
