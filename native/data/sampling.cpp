// Counter-based random draws keyed by (seed, epoch, position).
#include "alexnet/data/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "alexnet/random.hpp"

namespace alexnet::data {

uint64_t streamKey(uint64_t seed, int64_t epoch, uint64_t domain) {
  return mix64(mix64(mix64(seed) ^ domain) ^ static_cast<uint64_t>(epoch));
}

namespace {
int offset(float u, int span) {
  return static_cast<int>(std::min<double>(std::floor(static_cast<double>(u) * (span + 1)), span));
}
}  // namespace

Draws drawAugmentation(uint64_t seed, int64_t epoch, int64_t position, int spanY, int spanX, bool randomFlip,
                       float pcaStd, int channels) {
  Draws d;
  const uint64_t crop = streamKey(seed, epoch, kCropStream);
  const uint64_t p = static_cast<uint64_t>(position);
  d.cropY = offset(counterUniform(crop, 4 * p + 0), spanY);
  d.cropX = offset(counterUniform(crop, 4 * p + 1), spanX);
  d.flip = randomFlip && counterUniform(crop, 4 * p + 2) < 0.5f;
  if (pcaStd != 0.0f) {
    const uint64_t colour = streamKey(seed, epoch, kColourStream);
    for (int k = 0; k < channels && k < 4; ++k) d.alpha[k] = pcaStd * counterNormal(colour, 4 * p + k);
  }
  return d;
}

std::vector<int64_t> epochOrder(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  if (!shuffle) return order;
  const uint64_t key = mix64(streamKey(seed, epoch, kShuffleStream));
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t r = mix64(key ^ static_cast<uint64_t>(i));
    const int64_t j = static_cast<int64_t>((static_cast<unsigned __int128>(r) * static_cast<uint64_t>(i + 1)) >> 64);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

}  // namespace alexnet::data
