// LRN for channel counts that do not fill oneDNN's 16-channel blocks. oneDNN 2.6 has only its
// reference loop there (43 ms instead of 4 ms for the backward at [128, 24, 15, 15]), so these
// direct loops take over: a running sum of squares over the channel window, per image.
//   s_c = k + alpha * sum_{j in W(c)} x_j^2,   y_c = x_c * s_c^-beta
//   dx_i = dy_i * s_i^-beta - 2 alpha beta x_i * sum_{c in W(i)} dy_c * y_c / s_c
// (the window is symmetric for the odd sizes the op accepts, so c in W(i) iff i in W(c)).
#include <cmath>
#include <vector>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {
namespace {

// scale[c][p] = s_c at pixel p for one image: a running window over the channels.
void windowScale(const LrnGeometry& g, const float* x, float* scale, float* running) {
  const long plane = static_cast<long>(g.h) * g.w;
  const int half = g.size / 2;
  for (long p = 0; p < plane; ++p) running[p] = 0.0f;
  for (int j = 0; j < std::min(half, g.c); ++j)
    for (long p = 0; p < plane; ++p) running[p] += x[j * plane + p] * x[j * plane + p];
  for (int c = 0; c < g.c; ++c) {
    const int enter = c + half, leave = c - half - 1;
    if (enter < g.c)
      for (long p = 0; p < plane; ++p) running[p] += x[enter * plane + p] * x[enter * plane + p];
    if (leave >= 0)
      for (long p = 0; p < plane; ++p) running[p] -= x[leave * plane + p] * x[leave * plane + p];
    for (long p = 0; p < plane; ++p) scale[c * plane + p] = g.k + g.alpha * std::max(running[p], 0.0f);
  }
}

// out[i] = s[i]^-beta. For the paper's beta = 3/4 as 1 / (sqrt(s) * sqrt(sqrt(s))): a few ulp from
// pow, and vectorised, where a pow call per element (~25 ns) was most of this op's time.
void negativePower(const float* s, float* out, long count, float beta) {
  if (beta == 0.75f) {
    for (long i = 0; i < count; ++i) {
      const float root = std::sqrt(s[i]);
      out[i] = 1.0f / (root * std::sqrt(root));
    }
  } else {
    for (long i = 0; i < count; ++i) out[i] = std::pow(s[i], -beta);
  }
}

}  // namespace

void lrnForwardPlain(const LrnGeometry& g, const float* x, float* y) {
  const long plane = static_cast<long>(g.h) * g.w, image = plane * g.c;
#pragma omp parallel
  {
    std::vector<float> scale(static_cast<size_t>(image)), running(static_cast<size_t>(plane));
#pragma omp for schedule(static)
    for (int n = 0; n < g.n; ++n) {
      const float* xn = x + n * image;
      windowScale(g, xn, scale.data(), running.data());
      negativePower(scale.data(), scale.data(), image, g.beta);
      for (long i = 0; i < image; ++i) y[n * image + i] = xn[i] * scale[i];
    }
  }
}

void lrnBackwardPlain(const LrnGeometry& g, const float* dy, const float* x, const float* y, float* dx) {
  const long plane = static_cast<long>(g.h) * g.w, image = plane * g.c;
  const int half = g.size / 2;
  const float twoAlphaBeta = 2.0f * g.alpha * g.beta;
#pragma omp parallel
  {
    std::vector<float> scale(static_cast<size_t>(image)), ratio(static_cast<size_t>(image)),
        power(static_cast<size_t>(image)), running(static_cast<size_t>(plane));
#pragma omp for schedule(static)
    for (int n = 0; n < g.n; ++n) {
      const float *xn = x + n * image, *yn = y + n * image, *dyn = dy + n * image;
      float* dxn = dx + n * image;
      windowScale(g, xn, scale.data(), running.data());
      for (long i = 0; i < image; ++i) ratio[i] = dyn[i] * yn[i] / scale[i];
      negativePower(scale.data(), power.data(), image, g.beta);
      // Running window sum of ratio, the same way as the sum of squares.
      for (long p = 0; p < plane; ++p) running[p] = 0.0f;
      for (int j = 0; j < std::min(half, g.c); ++j)
        for (long p = 0; p < plane; ++p) running[p] += ratio[j * plane + p];
      for (int c = 0; c < g.c; ++c) {
        const int enter = c + half, leave = c - half - 1;
        if (enter < g.c)
          for (long p = 0; p < plane; ++p) running[p] += ratio[enter * plane + p];
        if (leave >= 0)
          for (long p = 0; p < plane; ++p) running[p] -= ratio[leave * plane + p];
        for (long p = 0; p < plane; ++p) {
          const long i = c * plane + p;
          dxn[i] = dyn[i] * power[i] - twoAlphaBeta * xn[i] * running[p];
        }
      }
    }
  }
}

}  // namespace cpu
}  // namespace alexnet
