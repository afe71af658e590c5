// Runs every op of the CUDA backend on a GPU and compares it with the float64 oracle (conv, LRN,
// pooling, linear, softmax cross-entropy, SGD) or with the same computation on the host (dropout,
// init, top-k, elementwise, copies, cropImages); the bfloat16 and float16 overloads of the op
// table against the same oracle within their bounds (bf16_bounds.hpp) and against the host
// element functions bit for bit (ReLU, pooling). Then times AlexNet's conv1/conv2 at batch 128, in float32,
// bfloat16 and float16.
// Loads libalexnet_cuda.so with dlopen as the core does; needs no Node. Without a GPU it says so
// and exits 0, or 1 when ALEXNET_REQUIRE_GPU=1.
// Run: bash native/cuda/test/run_checks.sh [libalexnet_cuda.so]
#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "alexnet/backend.hpp"
#include "alexnet/crop.hpp"
#include "alexnet/error.hpp"
#include "alexnet/random.hpp"
#include "bf16_bounds.hpp"
#include "device_scratch.hpp"
#include "kernels/maxpool_element.hpp"
#include "kernels/relu_element.hpp"
#include "kernels/update_element.hpp"
#include "module_entries.hpp"
#include "oracle_files.hpp"

using alexnet::Backend;
using oracle::compare;
using oracle::load;
using oracle::shape;

namespace {

// Tolerances relative to the largest reference value. torch's own float32 error on these cases is
// at most 1e-6 of it; cuDNN may choose FFT or Winograd convolutions, which round more.
constexpr double kConvTol = 2e-5;

// The oracle's LRN cases and their options, for float32 and the 16-bit types alike.
struct LrnCase { const char* name; int size; float alpha, beta, k; };
constexpr LrnCase kLrnCases[] = {{"b1_lrn_paper", 5, 1e-4f, 0.75f, 2.0f},
                                 {"b2_lrn_paper_large", 5, 1e-4f, 0.75f, 2.0f},
                                 {"b3_lrn_n3_k1_a05_b05", 3, 0.5f, 0.5f, 1.0f},
                                 {"b4_lrn_paper_fewchannels", 5, 1e-4f, 0.75f, 2.0f}};

void report(const std::string& what, bool ok);

size_t product(const std::vector<int>& s) {
  size_t n = 1;
  for (int d : s) n *= static_cast<size_t>(d);
  return n;
}

// The oracle's convolution cases (their shapes are read from the references), checked in float32
// and in each 16-bit type.
struct ConvCase { const char* name; int stride, pad, groups; };
const ConvCase kConvCases[] = {{"a1_conv_k11_s4_p2", 4, 2, 1}, {"a2_conv_grouped_k5_p2", 1, 2, 2},
                               {"a3_conv_k3_p1", 1, 1, 1},     {"a4_conv_rect_floor", 4, 2, 1},
                               {"a5_conv_grouped_k3_p1", 1, 1, 2}};

// The case's geometry from its input, weight and output shapes.
alexnet::ConvGeometry geometryOf(const ConvCase& c, const std::vector<int>& xs, const std::vector<int>& ws,
                                 const std::vector<int>& ys) {
  return alexnet::ConvGeometry{xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], c.stride, c.stride,
                               c.pad,  c.pad,  c.groups, ys[2], ys[3]};
}

void checkConvolutions(Backend& b, void (*setTf32)(Backend*, int)) {
  for (const ConvCase& c : kConvCases) {
    Scratch s(b);
    const auto xs = shape(c.name, "x"), ws = shape(c.name, "weight"), ys = shape(c.name, "out");
    const alexnet::ConvGeometry g = geometryOf(c, xs, ws, ys);
    float* x = s.upload(load(c.name, "x"));
    float* w = s.upload(load(c.name, "weight"));
    float* bias = s.upload(load(c.name, "bias"));
    float* dy = s.upload(load(c.name, "g"));
    float* y = s.alloc<float>(product(ys));
    float* dx = s.alloc<float>(product(xs));
    float* dw = s.alloc<float>(product(ws));
    float* db = s.alloc<float>(static_cast<size_t>(ws[0]));
    const std::string name = c.name;
    b.conv2dForward(g, x, w, bias, y);
    compare(name + " forward", s.download(y, product(ys)), load(c.name, "out"), kConvTol);
    b.conv2dBackwardData(g, dy, w, dx);
    compare(name + " backward data", s.download(dx, product(xs)), load(c.name, "grad_x"), kConvTol);
    b.fill(product(ws), 1e30f, dw);  // must be overwritten, not accumulated
    b.conv2dBackwardFilter(g, x, dy, dw, db);
    compare(name + " backward filter", s.download(dw, product(ws)), load(c.name, "grad_weight"),
            kConvTol);
    compare(name + " backward bias", s.download(db, ws[0]), load(c.name, "grad_bias"), kConvTol);
    if (name == "a1_conv_k11_s4_p2") {
      // TF32 keeps 10 mantissa bits of each product: ~1e-3 relative.
      setTf32(&b, 1);
      b.conv2dForward(g, x, w, bias, y);
      compare(name + " forward, TF32", s.download(y, product(ys)), load(c.name, "out"), 1e-2);
      setTf32(&b, 0);
      b.conv2dForward(g, x, w, bias, y);
      compare(name + " forward, FP32 again", s.download(y, product(ys)), load(c.name, "out"),
              kConvTol);
    }
  }
}

void checkLrnAndPooling(Backend& b) {
  for (const LrnCase& c : kLrnCases) {
    Scratch s(b);
    const auto xs = shape(c.name, "x");
    alexnet::LrnGeometry g{xs[0], xs[1], xs[2], xs[3], c.size, c.alpha, c.beta, c.k};
    float* x = s.upload(load(c.name, "x"));
    float* dy = s.upload(load(c.name, "g"));
    float* y = s.alloc<float>(product(xs));
    float* dx = s.alloc<float>(product(xs));
    b.lrnForward(g, x, y);
    compare(std::string(c.name) + " forward", s.download(y, product(xs)), load(c.name, "out"),
            1e-5);
    b.lrnBackward(g, dy, x, y, dx);
    compare(std::string(c.name) + " backward", s.download(dx, product(xs)),
            load(c.name, "grad_x"), 1e-5);
  }
  for (const char* name :
       {"c1_maxpool_13", "c2_maxpool_27", "c3_maxpool_55", "c4_maxpool_rect_even"}) {
    Scratch s(b);
    const auto xs = shape(name, "x"), ys = shape(name, "out");
    alexnet::PoolGeometry g{xs[0], xs[1], xs[2], xs[3], 3, 3, 2, 2, ys[2], ys[3]};
    float* x = s.upload(load(name, "x"));
    float* dy = s.upload(load(name, "g"));
    float* y = s.alloc<float>(product(ys));
    float* dx = s.alloc<float>(product(xs));
    b.maxPoolForward(g, x, y);
    compare(std::string(name) + " forward", s.download(y, product(ys)), load(name, "out"), 0);
    b.maxPoolBackward(g, dy, x, y, dx);
    compare(std::string(name) + " backward", s.download(dx, product(xs)), load(name, "grad_x"),
            1e-6);
  }
}

void checkLinearLossAndSgd(Backend& b) {
  {
    Scratch s(b);
    const char* c = "d1_linear";
    const auto xs = shape(c, "x"), ws = shape(c, "weight");
    const int n = xs[0], in = xs[1], out = ws[0];
    float* x = s.upload(load(c, "x"));
    float* w = s.upload(load(c, "weight"));
    float* bias = s.upload(load(c, "bias"));
    float* dy = s.upload(load(c, "g"));
    float* y = s.alloc<float>(static_cast<size_t>(n) * out);
    float* dx = s.alloc<float>(static_cast<size_t>(n) * in);
    float* dw = s.alloc<float>(static_cast<size_t>(out) * in);
    float* db = s.alloc<float>(static_cast<size_t>(out));
    b.linearForward(n, in, out, x, w, bias, y);
    compare("d1_linear forward", s.download(y, static_cast<size_t>(n) * out), load(c, "out"), 1e-5);
    b.linearBackward(n, in, out, dy, x, w, dx, dw, db);
    compare("d1_linear backward x", s.download(dx, static_cast<size_t>(n) * in),
            load(c, "grad_x"), 1e-5);
    compare("d1_linear backward weight", s.download(dw, static_cast<size_t>(out) * in),
            load(c, "grad_weight"), 1e-5);
    compare("d1_linear backward bias", s.download(db, out), load(c, "grad_bias"), 1e-5);
  }
  for (const char* c : {"e1_softmax_ce", "e2_softmax_ce_large_logits"}) {
    Scratch s(b);
    const auto ls = shape(c, "logits");
    const int n = ls[0], classes = ls[1];
    float* logits = s.upload(load(c, "logits"));
    int32_t* labels = s.uploadLabels(load(c, "labels"));
    float* loss = s.alloc<float>(1);
    float* dlogits = s.alloc<float>(product(ls));
    float* probs = s.alloc<float>(product(ls));
    b.softmaxCrossEntropy(n, classes, logits, labels, loss, dlogits);
    compare(std::string(c) + " loss", s.download(loss, 1), load(c, "loss"), 1e-5);
    compare(std::string(c) + " dlogits", s.download(dlogits, product(ls)),
            load(c, "grad_logits"), 1e-5);
    b.softmax(n, classes, logits, probs);
    compare(std::string(c) + " softmax", s.download(probs, product(ls)), load(c, "probs"), 1e-5);
  }
  {
    Scratch s(b);
    const char* c = "g1_sgd_rule";
    const size_t count = product(shape(c, "w0"));
    float* w = s.upload(load(c, "w0"));
    float* v = s.upload(load(c, "v0"));
    float* g1 = s.upload(load(c, "grad1"));
    float* g2 = s.upload(load(c, "grad2"));
    b.sgdStep(count, 0.01f, 0.9f, 0.0005f, w, v, g1);
    compare("g1_sgd_rule step 1 w", s.download(w, count), load(c, "w1"), 1e-6);
    compare("g1_sgd_rule step 1 v", s.download(v, count), load(c, "v1"), 1e-6);
    b.sgdStep(count, 0.001f, 0.9f, 0.0005f, w, v, g2);
    compare("g1_sgd_rule step 2 w", s.download(w, count), load(c, "w2"), 1e-6);
    compare("g1_sgd_rule step 2 v", s.download(v, count), load(c, "v2"), 1e-6);
  }
}

// ---- bfloat16 and float16 ---------------------------------------------------------------------
// Each op of the op table's F32_BF16_F16 rows with bfloat16 and with float16 activations (T)
// against the float64 oracle, with the bounds of test/20.ops.bf16.test.ts and
// test/21.ops.float16.test.ts (bf16_bounds.hpp; u of T). Weight and bias gradients are float32.

using alexnet::BFloat16;
using alexnet::Float16;
using bf16check::compareWithin;
using bf16check::HalfType;
using bf16check::maxAbs;

// sumBound with T's unit roundoff.
template <class T>
double sumBound(double k, double termMax, const std::vector<float>& ref) {
  return bf16check::sumBound(k, termMax, ref, HalfType<T>::u);
}

template <class T>
void checkConvolutionsHalf(Backend& b) {
  for (const ConvCase& c : kConvCases) {
    Scratch s(b);
    const auto xs = shape(c.name, "x"), ws = shape(c.name, "weight"), ys = shape(c.name, "out");
    const alexnet::ConvGeometry g = geometryOf(c, xs, ws, ys);
    const auto xv = load(c.name, "x"), wv = load(c.name, "weight"), gv = load(c.name, "g");
    const double xm = maxAbs(xv), wm = maxAbs(wv), gm = maxAbs(gv);
    T* x = s.template upload16<T>(xv);
    T* w = s.template upload16<T>(wv);
    T* dy = s.template upload16<T>(gv);
    float* bias = s.upload(load(c.name, "bias"));
    T* y = s.alloc<T>(product(ys));
    T* dx = s.alloc<T>(product(xs));
    float* dw = s.alloc<float>(product(ws));
    float* db = s.alloc<float>(static_cast<size_t>(ws[0]));
    const std::string name = std::string(c.name) +  " " + std::string(HalfType<T>::name);
    const auto out = load(c.name, "out"), gradX = load(c.name, "grad_x");
    const auto gradW = load(c.name, "grad_weight"), gradB = load(c.name, "grad_bias");
    b.conv2dForward(g, x, w, bias, y);
    compareWithin(name + " forward", s.download16(y, product(ys)), out,
                  sumBound<T>((g.c / g.groups) * g.kh * g.kw, xm * wm, out));
    b.conv2dBackwardData(g, dy, w, dx);
    // Each input element is reached by at most (o / groups) * ceil(kh / s) * ceil(kw / s) terms.
    const double kdx = (g.o / g.groups) * std::ceil(double(g.kh) / c.stride) * std::ceil(double(g.kw) / c.stride);
    compareWithin(name + " backward data", s.download16(dx, product(xs)), gradX, sumBound<T>(kdx, gm * wm, gradX));
    b.fill(product(ws), 1e30f, dw);  // must be overwritten, not accumulated
    b.fill(static_cast<size_t>(ws[0]), 1e30f, db);
    b.conv2dBackwardFilter(g, x, dy, dw, db);
    const double terms = static_cast<double>(g.n) * g.outH * g.outW;
    compareWithin(name + " backward filter", s.download(dw, product(ws)), gradW, sumBound<T>(terms, xm * gm, gradW));
    compareWithin(name + " backward bias", s.download(db, ws[0]), gradB, sumBound<T>(terms, gm, gradB));
  }
}

template <class T>
void checkLrnAndPoolingHalf(Backend& b) {
  for (const LrnCase& c : kLrnCases) {
    Scratch s(b);
    const auto xs = shape(c.name, "x");
    alexnet::LrnGeometry g{xs[0], xs[1], xs[2], xs[3], c.size, c.alpha, c.beta, c.k};
    T* x = s.template upload16<T>(load(c.name, "x"));
    T* dy = s.template upload16<T>(load(c.name, "g"));
    T* y = s.alloc<T>(product(xs));
    T* dx = s.alloc<T>(product(xs));
    const auto out = load(c.name, "out"), gradX = load(c.name, "grad_x");
    b.lrnForward(g, x, y);
    compareWithin(std::string(c.name) + " " + std::string(HalfType<T>::name) + " forward", s.download16(y, product(xs)), out,
                  sumBound<T>(c.size, maxAbs(out), out));
    b.lrnBackward(g, dy, x, y, dx);
    compareWithin(std::string(c.name) + " " + std::string(HalfType<T>::name) + " backward", s.download16(dx, product(xs)), gradX,
                  sumBound<T>(c.size + 1, maxAbs(gradX), gradX));
  }
  for (const char* name :
       {"c1_maxpool_13", "c2_maxpool_27", "c3_maxpool_55", "c4_maxpool_rect_even"}) {
    Scratch s(b);
    const auto xs = shape(name, "x"), ys = shape(name, "out");
    alexnet::PoolGeometry g{xs[0], xs[1], xs[2], xs[3], 3, 3, 2, 2, ys[2], ys[3]};
    const auto xv = load(name, "x"), gv = load(name, "g"), out = load(name, "out");
    T* x = s.template upload16<T>(xv);
    T* dy = s.template upload16<T>(gv);
    T* y = s.alloc<T>(product(ys));
    T* dx = s.alloc<T>(product(xs));
    b.maxPoolForward(g, x, y);
    b.maxPoolBackward(g, dy, x, y, dx);
    // The maximum of rounded values is the rounded maximum.
    compareWithin(std::string(name) + " " + std::string(HalfType<T>::name) + " forward", s.download16(y, product(ys)), out,
                  HalfType<T>::u * maxAbs(out));
    // Distinct inputs may round to one value, and then the first maximum wins: the reference
    // routes the float32 gradient by the rounded input; an input wins at most 4 windows.
    const std::vector<float> xRounded = bf16check::widen(bf16check::roundTo<T>(xv));
    std::vector<float> want(product(xs));
    for (size_t i = 0; i < want.size(); ++i)
      want[i] = alexnet::cuda::kernels::maxPoolInputGrad(g, i, gv.data(), xRounded.data());
    const std::vector<T> gotDx = s.downloadBits(dx, product(xs));
    compareWithin(std::string(name) + " " + std::string(HalfType<T>::name) + " backward", bf16check::widen(gotDx), want,
                  sumBound<T>(4, maxAbs(gv), want));
    // And the host element functions' bits (the CPU backend's, element_math_check.cpp).
    const std::vector<T> xBits = bf16check::roundTo<T>(xv), gBits = bf16check::roundTo<T>(gv);
    bool same = true;
    for (size_t i = 0; i < gotDx.size() && same; ++i)
      same = gotDx[i].bits ==
             HalfType<T>::from(alexnet::cuda::kernels::maxPoolInputGrad(g, i, gBits.data(), xBits.data())).bits;
    report(std::string(name) + " " + std::string(HalfType<T>::name) + " backward = host element, bit for bit", same);
  }
}

template <class T>
void checkLinearAndReluHalf(Backend& b) {
  {
    Scratch s(b);
    const char* c = "d1_linear";
    const auto xs = shape(c, "x"), ws = shape(c, "weight");
    const int n = xs[0], in = xs[1], out = ws[0];
    const auto xv = load(c, "x"), wv = load(c, "weight"), gv = load(c, "g");
    const double xm = maxAbs(xv), wm = maxAbs(wv), gm = maxAbs(gv);
    T* x = s.template upload16<T>(xv);
    T* w = s.template upload16<T>(wv);
    T* dy = s.template upload16<T>(gv);
    const auto biasV = load(c, "bias");
    float* bias = s.upload(biasV);
    const size_t yn = static_cast<size_t>(n) * out;
    T* y = s.alloc<T>(yn);
    T* dx = s.alloc<T>(static_cast<size_t>(n) * in);
    float* dw = s.alloc<float>(static_cast<size_t>(out) * in);
    float* db = s.alloc<float>(static_cast<size_t>(out));
    const auto yRef = load(c, "out");
    b.linearForward(n, in, out, x, w, bias, y);
    compareWithin("d1_linear " + std::string(HalfType<T>::name) + " forward", s.download16(y, yn), yRef, sumBound<T>(in, xm * wm, yRef));
    // Without a bias cuBLAS writes bfloat16 itself: the reference less the bias.
    std::vector<float> noBias(yRef);
    for (size_t i = 0; i < yn; ++i) noBias[i] -= biasV[i % out];
    b.linearForward(n, in, out, x, w, nullptr, y);
    compareWithin("d1_linear " + std::string(HalfType<T>::name) + " forward, no bias", s.download16(y, yn), noBias, sumBound<T>(in, xm * wm, noBias));
    b.fill(static_cast<size_t>(out) * in, 1e30f, dw);
    b.linearBackward(n, in, out, dy, x, w, dx, dw, db);
    const auto gradX = load(c, "grad_x"), gradW = load(c, "grad_weight"), gradB = load(c, "grad_bias");
    compareWithin("d1_linear " + std::string(HalfType<T>::name) + " backward x", s.download16(dx, static_cast<size_t>(n) * in), gradX,
                  sumBound<T>(out, gm * wm, gradX));
    compareWithin("d1_linear " + std::string(HalfType<T>::name) + " backward weight", s.download(dw, static_cast<size_t>(out) * in), gradW,
                  sumBound<T>(n, xm * gm, gradW));
    compareWithin("d1_linear " + std::string(HalfType<T>::name) + " backward bias", s.download(db, out), gradB, sumBound<T>(n, gm, gradB));
  }
  {
    // ReLU: the host element functions' bits (the CPU backend's bit rule) on every bit pattern.
    Scratch s(b);
    const size_t count = 1 << 16;
    std::vector<T> x(count), dy(count, HalfType<T>::from(3.0f)), wantY(count), wantDx(count);
    for (size_t i = 0; i < count; ++i) x[i].bits = static_cast<uint16_t>(i);
    auto* dx_ = s.alloc<T>(count);
    auto* ddy = s.alloc<T>(count);
    auto* y = s.alloc<T>(count);
    auto* dx = s.alloc<T>(count);
    b.copyFromHost(dx_, x.data(), count * sizeof(T));
    b.copyFromHost(ddy, dy.data(), count * sizeof(T));
    b.reluForward(count, dx_, y);
    b.reluBackward(count, ddy, dx_, dx);  // the gradient decided by every pattern as y
    for (size_t i = 0; i < count; ++i) {
      wantY[i] = alexnet::cuda::kernels::reluForwardElement(x[i]);
      wantDx[i] = alexnet::cuda::kernels::reluBackwardElement(dy[i], x[i]);
    }
    const auto gotY = s.downloadBits(y, count), gotDx = s.downloadBits(dx, count);
    report("relu " + std::string(HalfType<T>::name) + " forward = host rule, all patterns", std::memcmp(gotY.data(), wantY.data(), count * 2) == 0);
    report("relu " + std::string(HalfType<T>::name) + " backward = host rule, all patterns", std::memcmp(gotDx.data(), wantDx.data(), count * 2) == 0);
  }
}

template <class T, bool (Backend::*supports)(std::string*) const>
void checkHalf(Backend& b, const char* what) {
  std::string reason;
  const bool supported = (b.*supports)(&reason);
  report(std::string(what) + ": " + reason, supported);
  if (!supported) return;
  checkConvolutionsHalf<T>(b);
  checkLrnAndPoolingHalf<T>(b);
  checkLinearAndReluHalf<T>(b);
}

void checkBf16(Backend& b) { checkHalf<BFloat16, &Backend::bf16Supported>(b, "bf16Supported"); }
void checkFp16(Backend& b) { checkHalf<Float16, &Backend::fp16Supported>(b, "fp16Supported"); }

// Ops whose reference is the same computation on the host.
void checkAgainstHost(Backend& b) {
  Scratch s(b);
  const size_t count = 10007;  // not a multiple of the block size
  std::vector<float> x(count), dy(count);
  for (size_t i = 0; i < count; ++i) {
    x[i] = alexnet::counterNormal(7, i);
    dy[i] = alexnet::counterNormal(8, i);
  }
  float* dx_ = s.upload(x);
  float* ddy = s.upload(dy);
  float* y = s.alloc<float>(count);
  float* mask = s.alloc<float>(count);
  float* out = s.alloc<float>(count);

  // Dropout: the mask must equal the host's draw bit for bit.
  const float p = 0.5f;
  b.dropoutForward(count, p, 1234, 0, count, count, dx_, y, mask);
  std::vector<float> wantMask(count), wantY(count), wantDx(count);
  for (size_t i = 0; i < count; ++i) {
    wantMask[i] = alexnet::counterUniform(1234, i) >= p ? 1.0f / (1.0f - p) : 0.0f;
    wantY[i] = x[i] * wantMask[i];
    wantDx[i] = dy[i] * wantMask[i];
  }
  compare("dropout forward mask", s.download(mask, count), wantMask, 0);
  compare("dropout forward y", s.download(y, count), wantY, 0);
  b.dropoutBackward(count, ddy, mask, out);
  compare("dropout backward", s.download(out, count), wantDx, 0);
  // With an element offset (a data-parallel rank's rows of a global batch): the draws continue.
  b.dropoutForward(count, p, 1234, 1000, count, count, dx_, y, out);
  for (size_t i = 0; i < count; ++i) wantMask[i] = alexnet::counterUniform(1234, 1000 + i) >= p ? 1.0f / (1.0f - p) : 0.0f;
  compare("dropout forward mask at an offset", s.download(out, count), wantMask, 0);
  // Columns [7, 7 + 16) of rows 40 wide (a model-parallel rank's features): counters row * 40 + 7 + column.
  b.dropoutForward(count, p, 1234, 7, 16, 40, dx_, y, out);
  for (size_t i = 0; i < count; ++i)
    wantMask[i] = alexnet::counterUniform(1234, 7 + (i / 16) * 40 + i % 16) >= p ? 1.0f / (1.0f - p) : 0.0f;
  compare("dropout forward mask of strided rows", s.download(out, count), wantMask, 0);

  // normalInit: identical up to the device's double log/cos (within an ulp of float).
  b.normalInit(count, 0.5f, 0.01f, 99, 0, out);
  std::vector<float> wantInit(count);
  for (size_t i = 0; i < count; ++i) wantInit[i] = 0.5f + 0.01f * alexnet::counterNormal(99, i);
  compare("normalInit", s.download(out, count), wantInit, 2e-7);

  // ReLU, fill, axpy, scale.
  std::vector<float> wantRelu(count), wantReluDx(count), wantAxpy(count), wantScale(count);
  for (size_t i = 0; i < count; ++i) {
    wantRelu[i] = x[i] > 0 ? x[i] : 0.0f;
    wantReluDx[i] = wantRelu[i] > 0 ? dy[i] : 0.0f;
    wantScale[i] = 3.0f * x[i];
    wantAxpy[i] = wantScale[i] + -2.0f * dy[i];
  }
  b.reluForward(count, dx_, y);
  compare("relu forward", s.download(y, count), wantRelu, 0);
  b.reluBackward(count, ddy, y, out);
  compare("relu backward", s.download(out, count), wantReluDx, 0);
  b.fill(count, 2.5f, out);
  compare("fill", s.download(out, count), std::vector<float>(count, 2.5f), 0);
  b.scale(count, 3.0f, dx_, out);
  compare("scale", s.download(out, count), wantScale, 0);
  b.axpy(count, -2.0f, ddy, out);
  compare("axpy (the CPU's bits: no fused multiply-add)", s.download(out, count), wantAxpy, 0);

  // copyOnDevice and copy2D (a channel slice of an NCHW tensor).
  b.copyOnDevice(out, dx_, count * sizeof(float));
  compare("copyOnDevice", s.download(out, count), x, 0);
  const int n = 3, c = 5, plane = 7, lo = 1, hi = 4;  // channels [1, 4) of [3, 5, 7]
  b.fill(count, 0.0f, out);
  b.copy2D(out, (hi - lo) * plane * sizeof(float), dx_ + lo * plane, c * plane * sizeof(float),
           (hi - lo) * plane * sizeof(float), n);
  std::vector<float> slice;
  for (int i = 0; i < n; ++i)
    for (int j = lo * plane; j < hi * plane; ++j)
      slice.push_back(x[static_cast<size_t>(i) * c * plane + j]);
  std::vector<float> gotSlice = s.download(out, slice.size());
  compare("copy2D channel slice", gotSlice, slice, 0);

  // Top-k with ties (the contract's rule): every other logit >= the label's, or NaN, counts against
  // it, and a NaN label logit is never correct.
  const int rows = 64, classes = 100;
  std::vector<float> logits(static_cast<size_t>(rows) * classes);
  std::vector<float> labels(rows);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = std::floor(alexnet::counterUniform(5, i) * 20.0f);  // many ties
  for (int r = 0; r < rows; ++r) labels[r] = static_cast<float>((r * 37) % classes);
  float* dLogits = s.upload(logits);
  int32_t* dLabels = s.uploadLabels(labels);
  float* correct = s.alloc<float>(1);
  for (int k : {1, 5, 20}) {
    int want = 0;
    for (int r = 0; r < rows; ++r) {
      const int label = static_cast<int>(labels[r]);
      const float target = logits[static_cast<size_t>(r) * classes + label];
      int above = 0;
      for (int j = 0; j < classes; ++j) {
        const float v = logits[static_cast<size_t>(r) * classes + j];
        above += j != label && !(v < target);
      }
      want += !std::isnan(target) && above < k;
    }
    b.topkCorrect(rows, classes, k, dLogits, dLabels, correct);
    compare("topkCorrect k=" + std::to_string(k), s.download(correct, 1),
            {static_cast<float>(want)}, 0);
  }
}

void report(const std::string& what, bool ok) {
  if (!ok) ++oracle::failures();
  std::printf("%-48s %s\n", what.c_str(), ok ? "ok" : "FAIL");
}

// Uploads from page-locked staging blocks, each retained until its copy has run, back to back and
// then straight into our own kernels: a staging block still in flight must not make a launch fail
// ("device not ready" left behind by the event query of the deferred release).
void checkPinnedUploadsThenKernels(Backend& b) {
  Scratch s(b);
  const size_t count = size_t(1) << 22;  // 16 MiB a copy: still running when the next one is queued
  float* a = s.alloc<float>(count);
  float* c = s.alloc<float>(count);
  float* y = s.alloc<float>(count);
  bool ok = true;
  for (int round = 0; round < 20 && ok; ++round) {
    for (float* dst : {a, c}) {
      void* staged = b.allocateHost(count * sizeof(float));
      auto* values = static_cast<float*>(staged);
      for (size_t i = 0; i < count; ++i) values[i] = static_cast<float>(i % 1000) - 500.0f + round;
      b.copyFromHost(dst, staged, count * sizeof(float));
      b.retainUntilDone(std::shared_ptr<void>(staged, [&b, count](void* p) { b.deallocateHost(p, count * sizeof(float)); }));
    }
    try {
      b.reluForward(count, a, y);
      b.axpy(count, 1.0f, c, y);
    } catch (const alexnet::Error& e) {
      std::printf("kernel after pinned uploads: %s\n", e.what());
      ok = false;
    }
  }
  const std::vector<float> got = s.download(y, 1000);
  for (size_t i = 0; i < 1000 && ok; ++i) {
    const float v = static_cast<float>(i) - 500.0f + 19;
    ok = got[i] == (v > 0 ? v : 0.0f) + v;
  }
  report("pinned uploads, then kernels at once", ok);
}

// Labels outside [0, classes): the next synchronize throws INVALID_ARGUMENT in the CPU's words,
// nothing is read outside the logits (the context stays usable), and the next call is clean.
void checkBadLabels(Backend& b) {
  Scratch s(b);
  const int n = 4, classes = 3;
  float* logits = s.upload(std::vector<float>(n * classes, 0.5f));
  float* loss = s.alloc<float>(1);
  float* dlogits = s.alloc<float>(n * classes);
  float* correct = s.alloc<float>(1);
  auto expectError = [&](const std::string& what, const std::string& message) {
    try {
      b.synchronize();
      report(what + ": no error", false);
    } catch (const alexnet::Error& e) {
      report(what + ": " + e.what(), e.code() == "INVALID_ARGUMENT" && message == e.what());
    }
  };
  b.softmaxCrossEntropy(n, classes, logits, s.uploadLabels({0, 1, 1000000, 7}), loss, dlogits);
  expectError("softmaxCrossEntropy", "label 1000000 of row 2 is outside [0, 3)");
  b.topkCorrect(n, classes, 1, logits, s.uploadLabels({-4, 0, 1, 2}), correct);
  expectError("topkCorrect", "label -4 of row 0 is outside [0, 3)");
  b.softmaxCrossEntropy(n, classes, logits, s.uploadLabels({0, 1, 2, 0}), loss, dlogits);
  bool clean = true;
  try {
    b.synchronize();
  } catch (const alexnet::Error&) {
    clean = false;
  }
  report("after a bad label, good labels run clean", clean && std::fabs(s.download(loss, 1)[0] - std::log(3.0f)) < 1e-6);
}

// Max pooling with NaN (one of them negative with a payload), signed zeros and ties gives the host
// element functions' bits, which are the CPU backend's (element_math_check.cpp).
void checkMaxPoolNaN(Backend& b) {
  Scratch s(b);
  alexnet::PoolGeometry g{2, 3, 13, 13, 3, 3, 2, 2, 6, 6};
  const size_t xn = 2 * 3 * 13 * 13, yn = 2 * 3 * 6 * 6;
  std::vector<float> x(xn), dy(yn), wantY(yn), wantDx(xn);
  for (size_t i = 0; i < xn; ++i) {
    const uint64_t r = alexnet::mix64(i * 7 + 1) % 16;
    x[i] = r == 0 ? NAN : r == 15 ? alexnet::floatFromBits(0xffc12345u) : r == 1 ? -0.0f : r == 2 ? 0.0f : r < 6 ? 1.5f : static_cast<float>(r) - 9.0f;
  }
  for (size_t o = 0; o < yn; ++o) dy[o] = 1.0f + static_cast<float>(o % 7) / 8.0f;
  for (size_t o = 0; o < yn; ++o) wantY[o] = alexnet::cuda::kernels::maxPoolOutput(g, o, x.data());
  for (size_t i = 0; i < xn; ++i) wantDx[i] = alexnet::cuda::kernels::maxPoolInputGrad(g, i, dy.data(), x.data());
  float* dx_ = s.upload(x);
  float* ddy = s.upload(dy);
  float* y = s.alloc<float>(yn);
  float* dx = s.alloc<float>(xn);
  b.maxPoolForward(g, dx_, y);
  b.maxPoolBackward(g, ddy, dx_, y, dx);
  const std::vector<float> gotY = s.download(y, yn), gotDx = s.download(dx, xn);
  report("maxpool with NaN, -0, ties = CPU rule (forward)", std::memcmp(gotY.data(), wantY.data(), yn * 4) == 0);
  report("maxpool with NaN, -0, ties = CPU rule (backward)", std::memcmp(gotDx.data(), wantDx.data(), xn * 4) == 0);
}

// The SGD step gives the CPU's bits (no fused multiply-add).
void checkSgdBits(Backend& b) {
  Scratch s(b);
  const size_t count = 10007;
  std::vector<float> w(count), v(count), g(count);
  for (size_t i = 0; i < count; ++i) {
    w[i] = 0.01f * alexnet::counterNormal(1, i);
    v[i] = 1e-3f * alexnet::counterNormal(2, i);
    g[i] = alexnet::counterNormal(3, i);
  }
  float* dw = s.upload(w);
  float* dv = s.upload(v);
  b.sgdStep(count, 0.01f, 0.9f, 0.0005f, dw, dv, s.upload(g));
  for (size_t i = 0; i < count; ++i) alexnet::cuda::kernels::sgdElement(0.01f, 0.9f, 0.0005f * 0.01f, w[i], v[i], g[i]);
  const std::vector<float> gotW = s.download(dw, count), gotV = s.download(dv, count);
  report("sgdStep = CPU loop, bit for bit", std::memcmp(gotW.data(), w.data(), count * 4) == 0 &&
                                                std::memcmp(gotV.data(), v.data(), count * 4) == 0);
}

// float16 conversions against alexnet/float16.hpp on the host, bit for bit: every half widened,
// and float32 values around every half's rounding boundary narrowed; then the loss-scale unscale:
// products as the host's, the flag 0 over finite gradients, 1 once one holds an infinity, and kept
// at 1 by a later call over finite ones (it is only ever set).
void checkFloat16AndUnscale(Backend& b) {
  Scratch s(b);
  std::vector<uint16_t> halves(65536);
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i);
  auto* dh = s.alloc<alexnet::Float16>(halves.size());
  b.copyFromHost(dh, halves.data(), halves.size() * 2);
  float* wide = s.alloc<float>(halves.size());
  b.castFloat16ToFloat32(halves.size(), dh, wide);
  std::vector<float> gotWide = s.download(wide, halves.size()), wantWide(halves.size());
  for (size_t i = 0; i < halves.size(); ++i) wantWide[i] = alexnet::floatFromF16Bits(halves[i]);
  report("castFloat16ToFloat32 = host, every half", std::memcmp(gotWide.data(), wantWide.data(), wantWide.size() * 4) == 0);
  std::vector<float> values;
  for (size_t i = 0; i + 1 < 0x7c00; ++i) {
    const float mid = 0.5f * (wantWide[i] + wantWide[i + 1]);
    values.insert(values.end(), {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY), -mid});
  }
  values.insert(values.end(), {65520.0f, 1e30f, NAN, -INFINITY, 1e-45f});
  float* dv = s.upload(values);
  auto* narrow = s.alloc<alexnet::Float16>(values.size());
  b.castToFloat16(values.size(), dv, narrow);
  std::vector<uint16_t> gotNarrow(values.size());
  b.copyToHost(gotNarrow.data(), narrow, values.size() * 2);
  bool same = true;
  for (size_t i = 0; i < values.size(); ++i) same = same && gotNarrow[i] == alexnet::f16BitsFromFloat(values[i]);
  report("castToFloat16 = host, at every rounding boundary", same);

  std::vector<float> g(100003);
  for (size_t i = 0; i < g.size(); ++i) g[i] = 65536.0f * alexnet::counterNormal(4, i);
  float* dg = s.upload(g);
  float* flag = s.alloc<float>(1);
  b.fill(1, 0.0f, flag);
  b.unscaleGradient(g.size(), 1.0f / 65536.0f, dg, flag);
  std::vector<float> want(g.size());
  for (size_t i = 0; i < g.size(); ++i) want[i] = g[i] * (1.0f / 65536.0f);
  const std::vector<float> got = s.download(dg, g.size());
  report("unscaleGradient = host products, flag 0",
         std::memcmp(got.data(), want.data(), want.size() * 4) == 0 && s.download(flag, 1)[0] == 0.0f);
  std::vector<float> bad(5000, 1.0f);
  bad[4321] = INFINITY;
  b.unscaleGradient(bad.size(), 0.5f, s.upload(bad), flag);
  const bool setByInf = s.download(flag, 1)[0] == 1.0f;
  b.unscaleGradient(g.size(), 1.0f, dg, flag);
  report("unscaleGradient flag: set by an infinity, kept by finite calls", setByInf && s.download(flag, 1)[0] == 1.0f);
}

// Backend::cropImages against the host crop of alexnet/crop.hpp (what the data pipeline and the
// CPU backend run): the same bits, with a rectangular source, ten rows per image, flips, colour
// offsets and a per-pixel mean; then a row with a window outside the image becomes NaN.
void checkCropImages(Backend& b) {
  Scratch s(b);
  alexnet::CropGeometry g{4, 10, 40, 36, 3, 32, 30, 1.0f / 255.0f, alexnet::MeanMode::PerPixel};
  const int rows = g.images * g.crops, stride = 3 + g.channels;
  const size_t srcCount = static_cast<size_t>(g.images) * g.srcH * g.srcW * g.channels;
  std::vector<uint8_t> bytes(srcCount);
  for (size_t i = 0; i < srcCount; ++i) bytes[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
  std::vector<float> mean(static_cast<size_t>(g.channels) * g.srcH * g.srcW);
  for (size_t i = 0; i < mean.size(); ++i) mean[i] = 0.4f + 0.001f * static_cast<float>(i % 97);
  std::vector<float> params(static_cast<size_t>(rows) * stride);
  for (int r = 0; r < rows; ++r) {
    float* p = &params[static_cast<size_t>(r) * stride];
    p[0] = static_cast<float>(r % (g.srcH - g.outH + 1));
    p[1] = static_cast<float>((r * 5) % (g.srcW - g.outW + 1));
    p[2] = static_cast<float>(r % 3 == 0);
    for (int c = 0; c < g.channels; ++c) p[3 + c] = 0.01f * alexnet::counterNormal(7, static_cast<uint64_t>(r * 4 + c));
  }
  uint8_t* src = s.alloc<uint8_t>(srcCount);
  b.copyFromHost(src, bytes.data(), srcCount);
  const size_t rowFloats = static_cast<size_t>(g.channels) * g.outH * g.outW;
  float* out = s.alloc<float>(rows * rowFloats);
  b.cropImages(g, src, s.upload(params), s.upload(mean), out);
  std::vector<float> want(rows * rowFloats);
  for (int r = 0; r < rows; ++r) {
    const float* p = &params[static_cast<size_t>(r) * stride];
    alexnet::cropImage(bytes.data() + static_cast<size_t>(r / g.crops) * g.srcH * g.srcW * g.channels, g.srcH,
                       g.srcW, g.channels, g.scale, g.mean, mean.data(), p + 3,
                       {static_cast<int>(p[0]), static_cast<int>(p[1]), p[2] != 0.0f}, g.outH, g.outW,
                       want.data() + r * rowFloats);
  }
  const std::vector<float> got = s.download(out, want.size());
  const bool same = std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0;
  if (!same) ++oracle::failures();
  std::printf("%-48s %s\n", "cropImages = host crop, bit for bit", same ? "ok" : "FAIL");

  params[0] = static_cast<float>(g.srcH);  // row 0 now starts below the image
  b.cropImages(g, src, s.upload(params), s.upload(mean), out);
  const std::vector<float> bad = s.download(out, 2 * rowFloats);
  bool nanRow = true, nextRow = true;
  for (size_t i = 0; i < rowFloats; ++i) nanRow = nanRow && std::isnan(bad[i]);
  nextRow = std::memcmp(&bad[rowFloats], &want[rowFloats], rowFloats * sizeof(float)) == 0;
  if (!nanRow || !nextRow) ++oracle::failures();
  std::printf("%-48s %s\n", "cropImages: a window outside gives a NaN row", nanRow && nextRow ? "ok" : "FAIL");
}

// One training step's three convolutions (forward, backward data, backward filter) of AlexNet's
// conv1 and conv2 at batch 128, timed in float32, bfloat16 and float16. The 16-bit rates far above
// float32's say that cuDNN's tensor cores ran (conv_math.hpp); about float32's, that they did not.
enum class TimedType { Fp32, Bf16, Fp16 };

void timeAlexNetConvolutions(Backend& b) {
  struct Layer { const char* name; alexnet::ConvGeometry g; };
  for (TimedType type : {TimedType::Fp32, TimedType::Bf16, TimedType::Fp16}) {
    if (type == TimedType::Bf16 && !b.bf16Supported(nullptr)) continue;
    if (type == TimedType::Fp16 && !b.fp16Supported(nullptr)) continue;
    for (Layer l :
         {Layer{"conv1 224x224 s4 p2", {128, 3, 224, 224, 96, 11, 11, 4, 4, 2, 2, 1, 55, 55}},
          Layer{"conv2 27x27 g2", {128, 96, 27, 27, 256, 5, 5, 1, 1, 2, 2, 2, 27, 27}}}) {
      Scratch s(b);
      const auto& g = l.g;
      const size_t xn = static_cast<size_t>(g.n) * g.c * g.h * g.w;
      const size_t wn = static_cast<size_t>(g.o) * (g.c / g.groups) * g.kh * g.kw;
      const size_t yn = static_cast<size_t>(g.n) * g.o * g.outH * g.outW;
      float* x = s.alloc<float>(xn);
      float* w = s.alloc<float>(wn);
      float* y = s.alloc<float>(yn);
      float* dx = s.alloc<float>(xn);
      float* dw = s.alloc<float>(wn);
      b.normalInit(xn, 0.0f, 1.0f, 1, 0, x);
      b.normalInit(wn, 0.0f, 0.01f, 2, 0, w);
      // The 16-bit copies: two bytes an element whichever the type.
      BFloat16 *xb = nullptr, *wb = nullptr, *yb = nullptr, *dxb = nullptr;
      Float16 *xf = nullptr, *wf = nullptr, *yf = nullptr, *dxf = nullptr;
      if (type == TimedType::Bf16) {
        xb = s.alloc<BFloat16>(xn), wb = s.alloc<BFloat16>(wn), yb = s.alloc<BFloat16>(yn), dxb = s.alloc<BFloat16>(xn);
        b.castToBFloat16(xn, x, xb);
        b.castToBFloat16(wn, w, wb);
      } else if (type == TimedType::Fp16) {
        xf = s.alloc<Float16>(xn), wf = s.alloc<Float16>(wn), yf = s.alloc<Float16>(yn), dxf = s.alloc<Float16>(xn);
        b.castToFloat16(xn, x, xf);
        b.castToFloat16(wn, w, wf);
      }
      auto step = [&] {
        if (type == TimedType::Bf16) {
          b.conv2dForward(g, xb, wb, nullptr, yb);
          b.conv2dBackwardData(g, yb, wb, dxb);
          b.conv2dBackwardFilter(g, xb, yb, dw, nullptr);
        } else if (type == TimedType::Fp16) {
          b.conv2dForward(g, xf, wf, nullptr, yf);
          b.conv2dBackwardData(g, yf, wf, dxf);
          b.conv2dBackwardFilter(g, xf, yf, dw, nullptr);
        } else {
          b.conv2dForward(g, x, w, nullptr, y);
          b.conv2dBackwardData(g, y, w, dx);
          b.conv2dBackwardFilter(g, x, y, dw, nullptr);
        }
      };
      step();  // chooses the algorithms
      b.synchronize();
      const auto start = std::chrono::steady_clock::now();
      const int iterations = 10;
      for (int i = 0; i < iterations; ++i) step();
      b.synchronize();
      const std::chrono::duration<double, std::milli> elapsed =
          std::chrono::steady_clock::now() - start;
      const double ms = elapsed.count() / iterations;
      const double gflop = 3.0 * 2.0 * yn * (g.c / g.groups) * g.kh * g.kw / 1e9;
      const std::vector<float> sample = s.download(dw, 1);
      const bool finite = std::isfinite(sample[0]);
      if (!finite) ++oracle::failures();
      const char* typeName = type == TimedType::Bf16 ? "BF16" : type == TimedType::Fp16 ? "FP16" : "FP32";
      std::printf("%-26s fwd+bwd %.3f ms/iter, %.0f GFLOP/s (%s)%s\n", l.name, ms,
                  gflop / ms * 1e3, typeName, finite ? "" : " NOT FINITE");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "libalexnet_cuda.so";
  if (argc > 2) oracle::dataDir() = argv[2];
  const char* require = std::getenv("ALEXNET_REQUIRE_GPU");
  const bool requireGpu = require != nullptr && std::string(require) == "1";
  CudaModuleEntries module;
  if (module.open(path) == nullptr) return 1;
  const auto [count, create, destroy, describe, setTf32] = module;
  char err[512] = {0};
  if (count(err, sizeof err) <= 0) {
    std::printf("no CUDA device (%s): GPU checks %s\n", err, requireGpu ? "FAILED" : "skipped");
    return requireGpu ? 1 : 0;
  }
  char text[512] = {0};
  describe(0, text, sizeof text);
  std::printf("device 0: %s\n", text);
  Backend* b = create(0, err, sizeof err);
  if (b == nullptr) {
    std::printf("alexnet_cuda_create_backend failed: %s\n", err);
    return 1;
  }
  // Each section on its own: an error thrown in one (a cuDNN configuration refused, say) is
  // reported and the others still run, so that one run of this check shows every failure.
  auto section = [&](const char* name, auto&& run) {
    try {
      run();
    } catch (const alexnet::Error& e) {
      std::printf("%s: alexnet::Error %s in %s: %s FAIL\n", name, e.code().c_str(), e.call().c_str(), e.what());
      ++oracle::failures();
    } catch (const std::exception& e) {
      std::printf("%s: %s FAIL\n", name, e.what());
      ++oracle::failures();
    }
  };
  section("convolutions", [&] { checkConvolutions(*b, setTf32); });
  section("LRN and pooling", [&] { checkLrnAndPooling(*b); });
  section("linear, loss and SGD", [&] { checkLinearLossAndSgd(*b); });
  section("against the host", [&] { checkAgainstHost(*b); });
  section("cropImages", [&] { checkCropImages(*b); });
  section("pinned uploads", [&] { checkPinnedUploadsThenKernels(*b); });
  section("bad labels", [&] { checkBadLabels(*b); });
  section("maxpool NaN", [&] { checkMaxPoolNaN(*b); });
  section("SGD bits", [&] { checkSgdBits(*b); });
  section("float16 and unscale", [&] { checkFloat16AndUnscale(*b); });
  section("bfloat16 ops", [&] { checkBf16(*b); });
  section("float16 ops", [&] { checkFp16(*b); });
  section("timings", [&] { timeAlexNetConvolutions(*b); });
  // Errors become alexnet::Error with a code, not a crash.
  section("allocate(1 PiB)", [&] {
    try {
      b->allocate(size_t(1) << 50);
      std::printf("allocating 1 PiB did not fail\n");
      ++oracle::failures();
    } catch (const alexnet::Error& e) {
      std::printf("allocate(1 PiB): %s: %s\n", e.code().c_str(), e.what());
      if (e.code() != "OUT_OF_MEMORY") ++oracle::failures();
    }
  });
  destroy(b);
  std::printf("%s\n", oracle::failures() ? "FAILED" : "all GPU checks ok");
  return oracle::failures() != 0;
}
