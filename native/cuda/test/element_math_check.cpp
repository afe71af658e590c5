// Checks the per-element math of our CUDA kernels (maxpool_element.hpp, lrn_element.hpp,
// augment_element.hpp, update_element.hpp) on the host against the float64 oracle, so it runs
// without a GPU; max pooling also against the CPU backend's rule with NaN and ties, the crop
// element against the host crop of alexnet/crop.hpp, and the SGD and level-1 updates against the
// CPU backend's loops, all bit for bit. bfloat16: ReLU on every bit pattern against the CPU
// backend's bit rule, max pooling against the CPU's bfloat16 loops (widen, the float32 rule,
// round once) bit for bit, and LRN as the float32 element math on widened values, bit for bit,
// and against the oracle within bfloat16's bound (bf16_bounds.hpp). float16: ReLU on every bit
// pattern, LRN as bfloat16's with float16's bound.
// Run: bash native/cuda/test/run_checks.sh
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/augment_element.hpp"
#include "kernels/lrn_element.hpp"
#include "kernels/maxpool_element.hpp"
#include "kernels/plane_walk.hpp"
#include "kernels/relu_element.hpp"
#include "kernels/update_element.hpp"
#include "bf16_bounds.hpp"
#include "oracle_files.hpp"

using namespace alexnet;
using namespace alexnet::cuda::kernels;
using oracle::compare;
using oracle::load;
using oracle::shape;

namespace {

bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void report(const std::string& what, bool ok) {
  if (!ok) ++oracle::failures();
  std::printf("%-60s %s\n", what.c_str(), ok ? "ok" : "FAIL");
}

// The CPU backend's max pooling (native/cpu/pool.cpp), restated: the maximum by strict
// comparisons, the default quiet NaN (0x7fc00000) for a window holding any NaN; the argmax from
// the window's first element, then any strictly greater one or a first NaN, in row-major order;
// the gradient added to that input window by window.
void cpuMaxPool(const PoolGeometry& g, const float* x, const float* dy, float* y, float* dx) {
  const size_t inPlane = static_cast<size_t>(g.h) * g.w, outPlane = static_cast<size_t>(g.outH) * g.outW;
  for (size_t p = 0; p < static_cast<size_t>(g.n) * g.c; ++p) {
    const float* plane = x + p * inPlane;
    for (size_t i = 0; i < inPlane; ++i) dx[p * inPlane + i] = 0.0f;
    for (int oh = 0; oh < g.outH; ++oh)
      for (int ow = 0; ow < g.outW; ++ow) {
        const size_t base = static_cast<size_t>(oh) * g.strideH * g.w + static_cast<size_t>(ow) * g.strideW;
        size_t best = base;
        float bestValue = plane[base], m = plane[base];
        bool nan = false;
        for (int a = 0; a < g.kernelH; ++a)
          for (int b = 0; b < g.kernelW; ++b) {
            const float v = plane[base + static_cast<size_t>(a) * g.w + b];
            m = v > m ? v : m;
            nan = nan || v != v;
            if (v > bestValue || (v != v && bestValue == bestValue)) {
              bestValue = v;
              best = base + static_cast<size_t>(a) * g.w + b;
            }
          }
        const size_t o = static_cast<size_t>(oh) * g.outW + ow;
        y[p * outPlane + o] = nan ? std::numeric_limits<float>::quiet_NaN() : m;
        dx[p * inPlane + best] += dy[p * outPlane + o];
      }
  }
}

// maxpool.cu's one-block-per-plane kernels as host loops: each window's maximum
// (maxPoolWindowMax) into y, each window's argmax position (maxPoolWindowArg) into a plane's table,
// then every input's gradient gathered from it (maxPoolGatherGrad) into dx, which is returned.
template <class T>
std::vector<float> planeKernels(const PoolGeometry& g, const std::vector<T>& x, const std::vector<T>& dy,
                                std::vector<float>& y) {
  const int inCount = g.h * g.w, outCount = g.outH * g.outW;
  std::vector<float> dx(x.size());
  std::vector<unsigned char> args(static_cast<size_t>(outCount));
  for (int plane = 0; plane < g.n * g.c; ++plane) {
    const T* xp = x.data() + static_cast<size_t>(plane) * inCount;
    for (int o = 0; o < outCount; ++o) {
      const int oh = o / g.outW, ow = o - oh * g.outW;
      const T* win = xp + oh * g.strideH * g.w + ow * g.strideW;
      y[static_cast<size_t>(plane) * outCount + o] = maxPoolWindowMax(g, win);
      args[static_cast<size_t>(o)] = static_cast<unsigned char>(maxPoolWindowArg(g, win));
    }
    for (int i = 0; i < inCount; ++i)
      dx[static_cast<size_t>(plane) * inCount + i] =
          maxPoolGatherGrad(g, args.data(), dy.data() + static_cast<size_t>(plane) * outCount, i / g.w, i % g.w);
  }
  return dx;
}

// NaN (first in a window, inside, everywhere), signed zeros and ties, at AlexNet's pooling and at
// stride 1 and non-square windows: the element functions give the CPU's bits in both directions.
void checkMaxPoolAgainstCpuRule() {
  const float nan = std::numeric_limits<float>::quiet_NaN(), otherNan = floatFromBits(0xffc12345u);
  for (PoolGeometry g : {PoolGeometry{2, 3, 13, 13, 3, 3, 2, 2, 6, 6}, PoolGeometry{1, 2, 7, 9, 2, 3, 1, 2, 6, 4}}) {
    const size_t xn = static_cast<size_t>(g.n) * g.c * g.h * g.w, yn = static_cast<size_t>(g.n) * g.c * g.outH * g.outW;
    std::vector<float> x(xn), dy(yn);
    for (size_t i = 0; i < xn; ++i) {
      const uint64_t r = mix64(i * 7 + 1) % 16;
      // r == 15: a negative NaN with a payload, which the output must not pass on (the CPU writes
      // the default NaN).
      x[i] = r == 0 ? nan : r == 15 ? otherNan : r == 1 ? -0.0f : r == 2 ? 0.0f : r < 6 ? 1.5f : static_cast<float>(r) - 9.0f;
    }
    for (size_t o = 0; o < yn; ++o) dy[o] = 1.0f + static_cast<float>(o % 7) / 8.0f;
    std::vector<float> wantY(yn), wantDx(xn), gotY(yn), gotDx(xn);
    cpuMaxPool(g, x.data(), dy.data(), wantY.data(), wantDx.data());
    for (size_t o = 0; o < yn; ++o) gotY[o] = maxPoolOutput(g, o, x.data());
    for (size_t i = 0; i < xn; ++i) gotDx[i] = maxPoolInputGrad(g, i, dy.data(), x.data());
    const std::string shape = std::to_string(g.h) + "x" + std::to_string(g.w) + " window " +
                              std::to_string(g.kernelH) + "x" + std::to_string(g.kernelW);
    report("maxpool " + shape + " with NaN, -0, ties: forward = CPU", sameBits(gotY, wantY));
    report("maxpool " + shape + " with NaN, -0, ties: backward = CPU", sameBits(gotDx, wantDx));
    std::vector<float> planeY(yn);
    const std::vector<float> planeDx = planeKernels(g, x, dy, planeY);
    report("maxpool " + shape + " with NaN, -0, ties: forward per plane = CPU", sameBits(planeY, wantY));
    report("maxpool " + shape + " with NaN, -0, ties: backward per plane = CPU", sameBits(planeDx, wantDx));
  }
  // By hand, one 1x4 window: a NaN anywhere gives NaN, and the first NaN takes the gradient.
  PoolGeometry g{1, 1, 1, 4, 1, 4, 1, 1, 1, 1};
  const float dy1[1] = {5.0f};
  const float first[4] = {nan, 2.0f, 1.0f, 0.0f}, later[4] = {1.0f, 3.0f, nan, nan};
  const bool nanFirst = std::isnan(maxPoolOutput(g, 0, first)) && maxPoolInputGrad(g, 0, dy1, first) == 5.0f &&
                        maxPoolInputGrad(g, 1, dy1, first) == 0.0f;
  const bool nanLater = std::isnan(maxPoolOutput(g, 0, later)) && maxPoolInputGrad(g, 2, dy1, later) == 5.0f &&
                        maxPoolInputGrad(g, 1, dy1, later) == 0.0f && maxPoolInputGrad(g, 3, dy1, later) == 0.0f;
  report("maxpool: a NaN first in its window takes its gradient", nanFirst);
  report("maxpool: a later NaN beats any number; the first NaN takes it", nanLater);
}

// The CPU backend's loops (native/cpu/elementwise.cpp, built with -ffp-contract=off), restated.
void checkUpdates() {
  const size_t count = 4096;
  const float lr = 0.01f, momentum = 0.9f, weightDecay = 0.0005f, decayLr = weightDecay * lr;
  std::vector<float> w(count), v(count), g(count);
  for (size_t i = 0; i < count; ++i) {
    w[i] = 0.01f * counterNormal(1, i);
    v[i] = 1e-3f * counterNormal(2, i);
    g[i] = counterNormal(3, i);
  }
  std::vector<float> wCpu = w, vCpu = v, wEl = w, vEl = v, wFused = w;
  for (size_t i = 0; i < count; ++i) {
    const float vi = momentum * vCpu[i] - decayLr * wCpu[i] - lr * g[i];
    vCpu[i] = vi;
    wCpu[i] += vi;
    sgdElement(lr, momentum, decayLr, wEl[i], vEl[i], g[i]);
    // What nvcc's contraction computes: fma(-lr, g, fma(-decayLr, w, momentum * v)).
    const float vf = std::fma(-lr, g[i], std::fma(-decayLr, w[i], momentum * v[i]));
    wFused[i] = w[i] + vf;
  }
  report("sgd element = CPU loop, bit for bit (w and v)", sameBits(wEl, wCpu) && sameBits(vEl, vCpu));
  report("  (a fused multiply-add would change some of them)", !sameBits(wFused, wCpu));
  std::vector<float> yCpu(count), yEl(count), yFused(count), sCpu(count), sEl(count);
  for (size_t i = 0; i < count; ++i) {
    yCpu[i] = v[i];
    yCpu[i] += -0.37f * g[i];
    yEl[i] = axpyElement(-0.37f, g[i], v[i]);
    yFused[i] = std::fma(-0.37f, g[i], v[i]);
    sCpu[i] = 3.1f * g[i];
    sEl[i] = scaleElement(3.1f, g[i]);
  }
  report("axpy element = CPU loop, bit for bit", sameBits(yEl, yCpu));
  report("  (a fused multiply-add would change some of them)", !sameBits(yFused, yCpu));
  report("scale element = CPU loop, bit for bit", sameBits(sEl, sCpu));
}

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
    std::vector<float> yDevice(out.size());
    for (size_t o = 0; o < out.size(); ++o) yDevice[o] = maxPoolOutput(g, o, x.data());
    compare(c + " forward (element)", yDevice, out, 0);
    for (size_t i = 0; i < x.size(); ++i) dx[i] = maxPoolInputGrad(g, i, dy.data(), x.data());
    compare(c + " backward", dx, want, 1e-6);
    std::vector<float> planeY(out.size());
    const std::vector<float> planeDx = planeKernels(g, x, dy, planeY);
    compare(c + " forward (per plane)", planeY, out, 0);
    compare(c + " backward (per plane)", planeDx, want, 1e-6);
  }
  // Ties: an all-equal 4x4 plane, window 3 stride 1: every window's gradient goes to its top-left.
  PoolGeometry g{1, 1, 4, 4, 3, 3, 1, 1, 2, 2};
  std::vector<float> x(16, 0.0f), y(4, 0.0f), dy{1, 2, 4, 8}, dx(16), want(16, 0.0f);
  want[0] = 1;
  want[1] = 2;
  want[4] = 4;
  want[5] = 8;
  for (size_t i = 0; i < 16; ++i) dx[i] = maxPoolInputGrad(g, i, dy.data(), x.data());
  compare("maxpool ties go to the first maximum", dx, want, 0);
  checkMaxPoolAgainstCpuRule();
}

// lrn.cu's two-pass backward as host loops: every element's s and term (lrnBackwardTerm), then
// every gradient from them (lrnBackwardFromTerms), unrounded.
template <class T>
std::vector<float> twoPassLrnBackward(const LrnShape& sh, const std::vector<T>& dy, const std::vector<T>& x,
                                      const std::vector<T>& y) {
  std::vector<float> scale(x.size()), term(x.size()), dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    int c;
    size_t base;
    lrnLocate(sh, i, c, base);
    lrnBackwardTerm(sh, c, base, i, dy.data(), x.data(), y.data(), scale.data(), term.data());
  }
  for (size_t i = 0; i < x.size(); ++i) {
    int c;
    size_t base;
    lrnLocate(sh, i, c, base);
    dx[i] = lrnBackwardFromTerms(sh, c, base, i, dy.data(), x.data(), scale.data(), term.data());
  }
  return dx;
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
    report(std::string(c.name) + " backward in two passes = element by element, bit for bit",
           sameBits(twoPassLrnBackward(sh, dy, x, y), dx));
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
    report("lrn fallback size " + std::to_string(size) + " backward in two passes = element by element",
           sameBits(twoPassLrnBackward(sh, dy, x, y), dx));
  }
}

void checkCropImages() {
  for (std::string c : {"h1_pca_color_0_255", "h2_pca_color_0_1"}) {
    // h2's images are h1's divided by 255, so both cases start from h1's integer pixels, which the
    // oracle stores NCHW [4, 3, 8, 8]; the op reads NHWC.
    auto images = load("h1_pca_color_0_255", "images"), offsets = load(c, "offset");
    std::vector<uint8_t> bytes(images.size());
    for (int b = 0; b < 4; ++b)
      for (int ch = 0; ch < 3; ++ch)
        for (int i = 0; i < 64; ++i) bytes[(b * 64 + i) * 3 + ch] = static_cast<uint8_t>(images[(b * 3 + ch) * 64 + i]);
    const float scale = c == "h2_pca_color_0_1" ? 1.0f / 255.0f : 1.0f;
    CropGeometry g{4, 1, 8, 8, 3, 8, 8, scale, MeanMode::None};
    std::vector<float> params(4 * 6, 0.0f), out(4 * 3 * 64);
    for (int b = 0; b < 4; ++b)
      for (int ch = 0; ch < 3; ++ch) params[b * 6 + 3 + ch] = offsets[b * 3 + ch];  // the oracle's offsets
    for (int b = 0; b < 4; ++b) {
      const CropRow row = readCropRow(g, params.data(), b);
      for (int ch = 0; ch < 3; ++ch)
        for (int i = 0; i < 64; ++i) out[(b * 3 + ch) * 64 + i] = cropElement(g, row, b, ch, i, bytes.data(), nullptr);
    }
    compare(c + " out", out, load(c, "out"), 1e-6);
  }

  // The device element math equals the host crop (alexnet/crop.hpp, the data pipeline's loop) bit
  // for bit: rectangular images, several crops per image, flips, colour offsets, every mean mode.
  struct Case { int channels, crops; MeanMode mean; };
  for (Case k : {Case{3, 1, MeanMode::PerPixel}, Case{3, 10, MeanMode::PerChannel}, Case{1, 2, MeanMode::None},
                 Case{1, 1, MeanMode::PerPixel}}) {
    CropGeometry g{3, k.crops, 13, 11, k.channels, 9, 7, 1.0f / 255.0f, k.mean};
    const int rows = g.images * g.crops, stride = 3 + g.channels;
    const size_t imageBytes = static_cast<size_t>(g.srcH) * g.srcW * g.channels;
    std::vector<uint8_t> bytes(imageBytes * g.images);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
    std::vector<float> mean(k.mean == MeanMode::PerChannel ? g.channels : static_cast<size_t>(g.channels) * g.srcH * g.srcW);
    for (size_t i = 0; i < mean.size(); ++i) mean[i] = 0.3f + 0.0137f * static_cast<float>(i % 31);
    std::vector<float> params(static_cast<size_t>(rows) * stride);
    for (int r = 0; r < rows; ++r) {
      float* p = &params[static_cast<size_t>(r) * stride];
      p[0] = static_cast<float>((r * 3) % (g.srcH - g.outH + 1));
      p[1] = static_cast<float>((r * 5) % (g.srcW - g.outW + 1));
      p[2] = static_cast<float>(r % 2);
      for (int c = 0; c < g.channels; ++c) p[3 + c] = 0.05f * counterNormal(3, static_cast<uint64_t>(r * 4 + c));
    }
    const size_t rowFloats = static_cast<size_t>(g.channels) * g.outH * g.outW;
    std::vector<float> device(rows * rowFloats), host(rows * rowFloats);
    for (int r = 0; r < rows; ++r) {
      const CropRow row = readCropRow(g, params.data(), r);
      for (int c = 0; c < g.channels; ++c)
        for (int i = 0; i < g.outH * g.outW; ++i)
          device[r * rowFloats + static_cast<size_t>(c) * g.outH * g.outW + i] =
              cropElement(g, row, r, c, i, bytes.data(), mean.data());
      const float* p = &params[static_cast<size_t>(r) * stride];
      cropImage(bytes.data() + static_cast<size_t>(r / g.crops) * imageBytes, g.srcH, g.srcW, g.channels, g.scale,
                g.mean, mean.data(), p + 3, {static_cast<int>(p[0]), static_cast<int>(p[1]), p[2] != 0.0f}, g.outH,
                g.outW, host.data() + r * rowFloats);
    }
    const bool same = std::memcmp(device.data(), host.data(), host.size() * sizeof(float)) == 0;
    if (!same) ++oracle::failures();
    std::printf("crop element = host crop (C %d, %d crops, mean mode %d): %s\n", g.channels, g.crops,
                static_cast<int>(g.mean), same ? "ok" : "FAIL");
  }

  // Windows that are not whole pixels inside the image make NaN rows.
  CropGeometry g{1, 1, 8, 8, 1, 6, 6, 1.0f, MeanMode::None};
  const uint8_t pixels[64] = {};
  int rejected = 0;
  for (std::vector<float> p : {std::vector<float>{3, 0, 0, 0}, {0, -1, 0, 0}, {0.5f, 0, 0, 0}, {0, 0, 2, 0},
                               {NAN, 0, 0, 0}}) {
    const CropRow row = readCropRow(g, p.data(), 0);
    rejected += !row.valid && std::isnan(cropElement(g, row, 0, 0, 0, pixels, nullptr));
  }
  const CropRow corner = readCropRow(g, std::vector<float>{2, 2, 1, 0}.data(), 0);
  const bool ok = rejected == 5 && corner.valid;
  if (!ok) ++oracle::failures();
  std::printf("crop windows outside the image become NaN rows: %s\n", ok ? "ok" : "FAIL");
}

template <class T>
bool sameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The CPU backend's bfloat16 ReLU (native/cpu/bf16.cpp) works on the bits; restated here, it must
// equal the element functions on all 65536 patterns (NaNs, infinities, signed zeros, subnormals).
void checkReluBf16() {
  bool forward = true, backward = true, asFloat = true;
  const BFloat16 dyOne = toBf16(3.0f);
  for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const uint16_t b = static_cast<uint16_t>(bits);
    const bool negative = (b & 0x8000u) && (b & 0x7fffu) != 0 && (b & 0x7fffu) <= 0x7f80u;
    const bool positive = !(b & 0x8000u) && b != 0 && b <= 0x7f80u;
    const BFloat16 x{b};
    forward = forward && reluForwardElement(x).bits == (negative ? 0 : b);
    backward = backward && reluBackwardElement(dyOne, x).bits == (positive ? dyOne.bits : 0);
    // The float32 rule on the widened value gives the same bits, widened.
    const float f = reluForwardElement(toFloat(x));
    asFloat = asFloat && floatBits(f) == floatBits(toFloat(reluForwardElement(x)));
  }
  report("relu bf16 forward = CPU bit rule, all 65536 inputs", forward);
  report("relu bf16 backward = CPU bit rule, all 65536 outputs", backward);
  report("relu bf16 = float32 rule on the widened input", asFloat);
}

// The CPU's bfloat16 pooling (native/cpu/pool.cpp) widens, runs the float32 loops and rounds each
// output once: the element functions over BFloat16, rounded once, must give its bits. Inputs with
// NaN, signed zeros, ties, and distinct floats that round to one bfloat16 (new ties).
void checkMaxPoolBf16() {
  const float nan = std::numeric_limits<float>::quiet_NaN(), otherNan = floatFromBits(0xffc12345u);
  for (PoolGeometry g : {PoolGeometry{2, 3, 13, 13, 3, 3, 2, 2, 6, 6}, PoolGeometry{1, 2, 7, 9, 2, 3, 1, 2, 6, 4}}) {
    const size_t xn = static_cast<size_t>(g.n) * g.c * g.h * g.w, yn = static_cast<size_t>(g.n) * g.c * g.outH * g.outW;
    std::vector<float> xf(xn), dyf(yn);
    for (size_t i = 0; i < xn; ++i) {
      const uint64_t r = mix64(i * 7 + 1) % 16;
      xf[i] = r == 0 ? nan : r == 15 ? otherNan : r == 1 ? -0.0f : r == 2 ? 0.0f : r < 6 ? 1.5f + static_cast<float>(r) * 1e-4f
                                                                    : static_cast<float>(r) - 9.0f;
    }
    for (size_t o = 0; o < yn; ++o) dyf[o] = 1.0f + static_cast<float>(o % 7) / 8.0f + 1e-3f * static_cast<float>(o % 5);
    const std::vector<BFloat16> x = bf16check::round(xf), dy = bf16check::round(dyf);
    std::vector<float> wideY(yn), wideDx(xn);
    cpuMaxPool(g, bf16check::widen(x).data(), bf16check::widen(dy).data(), wideY.data(), wideDx.data());
    const std::vector<BFloat16> wantY = bf16check::round(wideY), wantDx = bf16check::round(wideDx);
    std::vector<BFloat16> gotY(yn), gotDx(xn);
    for (size_t o = 0; o < yn; ++o) gotY[o] = storeElement<BFloat16>(maxPoolOutput(g, o, x.data()));
    for (size_t i = 0; i < xn; ++i) gotDx[i] = storeElement<BFloat16>(maxPoolInputGrad(g, i, dy.data(), x.data()));
    const std::string shape = std::to_string(g.h) + "x" + std::to_string(g.w);
    report("maxpool bf16 " + shape + " forward = CPU's bf16 loops, bit for bit", sameBits(gotY, wantY));
    report("maxpool bf16 " + shape + " backward = CPU's bf16 loops, bit for bit", sameBits(gotDx, wantDx));
    std::vector<float> planeWideY(yn);
    const std::vector<float> planeWideDx = planeKernels(g, x, dy, planeWideY);
    std::vector<BFloat16> planeY(yn), planeDx(xn);
    for (size_t o = 0; o < yn; ++o) planeY[o] = storeElement<BFloat16>(planeWideY[o]);
    for (size_t i = 0; i < xn; ++i) planeDx[i] = storeElement<BFloat16>(planeWideDx[i]);
    report("maxpool bf16 " + shape + " per plane = CPU's bf16 loops, bit for bit", sameBits(planeY, wantY) && sameBits(planeDx, wantDx));
  }
}

// The float16 ReLU (the same element functions over Float16) passes bits or writes +0: on all
// 65536 patterns, forward zeroes exactly the negative numbers (-inf included, NaN and -0 pass) and
// backward passes dy exactly where y is a positive number (+inf included).
void checkReluF16() {
  bool forward = true, backward = true;
  const Float16 dyOne = toF16(3.0f);
  for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const uint16_t b = static_cast<uint16_t>(bits);
    const bool negative = (b & 0x8000u) && (b & 0x7fffu) != 0 && (b & 0x7fffu) <= 0x7c00u;
    const bool positive = !(b & 0x8000u) && b != 0 && b <= 0x7c00u;
    const Float16 x{b};
    forward = forward && reluForwardElement(x).bits == (negative ? 0 : b);
    backward = backward && reluBackwardElement(dyOne, x).bits == (positive ? dyOne.bits : 0);
  }
  report("relu fp16 forward = bit rule, all 65536 inputs", forward);
  report("relu fp16 backward = bit rule, all 65536 outputs", backward);
}

// LRN over a 16-bit type T is the float32 element math on the widened values (loads are exact),
// and within T's bound of the oracle (the bounds of test/20.ops.bf16.test.ts, u of T).
template <class T>
void checkLrnHalf() {
  using bf16check::HalfType;
  const double u = HalfType<T>::u;
  struct Case { const char* name; int size; float alpha, beta, k; };
  for (Case c : {Case{"b1_lrn_paper", 5, 1e-4f, 0.75f, 2.0f},
                 Case{"b3_lrn_n3_k1_a05_b05", 3, 0.5f, 0.5f, 1.0f},
                 Case{"b4_lrn_paper_fewchannels", 5, 1e-4f, 0.75f, 2.0f}}) {
    auto s = shape(c.name, "x");
    const LrnGeometry g{s[0], s[1], s[2], s[3], c.size, c.alpha, c.beta, c.k};
    const LrnShape sh = lrnShapeOf(g);
    const std::vector<T> x = bf16check::roundTo<T>(load(c.name, "x")), dy = bf16check::roundTo<T>(load(c.name, "g"));
    const std::vector<float> xw = bf16check::widen(x), dyw = bf16check::widen(dy);
    std::vector<T> y(x.size()), dx(x.size());
    std::vector<float> yWide(x.size()), dxWide(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      y[i] = storeElement<T>(lrnForwardElement(sh, i, x.data()));
      yWide[i] = lrnForwardElement(sh, i, xw.data());
    }
    const std::vector<float> yw = bf16check::widen(y);
    for (size_t i = 0; i < x.size(); ++i) {
      dx[i] = storeElement<T>(lrnBackwardElement(sh, i, dy.data(), x.data(), y.data()));
      dxWide[i] = lrnBackwardElement(sh, i, dyw.data(), xw.data(), yw.data());
    }
    const std::string name = c.name;
    report(name + " " + HalfType<T>::name + " = float32 element math on widened values",
           sameBits(y, bf16check::roundTo<T>(yWide)) && sameBits(dx, bf16check::roundTo<T>(dxWide)));
    report(name + " " + HalfType<T>::name + " backward in two passes = element by element",
           sameBits(bf16check::roundTo<T>(twoPassLrnBackward(sh, dy, x, y)), dx));
    const auto out = load(c.name, "out"), gradX = load(c.name, "grad_x");
    bf16check::compareWithin(name + " " + HalfType<T>::name + " forward", yw, out, bf16check::sumBound(c.size, bf16check::maxAbs(out), out, u));
    bf16check::compareWithin(name + " " + HalfType<T>::name + " backward", bf16check::widen(dx), gradX,
                             bf16check::sumBound(c.size + 1, bf16check::maxAbs(gradX), gradX, u));
  }
}

}  // namespace

// The bias gradient's walk over (image, pixel) without divisions visits what k / plane and
// k % plane name, for planes smaller and larger than the step, of one pixel and of none.
void checkPlaneWalk() {
  bool same = true;
  for (size_t plane : {size_t(0), size_t(1), size_t(3), size_t(169), size_t(256), size_t(729), size_t(3025)})
    for (size_t step : {size_t(1), size_t(32), size_t(256)})
      for (size_t start = 0; start < step && start < 40; ++start) {
        PlaneWalk walk(plane, start, step);
        const size_t p = plane > 0 ? plane : 1;
        for (size_t k = start; k < 5 * p + 7; k += step, walk.next()) same = same && walk.image == k / p && walk.at == k % p;
      }
  report("plane walk = k / plane and k % plane at every step", same);
}

int main(int argc, char** argv) {
  if (argc > 1) oracle::dataDir() = argv[1];
  checkMaxPool();
  checkLrn();
  checkPlaneWalk();
  checkCropImages();
  checkUpdates();
  checkReluBf16();
  checkMaxPoolBf16();
  checkLrnHalf<BFloat16>();
  checkReluF16();
  checkLrnHalf<Float16>();
  std::printf("%s\n", oracle::failures() ? "FAILED" : "all ok");
  return oracle::failures() != 0;
}
