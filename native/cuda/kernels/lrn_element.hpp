// One output element of our LRN kernels (lrn.cu), callable from host code so that it can be
// checked on a machine without a GPU. Written over the element type T of x, y and dy
// (element.hpp): the arithmetic is float32 on exactly widened values, and the caller rounds the
// returned float once to T. Same window as cuDNN: channels
// [c - floor((size-1)/2), c + size - 1 - floor((size-1)/2)], clipped at the edges.
//   b[c] = a[c] * s[c]^-beta,  s[c] = k + alpha * sum_{j in W(c)} a[j]^2
//   da[i] = db[i] * s[i]^-beta - 2 alpha beta a[i] * sum_{c : i in W(c)} db[c] * b[c] / s[c]
#pragma once

#include <cmath>
#include <cstddef>

#include "alexnet/backend.hpp"
#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE
#include "kernels/element.hpp"

namespace alexnet::cuda::kernels {

struct LrnShape {
  int channels;
  size_t plane;  // h * w
  int behind, ahead;
  float alpha, beta, k;
};

inline LrnShape lrnShapeOf(const LrnGeometry& g) {
  const int behind = (g.size - 1) / 2;
  return LrnShape{g.c, static_cast<size_t>(g.h) * g.w, behind, g.size - 1 - behind,
                  g.alpha, g.beta, g.k};
}

// s[c] of the pixel whose channel 0 is at base.
template <class T>
ALEXNET_HOST_DEVICE inline float lrnScale(const LrnShape& s, const T* x, size_t base, int c) {
  const int lo = c - s.behind > 0 ? c - s.behind : 0;
  const int hi = c + s.ahead < s.channels - 1 ? c + s.ahead : s.channels - 1;
  float sum = 0.0f;
  for (int j = lo; j <= hi; ++j) {
    const float v = loadElement(x[base + j * s.plane]);
    sum += v * v;
  }
  return s.k + s.alpha * sum;
}

// Element i of an NCHW tensor: its channel and the offset of its channel 0.
ALEXNET_HOST_DEVICE inline void lrnLocate(const LrnShape& s, size_t i, int& c, size_t& base) {
  c = static_cast<int>((i / s.plane) % s.channels);
  base = (i / (s.plane * s.channels)) * s.plane * s.channels + i % s.plane;
}

// Element i (channel c, channel 0 of its pixel at base) of the forward pass.
template <class T>
ALEXNET_HOST_DEVICE inline float lrnForwardAt(const LrnShape& s, int c, size_t base, size_t i, const T* x) {
  return loadElement(x[i]) * powf(lrnScale(s, x, base, c), -s.beta);
}

template <class T>
ALEXNET_HOST_DEVICE inline float lrnForwardElement(const LrnShape& s, size_t i, const T* x) {
  int c;
  size_t base;
  lrnLocate(s, i, c, base);
  return lrnForwardAt(s, c, base, i, x);
}

template <class T>
ALEXNET_HOST_DEVICE inline float lrnBackwardElement(const LrnShape& s, size_t i, const T* dy,
                                                    const T* x, const T* y) {
  int c;
  size_t base;
  lrnLocate(s, i, c, base);
  // Channel c lies in W(j) for j in [c - ahead, c + behind].
  const int lo = c - s.ahead > 0 ? c - s.ahead : 0;
  const int hi = c + s.behind < s.channels - 1 ? c + s.behind : s.channels - 1;
  float cross = 0.0f;
  for (int j = lo; j <= hi; ++j) {
    const size_t at = base + j * s.plane;
    cross += loadElement(dy[at]) * loadElement(y[at]) / lrnScale(s, x, base, j);
  }
  return loadElement(dy[i]) * powf(lrnScale(s, x, base, c), -s.beta) -
         2.0f * s.alpha * s.beta * loadElement(x[i]) * cross;
}

// The backward in two passes over float32 scratch (lrn.cu), so that each element's s is computed
// once instead of once for every channel whose window holds it. First pass, element i: its s and
// its term dy * y / s. Second pass: its gradient from its own s and the terms of the channels whose
// window holds it. The same operations in the same order as lrnBackwardElement: the same bits.
template <class T>
ALEXNET_HOST_DEVICE inline void lrnBackwardTerm(const LrnShape& s, int c, size_t base, size_t i, const T* dy,
                                                const T* x, const T* y, float* scale, float* term) {
  const float sc = lrnScale(s, x, base, c);
  scale[i] = sc;
  term[i] = loadElement(dy[i]) * loadElement(y[i]) / sc;
}

template <class T>
ALEXNET_HOST_DEVICE inline float lrnBackwardFromTerms(const LrnShape& s, int c, size_t base, size_t i,
                                                      const T* dy, const T* x, const float* scale,
                                                      const float* term) {
  const int lo = c - s.ahead > 0 ? c - s.ahead : 0;
  const int hi = c + s.behind < s.channels - 1 ? c + s.behind : s.channels - 1;
  float cross = 0.0f;
  for (int j = lo; j <= hi; ++j) cross += term[base + j * s.plane];
  return loadElement(dy[i]) * powf(scale[i], -s.beta) - 2.0f * s.alpha * s.beta * loadElement(x[i]) * cross;
}

}  // namespace alexnet::cuda::kernels
