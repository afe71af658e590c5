// Every random choice of the pipeline is a pure function of (seed, epoch, position in the epoch),
// drawn from the counter-based generator of alexnet/random.hpp. No sequential generator is shared
// between threads, so a batch is the same whatever the number of workers, and an epoch can be
// resumed at any batch.
//
// For the image at position p of epoch e (key(d) = streamKey(seed, e, d)):
//   cropY = min(floor(counterUniform(key(2), 4p + 0) * (spanY + 1)), spanY)      (in double)
//   cropX = min(floor(counterUniform(key(2), 4p + 1) * (spanX + 1)), spanX)
//   flip  = counterUniform(key(2), 4p + 2) < 0.5
//   alpha_k = pcaStd * counterNormal(key(3), 4p + k),   k = 0 .. channels - 1
// and the epoch's order is a Fisher-Yates shuffle of 0 .. n-1 whose step i (from n-1 down to 1)
// swaps i with floor(mix64(mix64(key(1)) ^ i) * (i + 1) / 2^64).
#pragma once

#include <cstdint>
#include <vector>

namespace alexnet::data {

enum StreamDomain : uint64_t { kShuffleStream = 1, kCropStream = 2, kColourStream = 3 };

uint64_t streamKey(uint64_t seed, int64_t epoch, uint64_t domain);

struct Draws {
  int cropY = 0, cropX = 0;
  bool flip = false;
  float alpha[4] = {0, 0, 0, 0};
};

// spanY/spanX: the largest crop offsets (size - crop). randomFlip false gives flip = false;
// pcaStd 0 gives alphas of 0.
Draws drawAugmentation(uint64_t seed, int64_t epoch, int64_t position, int spanY, int spanX,
                       bool randomFlip, float pcaStd, int channels);

// The dataset indices in the order epoch `epoch` visits them (identity when !shuffle).
std::vector<int64_t> epochOrder(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace alexnet::data
