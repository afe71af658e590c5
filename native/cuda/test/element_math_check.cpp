// Checks the per-element math of our CUDA kernels (maxpool_element.hpp, lrn_element.hpp,
// augment_element.hpp) on the host against the float64 oracle, so it runs without a GPU.
// Run: bash native/cuda/test/run_checks.sh
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/augment_element.hpp"
#include "kernels/lrn_element.hpp"
#include "kernels/maxpool_element.hpp"
#include "oracle_files.hpp"

using namespace alexnet;
using namespace alexnet::cuda::kernels;
using oracle::compare;
using oracle::load;
using oracle::shape;

namespace {

void checkMaxPool() {
  for (std::string c :
       {"c1_maxpool_13", "c2_maxpool_27", "c3_maxpool_55", "c4_maxpool_rect_even"}) {
    auto s = shape(c, "x");
    PoolGeometry g{s[0], s[1], s[2], s[3], 3, 3, 2, 2, (s[2] - 3) / 2 + 1, (s[3] - 3) / 2 + 1};
    auto x = load(c, "x"), dy = load(c, "g"), want = load(c, "grad_x"), out = load(c, "out");
    // The forward pass (cuDNN's on the GPU) as a plain loop, for y.
    std::vector<float> y(out.size()), dx(x.size());
    for (int plane = 0; plane < g.n * g.c; ++plane)
      for (int oh = 0; oh < g.outH; ++oh)
        for (int ow = 0; ow < g.outW; ++ow) {
          float m = -INFINITY;
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) {
              const size_t row = static_cast<size_t>(plane) * g.h + oh * 2 + a;
              m = std::max(m, x[row * g.w + ow * 2 + b]);
            }
          y[(static_cast<size_t>(plane) * g.outH + oh) * g.outW + ow] = m;
        }
    compare(c + " forward (host loop)", y, out, 0);
    for (size_t i = 0; i < x.size(); ++i)
      dx[i] = maxPoolInputGrad(g, i, dy.data(), x.data(), y.data());
    compare(c + " backward", dx, want, 1e-6);
  }
  // Ties: an all-equal 4x4 plane, window 3 stride 1: every window's gradient goes to its top-left.
  PoolGeometry g{1, 1, 4, 4, 3, 3, 1, 1, 2, 2};
  std::vector<float> x(16, 0.0f), y(4, 0.0f), dy{1, 2, 4, 8}, dx(16), want(16, 0.0f);
  want[0] = 1;
  want[1] = 2;
  want[4] = 4;
  want[5] = 8;
  for (size_t i = 0; i < 16; ++i) dx[i] = maxPoolInputGrad(g, i, dy.data(), x.data(), y.data());
  compare("maxpool ties go to the first maximum", dx, want, 0);
}

void checkLrn() {
  struct Case { const char* name; int size; float alpha, beta, k; };
  for (Case c : {Case{"b1_lrn_paper", 5, 1e-4f, 0.75f, 2.0f},
                 Case{"b2_lrn_paper_large", 5, 1e-4f, 0.75f, 2.0f},
                 Case{"b3_lrn_n3_k1_a05_b05", 3, 0.5f, 0.5f, 1.0f},
                 Case{"b4_lrn_paper_fewchannels", 5, 1e-4f, 0.75f, 2.0f}}) {
    auto s = shape(c.name, "x");
    LrnGeometry g{s[0], s[1], s[2], s[3], c.size, c.alpha, c.beta, c.k};
    auto x = load(c.name, "x"), dy = load(c.name, "g");
    std::vector<float> y(x.size()), dx(x.size());
    const LrnShape sh = lrnShapeOf(g);
    for (size_t i = 0; i < x.size(); ++i) y[i] = lrnForwardElement(sh, i, x.data());
    compare(std::string(c.name) + " forward", y, load(c.name, "out"), 1e-6);
    for (size_t i = 0; i < x.size(); ++i)
      dx[i] = lrnBackwardElement(sh, i, dy.data(), x.data(), y.data());
    compare(std::string(c.name) + " backward", dx, load(c.name, "grad_x"), 1e-6);
  }
  // The fallback's window for sizes cuDNN rejects or that are even: floor((n-1)/2) channels
  // behind, the rest ahead (cuDNN's convention), checked against a direct double loop.
  for (int size : {4, 17}) {
    LrnGeometry g{2, 20, 3, 2, size, 1e-3f, 0.75f, 1.5f};
    std::vector<float> x(2 * 20 * 6), dy(x.size()), y(x.size()), dx(x.size()), wantY(x.size()),
        wantDx(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(static_cast<int>(i * 7919 % 61) - 30) / 3.0f;
      dy[i] = static_cast<float>(static_cast<int>(i * 104729 % 37) - 18) / 9.0f;
    }
    const int behind = (size - 1) / 2, ahead = size - 1 - behind;
    auto at = [&](int b, int c, int p) { return (static_cast<size_t>(b) * 20 + c) * 6 + p; };
    for (int b = 0; b < 2; ++b)
      for (int p = 0; p < 6; ++p) {
        std::vector<double> scale(20);
        for (int c = 0; c < 20; ++c) {
          double sum = 0;
          for (int j = std::max(0, c - behind); j <= std::min(19, c + ahead); ++j)
            sum += static_cast<double>(x[at(b, j, p)]) * x[at(b, j, p)];
          scale[c] = g.k + static_cast<double>(g.alpha) * sum;
          wantY[at(b, c, p)] = static_cast<float>(x[at(b, c, p)] * std::pow(scale[c], -g.beta));
        }
        for (int i = 0; i < 20; ++i) {
          double cross = 0;
          for (int c = 0; c < 20; ++c)
            if (i >= c - behind && i <= c + ahead)
              cross += dy[at(b, c, p)] * x[at(b, c, p)] * std::pow(scale[c], -g.beta - 1);
          wantDx[at(b, i, p)] = static_cast<float>(dy[at(b, i, p)] * std::pow(scale[i], -g.beta) -
                                                   2.0 * g.alpha * g.beta * x[at(b, i, p)] * cross);
        }
      }
    const LrnShape sh = lrnShapeOf(g);
    for (size_t i = 0; i < x.size(); ++i) y[i] = lrnForwardElement(sh, i, x.data());
    for (size_t i = 0; i < x.size(); ++i)
      dx[i] = lrnBackwardElement(sh, i, dy.data(), x.data(), y.data());
    compare("lrn fallback size " + std::to_string(size) + " forward", y, wantY, 1e-5);
    compare("lrn fallback size " + std::to_string(size) + " backward", dx, wantDx, 1e-4);
  }
}

void checkAugment() {
  for (std::string c : {"h1_pca_color_0_255", "h2_pca_color_0_1"}) {
    // h2's images are h1's divided by 255, so both cases start from h1's integer pixels.
    auto images = load("h1_pca_color_0_255", "images");
    auto alphas = load(c, "alphas"), vecs = load(c, "eigvecs"), vals = load(c, "eigvals");
    std::vector<uint8_t> bytes(images.begin(), images.end());
    cuda::AugmentParams p;
    p.n = 4;
    p.channels = 3;
    p.srcH = p.srcW = p.outH = p.outW = 8;
    p.layout = cuda::ImageLayout::NCHW;
    p.crop = cuda::CropMode::Fixed;
    p.flip = cuda::FlipMode::None;
    p.inputScale = c == "h2_pca_color_0_1" ? 1.0f / 255.0f : 1.0f;
    std::vector<float> offsets(12), out(4 * 3 * 64);
    for (int b = 0; b < 4; ++b) {
      ImageDraw d = drawImage(p, b);
      pcaOffset(3, vecs.data(), vals.data(), &alphas[b * 3], d.offset);  // the oracle's alphas
      for (int ch = 0; ch < 3; ++ch) {
        offsets[b * 3 + ch] = d.offset[ch];
        for (int i = 0; i < 64; ++i)
          out[(b * 3 + ch) * 64 + i] = augmentPixel(p, d, b, ch, i, bytes.data());
      }
    }
    compare(c + " offset", offsets, load(c, "offset"), 1e-6);
    compare(c + " out", out, load(c, "out"), 1e-6);
  }
  // Random draws: crops cover the whole range, flips happen about half the time, alpha ~ N(0, 0.1).
  cuda::AugmentParams p;
  p.n = 1000;
  p.srcH = p.srcW = 256;
  p.outH = p.outW = 224;
  p.seed = 42;
  p.pcaStd = 0.1f;
  p.eigval[0] = p.eigval[1] = p.eigval[2] = 1.0f;
  p.eigvec[0] = p.eigvec[4] = p.eigvec[8] = 1.0f;
  int flips = 0, minY = 99, maxY = -1;
  double sumSq = 0;
  for (int b = 0; b < p.n; ++b) {
    ImageDraw d = drawImage(p, b);
    flips += d.flip;
    minY = std::min(minY, d.cropY);
    maxY = std::max(maxY, d.cropY);
    sumSq += d.offset[0] * d.offset[0];
  }
  const double std = std::sqrt(sumSq / p.n);
  std::printf("random draws: flips %d/1000, cropY in [%d, %d], alpha std %.4f\n", flips, minY,
              maxY, std);
  if (flips < 430 || flips > 570 || minY != 0 || maxY != 32 || std < 0.09 || std > 0.11)
    ++oracle::failures();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) oracle::dataDir() = argv[1];
  checkMaxPool();
  checkLrn();
  checkAugment();
  std::printf("%s\n", oracle::failures() ? "FAILED" : "all ok");
  return oracle::failures() != 0;
}
