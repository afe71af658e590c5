// Training-set statistics for mean subtraction and PCA colour augmentation (paper section 4.1):
// the mean image, the per-channel mean and the channel covariance over every pixel of every
// prepared (size x size) image. Sums are kept in 64-bit integers, so the result is exact and
// independent of the number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "alexnet/data/source.hpp"

namespace alexnet::data {

struct PixelStats {
  int size = 0, channels = 0;
  int64_t images = 0;   // images that contributed
  int64_t skipped = 0;  // undecodable images left out (skipBad)
  int64_t pixels = 0;   // M = images * size * size
  std::vector<double> meanImage;    // [channels, size, size], 8-bit pixel units
  std::vector<double> channelMean;  // [channels]
  std::vector<double> covariance;   // [channels, channels], divided by (M - 1)
};

// Over the images `indices` of `source` (all of them when empty).
PixelStats computeStats(const ImageSource& source, int size, int channels, int workers,
                        const std::vector<int64_t>& indices, bool skipBad);

}  // namespace alexnet::data
