// Crops, flips, normalisation and the PCA colour offset.
#include "alexnet/data/augment.hpp"

namespace alexnet::data {

void writeCrop(const ImageView& src, const Normalisation& norm, const float* offset, CropWindow window, int h,
               int w, float* out) {
  cropImage(src.data, src.height, src.width, src.channels, norm.scale, norm.mean, norm.meanData, offset, window,
            h, w, out);
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
