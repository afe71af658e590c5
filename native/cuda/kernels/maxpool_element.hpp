// The gradient of one max-pooling input (maxpool.cu), callable from host code so that it can be
// checked without a GPU. Each window's gradient goes to the first maximum in row-major window
// order (the contract's tie rule); an input that wins several overlapping windows gets the sum.
#pragma once

#include <cstddef>

#include "alexnet/backend.hpp"
#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE

namespace alexnet::cuda::kernels {

ALEXNET_HOST_DEVICE inline float maxPoolInputGrad(const PoolGeometry& g, size_t i,
                                                  const float* dy, const float* x,
                                                  const float* y) {
  const size_t inPlane = static_cast<size_t>(g.h) * g.w;
  const size_t outPlane = static_cast<size_t>(g.outH) * g.outW;
  const size_t plane = i / inPlane;  // (image, channel)
  const int ih = static_cast<int>((i % inPlane) / g.w), iw = static_cast<int>(i % g.w);
  const float* xp = x + plane * inPlane;
  const float* yp = y + plane * outPlane;
  const float* dyp = dy + plane * outPlane;
  const float value = x[i];
  // Windows (ph, pw) that contain (ih, iw): ph * strideH <= ih < ph * strideH + kernelH.
  const int phLo = ih < g.kernelH ? 0 : (ih - g.kernelH) / g.strideH + 1;
  const int phHi = ih / g.strideH < g.outH - 1 ? ih / g.strideH : g.outH - 1;
  const int pwLo = iw < g.kernelW ? 0 : (iw - g.kernelW) / g.strideW + 1;
  const int pwHi = iw / g.strideW < g.outW - 1 ? iw / g.strideW : g.outW - 1;
  float grad = 0.0f;
  for (int ph = phLo; ph <= phHi; ++ph) {
    for (int pw = pwLo; pw <= pwHi; ++pw) {
      const size_t o = static_cast<size_t>(ph) * g.outW + pw;
      if (value != yp[o]) continue;
      // This input holds the window's maximum; it wins unless an earlier element also does.
      const int h0 = ph * g.strideH, w0 = pw * g.strideW;
      bool first = true;
      for (int wh = h0; wh <= ih && first; ++wh) {
        const int whEnd = wh < ih ? w0 + g.kernelW : iw;
        for (int ww = w0; ww < whEnd; ++ww) {
          if (xp[static_cast<size_t>(wh) * g.w + ww] == value) {
            first = false;
            break;
          }
        }
      }
      if (first) grad += dyp[o];
    }
  }
  return grad;
}

}  // namespace alexnet::cuda::kernels
