// A C++ program using the native core directly, without Node: conv -> ReLU -> LRN -> max pool on
// the CPU, checked against a straightforward reference computed here.
//   cmake -S . -B build-cpp -DALEXNET_ADDON=OFF && cmake --build build-cpp -j2
//   ./build-cpp/alexnet_example_cpp
#include <alexnet/alexnet.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

using alexnet::Shape;
using alexnet::Tensor;
namespace ops = alexnet::ops;

namespace {

std::vector<float> randomValues(size_t count, uint64_t seed, float scale) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = scale * alexnet::counterNormal(seed, i);
  return v;
}

// Plain loops, the textbook definitions (paper §3.3 for LRN).
std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& b, int n, int c, int h, int wd, int o,
                             int k, int stride, int pad) {
  const int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
  std::vector<float> conv(size_t(n) * o * oh * ow);
  for (int in = 0; in < n; ++in)
    for (int io = 0; io < o; ++io)
      for (int y = 0; y < oh; ++y)
        for (int xx = 0; xx < ow; ++xx) {
          double s = b[io];
          for (int ic = 0; ic < c; ++ic)
            for (int ky = 0; ky < k; ++ky)
              for (int kx = 0; kx < k; ++kx) {
                int iy = y * stride - pad + ky, ix = xx * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                s += double(x[((size_t(in) * c + ic) * h + iy) * wd + ix]) *
                     w[((size_t(io) * c + ic) * k + ky) * k + kx];
              }
          conv[((size_t(in) * o + io) * oh + y) * ow + xx] = float(std::max(0.0, s));
        }
  std::vector<float> lrn(conv.size());
  const int plane = oh * ow;
  for (int in = 0; in < n; ++in)
    for (int io = 0; io < o; ++io)
      for (int p = 0; p < plane; ++p) {
        double sum = 0;
        for (int j = std::max(0, io - 2); j <= std::min(o - 1, io + 2); ++j) {
          double a = conv[(size_t(in) * o + j) * plane + p];
          sum += a * a;
        }
        size_t at = (size_t(in) * o + io) * plane + p;
        lrn[at] = float(conv[at] / std::pow(2.0 + 1e-4 * sum, 0.75));
      }
  const int ph = (oh - 3) / 2 + 1, pw = (ow - 3) / 2 + 1;
  std::vector<float> pool(size_t(n) * o * ph * pw);
  for (int in = 0; in < n; ++in)
    for (int io = 0; io < o; ++io)
      for (int y = 0; y < ph; ++y)
        for (int xx = 0; xx < pw; ++xx) {
          float m = -INFINITY;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
              m = std::max(m, lrn[((size_t(in) * o + io) * oh + y * 2 + ky) * ow + xx * 2 + kx]);
          pool[((size_t(in) * o + io) * ph + y) * pw + xx] = m;
        }
  return pool;
}

}  // namespace

int main() {
  try {
    const int n = 2, c = 3, h = 67, w = 67, o = 16, k = 11, stride = 4, pad = 2;
    auto xv = randomValues(size_t(n) * c * h * w, 1, 50.0f);
    auto wv = randomValues(size_t(o) * c * k * k, 2, 0.05f);
    auto bv = randomValues(o, 3, 0.5f);

    alexnet::Device& cpu = alexnet::Device::get("cpu");
    Tensor x = Tensor::fromHost(cpu, xv.data(), {n, c, h, w});
    Tensor wt = Tensor::fromHost(cpu, wv.data(), {o, c, k, k});
    Tensor b = Tensor::fromHost(cpu, bv.data(), {o});

    ops::Conv2dOptions conv;
    conv.strideH = conv.strideW = stride;
    conv.padH = conv.padW = pad;
    Tensor y = ops::maxPool2d(ops::localResponseNorm(ops::relu(ops::conv2d(x, wt, b, conv)), {}), {});

    std::vector<float> got(size_t(y.numel()));
    y.toHost(got.data());  // waits for the stream
    auto want = reference(xv, wv, bv, n, c, h, w, o, k, stride, pad);

    double maxErr = 0, maxRef = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      maxErr = std::max(maxErr, double(std::fabs(got[i] - want[i])));
      maxRef = std::max(maxRef, double(std::fabs(want[i])));
    }
    const double rel = maxErr / maxRef;
    std::printf("conv1 -> relu -> lrn -> pool: output %s, max |ref| %.3f, max rel error %.2e\n",
                alexnet::shapeString(y.shape()).c_str(), maxRef, rel);
    if (!(rel < 1e-4)) {
      std::printf("FAILED: error above 1e-4\n");
      return 1;
    }
    std::printf("ok\n");
    return 0;
  } catch (const alexnet::Error& e) {
    std::fprintf(stderr, "alexnet error %s: %s\n", e.code().c_str(), e.what());
    return 1;
  }
}
