// Mean image and channel covariance over the prepared training images, in exact integer sums.
#include "alexnet/data/stats.hpp"

#include <numeric>

#include "alexnet/data/parallel.hpp"
#include "alexnet/error.hpp"

namespace alexnet::data {
namespace {

struct Accumulator {
  std::vector<uint64_t> pixelSum;  // [size, size, channels], as the images are stored
  uint64_t channelSum[3] = {};
  uint64_t crossSum[9] = {};  // sum of x_i * x_j
  int64_t images = 0, skipped = 0;
};

bool skippable(const Error& e) { return e.code() == "BAD_FILE" || e.code() == "IO_ERROR"; }

}  // namespace

PixelStats computeStats(const ImageSource& source, int size, int channels, int workers,
                        const std::vector<int64_t>& indices, bool skipBad) {
  if (channels != 1 && channels != 3) invalidArgument("channels must be 1 or 3");
  const int64_t n = indices.empty() ? source.size() : static_cast<int64_t>(indices.size());
  workers = std::max(1, workers);
  const size_t perImage = static_cast<size_t>(size) * size * channels;
  std::vector<Accumulator> acc(static_cast<size_t>(std::min<int64_t>(workers, std::max<int64_t>(n, 1))));
  std::vector<Scratch> scratch(acc.size());
  for (auto& a : acc) a.pixelSum.assign(perImage, 0);

  parallelFor(n, static_cast<int>(acc.size()), [&](int64_t k, int worker) {
    Accumulator& a = acc[static_cast<size_t>(worker)];
    const int64_t index = indices.empty() ? k : indices[static_cast<size_t>(k)];
    ImageView img;
    try {
      img = prepareImage(source, index, size, channels, scratch[static_cast<size_t>(worker)]);
    } catch (const Error& e) {
      if (!skipBad || !skippable(e)) throw;
      ++a.skipped;
      return;
    }
    const uint8_t* p = img.data;
    uint64_t* sum = a.pixelSum.data();
    for (size_t e = 0; e < perImage; ++e) sum[e] += p[e];
    const size_t pixels = static_cast<size_t>(size) * size;
    if (channels == 3) {
      uint64_t r = 0, g = 0, b = 0, rr = 0, rg = 0, rb = 0, gg = 0, gb = 0, bb = 0;
      for (size_t q = 0; q < pixels; ++q) {
        const uint32_t pr = p[3 * q], pg = p[3 * q + 1], pb = p[3 * q + 2];
        r += pr, g += pg, b += pb;
        rr += pr * pr, rg += pr * pg, rb += pr * pb, gg += pg * pg, gb += pg * pb, bb += pb * pb;
      }
      const uint64_t ch[3] = {r, g, b}, cross[9] = {rr, rg, rb, 0, gg, gb, 0, 0, bb};
      for (int i = 0; i < 3; ++i) a.channelSum[i] += ch[i];
      for (int i = 0; i < 9; ++i) a.crossSum[i] += cross[i];
    } else {
      uint64_t total = 0, squares = 0;
      for (size_t q = 0; q < pixels; ++q) {
        total += p[q];
        squares += uint32_t(p[q]) * p[q];
      }
      a.channelSum[0] += total;
      a.crossSum[0] += squares;
    }
    ++a.images;
  });

  PixelStats s;
  s.size = size;
  s.channels = channels;
  std::vector<uint64_t> pixelSum(perImage, 0);
  unsigned __int128 channelSum[3] = {}, crossSum[9] = {};
  for (const Accumulator& a : acc) {
    s.images += a.images;
    s.skipped += a.skipped;
    for (size_t e = 0; e < perImage; ++e) pixelSum[e] += a.pixelSum[e];
    for (int i = 0; i < 9; ++i) crossSum[i] += a.crossSum[i];
    for (int i = 0; i < 3; ++i) channelSum[i] += a.channelSum[i];
  }
  if (s.images == 0) invalidArgument("no images to compute statistics from");
  s.pixels = s.images * size * size;
  const auto M = static_cast<unsigned __int128>(s.pixels);

  // Mean image as [channels, size, size] (the network's layout).
  s.meanImage.resize(perImage);
  for (int c = 0; c < channels; ++c)
    for (size_t q = 0; q < static_cast<size_t>(size) * size; ++q)
      s.meanImage[c * static_cast<size_t>(size) * size + q] =
          static_cast<double>(pixelSum[q * channels + c]) / static_cast<double>(s.images);
  s.channelMean.resize(channels);
  s.covariance.resize(static_cast<size_t>(channels) * channels);
  for (int i = 0; i < channels; ++i) s.channelMean[i] = static_cast<double>(channelSum[i]) / static_cast<double>(s.pixels);
  // cov_ij = (M * S_ij - S_i * S_j) / (M (M - 1)): the numerator is exact in 128-bit integers.
  for (int i = 0; i < channels; ++i)
    for (int j = i; j < channels; ++j) {
      const auto numerator = static_cast<__int128>(M * crossSum[i * channels + j]) -
                             static_cast<__int128>(channelSum[i] * channelSum[j]);
      const long double v = M < 2 ? 0.0L
                                  : static_cast<long double>(numerator) /
                                        (static_cast<long double>(M) * static_cast<long double>(M - 1));
      s.covariance[i * channels + j] = s.covariance[j * channels + i] = static_cast<double>(v);
    }
  return s;
}

}  // namespace alexnet::data
