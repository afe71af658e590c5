// 8-bit images as decoders produce them (rows of interleaved channels, "HWC") and the geometric
// preprocessing every image gets before augmentation: channel conversion, then resizing so the
// shorter side is `size` and keeping the centred size x size square (paper section 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace alexnet::data {

// `data` holds `width` columns; a decoder that only decoded the columns a resize needs describes
// them as columns [originX, originX + width) of an image `fullWidth` wide (0: not a window).
struct ImageView {
  const uint8_t* data = nullptr;
  int height = 0, width = 0, channels = 0;
  int originX = 0, fullWidth = 0;

  int columns() const { return fullWidth ? fullWidth : width; }
};

struct Image {
  int height = 0, width = 0, channels = 0;
  int originX = 0, fullWidth = 0;
  std::vector<uint8_t> pixels;

  void reshape(int h, int w, int c) {
    height = h;
    width = w;
    channels = c;
    originX = fullWidth = 0;
    pixels.resize(static_cast<size_t>(h) * w * c);
  }
  ImageView view() const { return {pixels.data(), height, width, channels, originX, fullWidth}; }
};

// 1 <-> 3 channels (the only counts the pipeline uses): grey is repeated; RGB becomes ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B).
void convertChannels(const ImageView& src, int channels, Image& dst);

// Buffers reused between calls so a worker thread allocates nothing in steady state.
struct ResizeScratch {
  std::vector<int32_t> hStarts, hCounts, vStarts, vCounts;
  std::vector<float> hWeights, vWeights, acc, row;
  std::vector<const uint8_t*> rowPointers;
};

// The source columns [first, last) that resizeShorterSideCentreCrop reads from an image of
// height x width: a decoder need not produce the others.
void neededColumns(int height, int width, int size, int& first, int& last);

// Scales `src` so that its shorter side is `size` and writes the centred size x size square. The
// filter is a triangle widened by the shrink factor (every source pixel contributes when
// shrinking; bilinear when enlarging); edges renormalise the weights.
void resizeShorterSideCentreCrop(const ImageView& src, int size, Image& dst, ResizeScratch& scratch);

}  // namespace alexnet::data
