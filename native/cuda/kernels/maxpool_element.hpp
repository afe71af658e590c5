// Max pooling per element (maxpool.cu), callable from host code so that it can be checked without
// a GPU. Both directions follow the CPU backend's scans (native/cpu/pool.cpp) in row-major window
// order from the window's first element: only a strictly greater value takes over, so ties go to
// the first maximum (the contract's rule); a NaN takes over from any number and, once there, stays
// (nothing compares greater), so a window holding a NaN gives NaN and its gradient goes to its
// first NaN. The backward recomputes that argmax from x instead of matching y, so the gradient
// reaches the same input on every backend whatever y holds; an input that wins several
// overlapping windows gets the sum of their gradients, added in window order (as the CPU adds).
// Written over the element type T of x and dy (element.hpp): comparisons on exactly widened
// values (so ties and NaN resolve as in float32) and the gradient summed in float32; the caller
// rounds the returned float once to T, as the CPU's bfloat16 loops do.
#pragma once

#include <cstddef>

#include "alexnet/backend.hpp"
#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE
#include "kernels/element.hpp"

namespace alexnet::cuda::kernels {

// The position i * kernelW + j of the first maximum of the window whose top-left element is `win`
// (rows g.w apart), by the scan above.
template <class T>
ALEXNET_HOST_DEVICE inline int maxPoolWindowArg(const PoolGeometry& g, const T* win) {
  int best = 0;
  float bestValue = loadElement(win[0]);
  for (int i = 0; i < g.kernelH; ++i) {
    for (int j = 0; j < g.kernelW; ++j) {
      const float v = loadElement(win[static_cast<size_t>(i) * g.w + j]);
      if (v > bestValue || (v != v && bestValue == bestValue)) {  // strict; a first NaN wins
        bestValue = v;
        best = i * g.kernelW + j;
      }
    }
  }
  return best;
}

// Offset within its (image, channel) plane of the first maximum of window (oh, ow).
template <class T>
ALEXNET_HOST_DEVICE inline size_t maxPoolArgmax(const PoolGeometry& g, const T* plane, int oh,
                                                int ow) {
  const size_t base = static_cast<size_t>(oh) * g.strideH * g.w + static_cast<size_t>(ow) * g.strideW;
  const int at = maxPoolWindowArg(g, plane + base);
  return base + static_cast<size_t>(at / g.kernelW) * g.w + static_cast<size_t>(at % g.kernelW);
}

// The maximum of the window whose top-left element is `win`, with the CPU's bits: strict
// comparisons, and for a window holding a NaN the default quiet NaN (0x7fc00000), whichever NaN the
// window held.
template <class T>
ALEXNET_HOST_DEVICE inline float maxPoolWindowMax(const PoolGeometry& g, const T* win) {
  float m = loadElement(win[0]);
  bool nan = false;
  for (int i = 0; i < g.kernelH; ++i)
    for (int j = 0; j < g.kernelW; ++j) {
      const float v = loadElement(win[static_cast<size_t>(i) * g.w + j]);
      m = v > m ? v : m;
      nan = nan || v != v;
    }
  return nan ? floatFromBits(0x7fc00000u) : m;
}

// The windows (ph, pw) that contain input (ih, iw): ph * strideH <= ih < ph * strideH + kernelH.
struct PoolWindows {
  int phLo, phHi, pwLo, pwHi;
};

ALEXNET_HOST_DEVICE inline PoolWindows maxPoolWindowsOver(const PoolGeometry& g, int ih, int iw) {
  return PoolWindows{ih < g.kernelH ? 0 : (ih - g.kernelH) / g.strideH + 1,
                     ih / g.strideH < g.outH - 1 ? ih / g.strideH : g.outH - 1,
                     iw < g.kernelW ? 0 : (iw - g.kernelW) / g.strideW + 1,
                     iw / g.strideW < g.outW - 1 ? iw / g.strideW : g.outW - 1};
}

// Output element o (flat index into y) of the forward pass (maxPoolWindowMax).
template <class T>
ALEXNET_HOST_DEVICE inline float maxPoolOutput(const PoolGeometry& g, size_t o, const T* x) {
  const size_t outPlane = static_cast<size_t>(g.outH) * g.outW;
  const size_t plane = o / outPlane;
  const int oh = static_cast<int>((o % outPlane) / g.outW), ow = static_cast<int>(o % g.outW);
  return maxPoolWindowMax(g, x + plane * static_cast<size_t>(g.h) * g.w +
                                 static_cast<size_t>(oh) * g.strideH * g.w + static_cast<size_t>(ow) * g.strideW);
}

// The gradient of input element i (flat index into x).
template <class T>
ALEXNET_HOST_DEVICE inline float maxPoolInputGrad(const PoolGeometry& g, size_t i, const T* dy,
                                                  const T* x) {
  const size_t inPlane = static_cast<size_t>(g.h) * g.w;
  const size_t outPlane = static_cast<size_t>(g.outH) * g.outW;
  const size_t plane = i / inPlane;  // (image, channel)
  const size_t offset = i % inPlane;
  const int ih = static_cast<int>(offset / g.w), iw = static_cast<int>(offset % g.w);
  const T* xp = x + plane * inPlane;
  const T* dyp = dy + plane * outPlane;
  const PoolWindows r = maxPoolWindowsOver(g, ih, iw);
  float grad = 0.0f;
  for (int ph = r.phLo; ph <= r.phHi; ++ph)
    for (int pw = r.pwLo; pw <= r.pwHi; ++pw)
      if (maxPoolArgmax(g, xp, ph, pw) == offset) grad += loadElement(dyp[static_cast<size_t>(ph) * g.outW + pw]);
  return grad;
}

// The same gradient for input (ih, iw) of one plane, from the window positions of that plane's
// first maxima (maxPoolWindowArg, one per window, row-major) and its dy: the windows are visited
// and their gradients added in maxPoolInputGrad's order, so the bits are the same.
template <class T>
ALEXNET_HOST_DEVICE inline float maxPoolGatherGrad(const PoolGeometry& g, const unsigned char* args,
                                                   const T* dyPlane, int ih, int iw) {
  const PoolWindows r = maxPoolWindowsOver(g, ih, iw);
  float grad = 0.0f;
  for (int ph = r.phLo; ph <= r.phHi; ++ph)
    for (int pw = r.pwLo; pw <= r.pwHi; ++pw) {
      const int window = ph * g.outW + pw;
      if (args[window] == (ih - ph * g.strideH) * g.kernelW + (iw - pw * g.strideW)) grad += loadElement(dyPlane[window]);
    }
  return grad;
}

}  // namespace alexnet::cuda::kernels
