// cropImages: raw 8-bit images into network input (paper section 4.1), one OpenMP iteration per
// output row, each the shared host crop of alexnet/crop.hpp (the data pipeline's own loop), so the
// result equals the pipeline's float batches bit for bit.
#include <string>

#include "alexnet/crop.hpp"
#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

void CpuBackend::cropImages(const CropGeometry& g, const uint8_t* src, const float* params,
                            const float* mean, float* out) {
  using Index = long long;
  const Index rows = static_cast<Index>(g.images) * g.crops;
  const int stride = 3 + g.channels;
  // CPU "device" memory is host memory: every window is checked before anything is written.
  for (Index r = 0; r < rows; ++r) {
    const float* p = params + r * stride;
    if (!cropWindowValid(p[0], p[1], p[2], g.outH, g.outW, g.srcH, g.srcW))
      invalidArgument("params row " + std::to_string(r) + " (top " + std::to_string(p[0]) + ", left " +
                      std::to_string(p[1]) + ", flip " + std::to_string(p[2]) + ") is not a " +
                      std::to_string(g.outH) + "x" + std::to_string(g.outW) + " window inside the " +
                      std::to_string(g.srcH) + "x" + std::to_string(g.srcW) +
                      " image with whole-pixel corners and flip 0 or 1");
  }
  const size_t imageBytes = static_cast<size_t>(g.srcH) * g.srcW * g.channels;
  const size_t rowFloats = static_cast<size_t>(g.channels) * g.outH * g.outW;
#pragma omp parallel for schedule(static) if (rows > 1 && rowFloats * rows >= (1 << 15))
  for (Index r = 0; r < rows; ++r) {
    const float* p = params + r * stride;
    const CropWindow window{static_cast<int>(p[0]), static_cast<int>(p[1]), p[2] != 0.0f};
    cropImage(src + static_cast<size_t>(r / g.crops) * imageBytes, g.srcH, g.srcW, g.channels, g.scale,
              g.mean, mean, p + 3, window, g.outH, g.outW, out + static_cast<size_t>(r) * rowFloats);
  }
}

}  // namespace cpu
}  // namespace alexnet
