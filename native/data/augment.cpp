// Crops, flips, normalisation and the PCA colour offset.
#include "alexnet/data/augment.hpp"

#include <cstddef>

namespace alexnet::data {

namespace {
// Row by row, all channels at once: the source row is read once, contiguously, in the direction
// of the flip; the per-pixel mean rows are read at the same source columns.
template <int C>
void writeCropT(const ImageView& src, const Normalisation& norm, const float* offset, CropWindow win, int h,
                int w, float* out) {
  const int size = src.width;
  const float scale = norm.scale;
  const size_t plane = static_cast<size_t>(size) * size;
  float off[C], meanConst[C];
  for (int c = 0; c < C; ++c) {
    off[c] = offset ? offset[c] : 0.0f;
    meanConst[c] = norm.mean == MeanMode::PerChannel ? norm.meanData[c] : 0.0f;
  }
  const int step = win.flip ? -1 : 1;
  const int x0 = win.flip ? win.x + w - 1 : win.x;  // source column of output column 0
  for (int y = 0; y < h; ++y) {
    const int sy = win.y + y;
    const uint8_t* row = src.data + (static_cast<size_t>(sy) * size + x0) * C;
    float* o[C];
    for (int c = 0; c < C; ++c) o[c] = out + (static_cast<size_t>(c) * h + y) * w;
    if (norm.mean == MeanMode::PerPixel) {
      const float* m = norm.meanData + static_cast<size_t>(sy) * size + x0;
      for (int x = 0; x < w; ++x) {
        const ptrdiff_t s = static_cast<ptrdiff_t>(x) * step;
        for (int c = 0; c < C; ++c) {
          float v = scale * static_cast<float>(row[s * C + c]);
          v = v - m[c * plane + s];
          o[c][x] = v + off[c];
        }
      }
    } else {
      for (int x = 0; x < w; ++x) {
        const ptrdiff_t s = static_cast<ptrdiff_t>(x) * step;
        for (int c = 0; c < C; ++c) {
          float v = scale * static_cast<float>(row[s * C + c]);
          v = v - meanConst[c];
          o[c][x] = v + off[c];
        }
      }
    }
  }
}
}  // namespace

void writeCrop(const ImageView& src, const Normalisation& norm, const float* offset, CropWindow window, int h,
               int w, float* out) {
  if (src.channels == 3) writeCropT<3>(src, norm, offset, window, h, w, out);
  else writeCropT<1>(src, norm, offset, window, h, w, out);
}

void tenCropWindows(int size, int h, int w, CropWindow out[10]) {
  const int bottom = size - h, right = size - w;
  const CropWindow five[5] = {{0, 0, false}, {0, right, false}, {bottom, 0, false}, {bottom, right, false},
                              {bottom / 2, right / 2, false}};
  for (int k = 0; k < 5; ++k) {
    out[k] = five[k];
    out[k + 5] = five[k];
    out[k + 5].flip = true;
  }
}

void colourOffset(const float* eigvec, const float* eigval, const float* alpha, int channels, float* offset) {
  for (int c = 0; c < channels; ++c) {
    float sum = 0.0f;
    for (int k = 0; k < channels; ++k) sum = sum + eigvec[c * channels + k] * (alpha[k] * eigval[k]);
    offset[c] = sum;
  }
}

}  // namespace alexnet::data
