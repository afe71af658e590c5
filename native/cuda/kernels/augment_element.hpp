// Per-row parameters and per-element values of the device crop (augment.cu; the op is
// Backend::cropImages, the formula alexnet/crop.hpp). Callable from host code too, so tests check
// the element math against the host crop without a GPU (compile them with -ffp-contract=off).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "alexnet/backend.hpp"
#include "alexnet/crop.hpp"

namespace alexnet::cuda::kernels {

// One output row's window and colour offset, read from its params row [top, left, flip, offset[C]].
struct CropRow {
  bool valid;  // false: the window is not inside the image (the row becomes NaN)
  CropWindow window;
  float offset[4];
};

ALEXNET_HOST_DEVICE inline CropRow readCropRow(const CropGeometry& g, const float* params, int row) {
  const float* p = params + static_cast<size_t>(row) * (3 + g.channels);
  CropRow r{};
  r.valid = cropWindowValid(p[0], p[1], p[2], g.outH, g.outW, g.srcH, g.srcW);
  if (r.valid) r.window = CropWindow{static_cast<int>(p[0]), static_cast<int>(p[1]), p[2] != 0.0f};
  for (int c = 0; c < g.channels && c < 4; ++c) r.offset[c] = p[3 + c];
  return r;
}

ALEXNET_HOST_DEVICE inline float quietNaN() {
#if defined(__CUDA_ARCH__)
  return __int_as_float(0x7fc00000);
#else
  return std::numeric_limits<float>::quiet_NaN();
#endif
}

// Output element i (= y * outW + x) of channel c of row `row`.
ALEXNET_HOST_DEVICE inline float cropElement(const CropGeometry& g, const CropRow& r, int row, int c, int i,
                                             const uint8_t* src, const float* mean) {
  if (!r.valid) return quietNaN();
  const int y = i / g.outW, x = i % g.outW;
  const int sy = r.window.y + y;
  const int sx = r.window.flip ? r.window.x + g.outW - 1 - x : r.window.x + x;
  const size_t pixel = static_cast<size_t>(sy) * g.srcW + sx;
  const size_t image = static_cast<size_t>(row / g.crops);
  const uint8_t byte = src[(image * g.srcH * g.srcW + pixel) * g.channels + c];
  const float m = g.mean == MeanMode::PerChannel ? mean[c]
                  : g.mean == MeanMode::PerPixel ? mean[static_cast<size_t>(c) * g.srcH * g.srcW + pixel]
                                                 : 0.0f;
  return cropValue(g.scale, byte, m, r.offset[c]);
}

}  // namespace alexnet::cuda::kernels
