// Turning a prepared size x size 8-bit image into network input (paper section 4.1): a crop
// window, an optional horizontal flip, scaling, mean subtraction and the PCA colour offset:
//   out[c, y, x] = (scale * src[sy, sx, c] - mean(c, sy, sx)) + offset[c]
//   sy = y0 + y,  sx = flip ? x0 + w - 1 - x : x0 + x
// rounded in float after each operation (no fused multiply-add). The mean is indexed at the
// source pixel: it is the mean of the size x size images, subtracted before cropping as in the
// paper. The formula itself is alexnet/crop.hpp, which the backends' cropImages op shares, so a
// batch cropped on a device (the pipeline's raw output) equals the host crop bit for bit.
#pragma once

#include <cstdint>

#include "alexnet/crop.hpp"
#include "alexnet/data/image.hpp"

namespace alexnet::data {

using alexnet::CropWindow;
using alexnet::MeanMode;

struct Normalisation {
  float scale = 1.0f;
  MeanMode mean = MeanMode::None;
  const float* meanData = nullptr;  // [channels] or [channels, size, size], in output units
};

// Writes one [channels, h, w] float crop of the size x size image `src` to `out`.
void writeCrop(const ImageView& src, const Normalisation& norm, const float* offset,
               CropWindow window, int h, int w, float* out);

// Test-time augmentation (section 4.1, "Test"): the four corner patches and the centre patch, then
// the same five flipped. The centre is at ((size - h) / 2, (size - w) / 2), rounded down.
void tenCropWindows(int size, int h, int w, CropWindow out[10]);

// offset[c] = sum over k of eigvec[c * channels + k] * (alpha[k] * eigval[k]), from k = 0 up:
// eigenvector k is column k, and eigval is lambda itself (the paper's formula, not sqrt(lambda)).
void colourOffset(const float* eigvec, const float* eigval, const float* alpha, int channels,
                  float* offset);

}  // namespace alexnet::data
