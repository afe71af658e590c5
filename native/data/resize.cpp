// Channel conversion and separable resampling (shorter side to `size`, centred square).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "alexnet/data/image.hpp"
#include "alexnet/error.hpp"
#include "kernel.hpp"

namespace alexnet::data {

void convertChannels(const ImageView& src, int channels, Image& dst) {
  dst.reshape(src.height, src.width, channels);
  dst.originX = src.originX;
  dst.fullWidth = src.fullWidth;
  const size_t n = static_cast<size_t>(src.height) * src.width;
  const uint8_t* s = src.data;
  uint8_t* d = dst.pixels.data();
  if (src.channels == channels) {
    std::memcpy(d, s, n * channels);
  } else if (src.channels == 1 && channels == 3) {
    for (size_t i = 0; i < n; ++i) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = s[i];
  } else {  // 3 -> 1, integer BT.601 weights (sum 1 << 16), rounded
    for (size_t i = 0; i < n; ++i)
      d[i] = static_cast<uint8_t>((19595u * s[3 * i] + 38470u * s[3 * i + 1] + 7471u * s[3 * i + 2] + 32768u) >> 16);
  }
}

namespace {

// The taps of outputs [first, first + count) of a resampling from inLen to outLen samples: for
// output j, starts[j] is the first input and weights[j * maxTaps ..] its weights (summing to 1).
int computeTaps(int inLen, int outLen, int first, int count, std::vector<int32_t>& starts,
                std::vector<int32_t>& counts, std::vector<float>& weights) {
  const double ratio = static_cast<double>(inLen) / outLen;
  const double support = std::max(1.0, ratio);
  const int maxTaps = static_cast<int>(std::ceil(support)) * 2 + 1;
  starts.assign(count, 0);
  counts.assign(count, 0);
  weights.assign(static_cast<size_t>(count) * maxTaps, 0.0f);
  std::vector<double> w(maxTaps);
  for (int j = 0; j < count; ++j) {
    const double centre = (first + j + 0.5) * ratio;
    int lo = std::max(0, static_cast<int>(std::floor(centre - support)));
    int hi = std::min(inLen, static_cast<int>(std::ceil(centre + support)));
    double total = 0;
    int n = 0;
    for (int i = lo; i < hi && n < maxTaps; ++i) {
      double t = std::fabs((i + 0.5 - centre) / support);
      w[n] = t < 1 ? 1 - t : 0;
      total += w[n++];
    }
    // Drop zero taps at both ends so the loops do no useless work.
    int a = 0, b = n;
    while (a < b && w[a] == 0) ++a;
    while (b > a && w[b - 1] == 0) --b;
    starts[j] = lo + a;
    counts[j] = b - a;
    for (int k = a; k < b; ++k) weights[static_cast<size_t>(j) * maxTaps + (k - a)] = static_cast<float>(w[k] / total);
  }
  return maxTaps;
}

// Four floats in one register (GCC/Clang vector extension: SSE on x86, NEON on ARM).
typedef float Float4 __attribute__((vector_size(16)));

// acc[e] = sum over t of w[t] * rows[t][e], t from 0 up: the vertical pass over contiguous bytes,
// all K taps at once (K fixed, so the tap loop unrolls and acc is written once).
template <int K>
ALEXNET_DATA_KERNEL void verticalRow(float* __restrict acc, const uint8_t* const* rows, const float* w, size_t n) {
  for (size_t e = 0; e < n; ++e) {
    float a = 0.0f;
    for (int t = 0; t < K; ++t) a += w[t] * static_cast<float>(rows[t][e]);
    acc[e] = a;
  }
}

void verticalRowAny(float* acc, const uint8_t* const* rows, const float* w, int taps, size_t n) {
  for (size_t e = 0; e < n; ++e) {
    float a = 0.0f;
    for (int t = 0; t < taps; ++t) a += w[t] * static_cast<float>(rows[t][e]);
    acc[e] = a;
  }
}

void vertical(float* acc, const uint8_t* const* rows, const float* w, int taps, size_t n) {
  switch (taps) {
    case 1: return verticalRow<1>(acc, rows, w, n);
    case 2: return verticalRow<2>(acc, rows, w, n);
    case 3: return verticalRow<3>(acc, rows, w, n);
    case 4: return verticalRow<4>(acc, rows, w, n);
    case 5: return verticalRow<5>(acc, rows, w, n);
    case 6: return verticalRow<6>(acc, rows, w, n);
    default: return verticalRowAny(acc, rows, w, taps, n);
  }
}

// Rounds and clamps a float row to bytes.
ALEXNET_DATA_KERNEL void toBytes(const float* __restrict in, size_t n, uint8_t* __restrict out) {
  for (size_t e = 0; e < n; ++e) {
    const float v = std::min(std::max(in[e] + 0.5f, 0.0f), 255.0f);
    out[e] = static_cast<uint8_t>(static_cast<int32_t>(v));
  }
}

// One output row from one vertically filtered float row (pixel 0 = source column `first`).
// RGB: the three channels of a pixel go through the taps together in one 4-float register (the
// fourth lane reads the next pixel's red; the row is padded). Every pixel runs K taps, zero weights beyond its own (adding 0 * a finite
// value changes nothing), so the loop unrolls.
// The float results go to `row` (each pixel's spare lane is overwritten by the next pixel); one
// vectorised toBytes pass then rounds the row: cheaper than extracting bytes pixel by pixel.
// K > 0: a tap count fixed at compile time (the loop unrolls); K = 0: `taps` at run time.
template <int K>
ALEXNET_DATA_KERNEL void horizontalRgb(const float* __restrict in, int size, const int32_t* starts,
                                       const float* weights, int maxTaps, int taps, float* __restrict row) {
  const int n = K > 0 ? K : taps;
  for (int x = 0; x < size; ++x) {
    const float* p = in + static_cast<size_t>(starts[x]) * 3;
    const float* w = weights + static_cast<size_t>(x) * maxTaps;
    Float4 acc = {0, 0, 0, 0};
    for (int t = 0; t < n; ++t) {
      Float4 v;
      std::memcpy(&v, p + 3 * t, sizeof v);
      acc += w[t] * v;
    }
    std::memcpy(row + 3 * x, &acc, sizeof acc);
  }
}

void horizontalRgbK(const float* in, int size, const int32_t* starts, const float* weights, int maxTaps, int taps,
                    float* row) {
  switch (taps) {
    case 1: return horizontalRgb<1>(in, size, starts, weights, maxTaps, taps, row);
    case 2: return horizontalRgb<2>(in, size, starts, weights, maxTaps, taps, row);
    case 3: return horizontalRgb<3>(in, size, starts, weights, maxTaps, taps, row);
    case 4: return horizontalRgb<4>(in, size, starts, weights, maxTaps, taps, row);
    case 5: return horizontalRgb<5>(in, size, starts, weights, maxTaps, taps, row);
    case 6: return horizontalRgb<6>(in, size, starts, weights, maxTaps, taps, row);
    default: return horizontalRgb<0>(in, size, starts, weights, maxTaps, taps, row);
  }
}

void horizontalGrey(const float* in, int size, const int32_t* starts, const int32_t* counts, const float* weights,
                    int maxTaps, float* row) {
  for (int x = 0; x < size; ++x) {
    const float* p = in + starts[x];
    const float* w = weights + static_cast<size_t>(x) * maxTaps;
    float acc = 0.0f;
    for (int t = 0; t < counts[x]; ++t) acc += w[t] * p[t];
    row[x] = acc;
  }
}

// Vertical pass first, over contiguous bytes of the needed columns, then the horizontal pass on
// that float row.
void resample(const ImageView& src, int size, Image& dst, ResizeScratch& s, int vTaps, int hTaps) {
  const int C = src.channels;
  const int first = s.hStarts.front();
  int last = 0, K = 0;
  for (int x = 0; x < size; ++x) {
    last = std::max(last, s.hStarts[x] + s.hCounts[x]);
    K = std::max(K, s.hCounts[x]);
  }
  for (int x = 0; x < size; ++x) s.hStarts[x] -= first;  // relative to the filtered row
  const size_t used = static_cast<size_t>(last - first) * C;
  const size_t stride = static_cast<size_t>(src.width) * C;
  if (first < src.originX || last > src.originX + src.width)
    throw Error("INTERNAL", "resize: the decoded window misses columns the filter needs");
  const uint8_t* base = src.data + static_cast<size_t>(first - src.originX) * C;
  // Padding: the K-tap loop reads up to K pixels from a pixel's first tap, plus a spare lane.
  s.acc.assign(used + static_cast<size_t>(K + 2) * C, 0.0f);
  s.row.resize(static_cast<size_t>(size) * C + 4);
  float* acc = s.acc.data();
  std::vector<const uint8_t*>& rows = s.rowPointers;
  for (int y = 0; y < size; ++y) {
    rows.resize(static_cast<size_t>(s.vCounts[y]));
    for (int t = 0; t < s.vCounts[y]; ++t) rows[t] = base + static_cast<size_t>(s.vStarts[y] + t) * stride;
    vertical(acc, rows.data(), s.vWeights.data() + static_cast<size_t>(y) * vTaps, s.vCounts[y], used);
    if (C == 3) horizontalRgbK(acc, size, s.hStarts.data(), s.hWeights.data(), hTaps, K, s.row.data());
    else horizontalGrey(acc, size, s.hStarts.data(), s.hCounts.data(), s.hWeights.data(), hTaps, s.row.data());
    toBytes(s.row.data(), static_cast<size_t>(size) * C, dst.pixels.data() + static_cast<size_t>(y) * size * C);
  }
}

}  // namespace

namespace {
// The shorter side becomes exactly `size`; the longer keeps the aspect ratio.
void resizedShape(int h, int w, int size, int& outH, int& outW) {
  outH = h <= w ? size : std::max(size, static_cast<int>(std::lround(static_cast<double>(h) * size / w)));
  outW = w <= h ? size : std::max(size, static_cast<int>(std::lround(static_cast<double>(w) * size / h)));
}
}  // namespace

void neededColumns(int height, int width, int size, int& first, int& last) {
  int outH, outW;
  resizedShape(height, width, size, outH, outW);
  std::vector<int32_t> starts, counts;
  std::vector<float> weights;
  computeTaps(width, outW, (outW - size) / 2, size, starts, counts, weights);
  first = starts.front();
  last = 0;
  for (int x = 0; x < size; ++x) last = std::max(last, starts[x] + counts[x]);
}

void resizeShorterSideCentreCrop(const ImageView& src, int size, Image& dst, ResizeScratch& s) {
  const int h = src.height, w = src.columns(), C = src.channels;
  dst.reshape(size, size, C);
  if (h == size && w == size && src.width == w) {
    std::memcpy(dst.pixels.data(), src.data, dst.pixels.size());
    return;
  }
  int outH, outW;
  resizedShape(h, w, size, outH, outW);
  const int offY = (outH - size) / 2, offX = (outW - size) / 2;

  const int vTaps = computeTaps(h, outH, offY, size, s.vStarts, s.vCounts, s.vWeights);
  const int hTaps = computeTaps(w, outW, offX, size, s.hStarts, s.hCounts, s.hWeights);
  resample(src, size, dst, s, vTaps, hTaps);
}

}  // namespace alexnet::data
