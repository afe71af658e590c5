// A strided convolution on few input channels rewritten as a stride-1 one on more: space to depth.
//
// With stride s, input pixel (s u + r, s v + t) of channel c becomes pixel (u, v) of channel
// (c s + r) s + t, and tap (i, j) of the kernel becomes tap (i / s, j / s) of that channel, so
//   y[n, o, oh, ow] = sum over c', a, b of w'[o, c', a, b] X'[n, c', oh + a, ow + b]
// with kernel ceil(k / s), no padding (the original padding is zeros written into X'), and taps past
// the original kernel zero in w'. The products are those of the original convolution plus
// products with zeros, summed in another order.
//
// Why: oneDNN 2.6's bfloat16 kernels are built for channel blocks of 16. The quick preset's conv1
// (1 grey channel, 11 x 11, stride 4) has one input channel: its bfloat16 forward ran at the float32
// speed, and its weight gradient had only the gemm kernel (3.1 ms at batch 128, so it was widened to
// float32 instead). Packed, it is 16 channels, 3 x 3, stride 1: one full channel block. Measured on
// this shape alone (batch 128, 2 cores): forward 0.94 -> 0.58 ms, weight gradient 0.98 ms (widened
// to float32) -> 0.81 ms in bfloat16. In float32 the packed form was slower (forward 0.95 -> 1.21
// ms), as it was for the paper's conv1 (3 channels: 48 packed) in bfloat16's weight gradient; so it
// is used in bfloat16 for exactly one packed block (c s^2 = 16).
#include <algorithm>

#include "conv_space_to_depth.hpp"

namespace alexnet {
namespace cpu {

namespace {
int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}  // namespace

bool spaceToDepthFits(const ConvGeometry& g) {
  const int s = g.strideH;
  return g.groups == 1 && s >= 2 && g.strideW == s && g.c * s * s == 16 && g.kh > s && g.kw > s;
}

ConvGeometry spaceToDepthGeometry(const ConvGeometry& g) {
  const int s = g.strideH;
  ConvGeometry p = g;
  p.c = g.c * s * s;
  p.kh = ceilDiv(g.kh, s);
  p.kw = ceilDiv(g.kw, s);
  p.h = g.outH + p.kh - 1;
  p.w = g.outW + p.kw - 1;
  p.strideH = p.strideW = 1;
  p.padH = p.padW = 0;
  return p;
}

// Packed channel cp = (c s + r) s + t of pixel (u, v) holds x[c, s u + r - pad, s v + t - pad], zero
// where that falls outside x. Written channels last, packed[n][u][v][cp]: with c s^2 = 16 that is
// oneDNN's blocked nChw16c, the layout its kernels read, so no reorder follows; and each s x s block
// of an input channel is s contiguous runs of s values (written plane by plane, NCHW, it took
// strided 16-bit loads that stayed scalar, about 0.7 ms of CPU per step at batch 128, and then a
// reorder to nChw16c of 0.1-0.17 ms, twice a step).
// One packed row u of image n: for each input channel c and row offset r, input row s u + r - pad
// goes to the packed channels (c s + r) s + t of every pixel v. Pixels whose s columns all lie inside
// the row copy s contiguous values (one 8-byte move for the quick preset's s = 4, compiled in as S);
// the rest, at the edges, go one by one.
template <int S>
void packRow(const ConvGeometry& g, const ConvGeometry& p, const BFloat16* x, long nu, BFloat16* packed) {
  const int s = S ? S : g.strideH;
  const int n = static_cast<int>(nu / p.h), u = static_cast<int>(nu % p.h);
  BFloat16* const out = packed + nu * p.w * p.c;
  // Pixels [vBegin, vEnd) read columns s v - pad .. s v - pad + s - 1, all inside the row.
  const int vBegin = std::min(p.w, (g.padW + s - 1) / s);
  const int lastFits = g.w + g.padW - s;  // s v must not exceed it
  const int vEnd = lastFits < 0 ? vBegin : std::max(vBegin, std::min(p.w, lastFits / s + 1));
  for (int c = 0; c < g.c; ++c)
    for (int r = 0; r < s; ++r) {
      const int row = s * u + r - g.padH;
      BFloat16* to = out + (c * s + r) * s;
      if (row < 0 || row >= g.h) {
        for (int v = 0; v < p.w; ++v)
          for (int t = 0; t < s; ++t) to[v * p.c + t] = BFloat16{0};
        continue;
      }
      const BFloat16* from = x + ((static_cast<long>(n) * g.c + c) * g.h + row) * g.w - g.padW;
      auto one = [&](int v) {
        for (int t = 0; t < s; ++t) {
          const int col = s * v + t - g.padW;
          to[v * p.c + t] = col >= 0 && col < g.w ? from[s * v + t] : BFloat16{0};
        }
      };
      for (int v = 0; v < vBegin; ++v) one(v);
      for (int v = vBegin; v < vEnd; ++v)
        for (int t = 0; t < s; ++t) to[v * p.c + t] = from[s * v + t];
      for (int v = vEnd; v < p.w; ++v) one(v);
    }
}

void packInput(const ConvGeometry& g, const BFloat16* x, BFloat16* packed) {
  const ConvGeometry p = spaceToDepthGeometry(g);
  const long rows = static_cast<long>(p.n) * p.h;
#pragma omp parallel for schedule(static)
  for (long nu = 0; nu < rows; ++nu) {
    if (g.strideH == 4) packRow<4>(g, p, x, nu, packed);
    else packRow<0>(g, p, x, nu, packed);
  }
}

void packWeights(const ConvGeometry& g, const BFloat16* w, BFloat16* packed) {
  const ConvGeometry p = spaceToDepthGeometry(g);
  const int s = g.strideH;
  for (int o = 0; o < g.o; ++o)
    for (int cp = 0; cp < p.c; ++cp)
      for (int a = 0; a < p.kh; ++a)
        for (int b = 0; b < p.kw; ++b) {
          const int c = cp / (s * s), i = s * a + (cp / s) % s, j = s * b + cp % s;
          packed[((static_cast<long>(o) * p.c + cp) * p.kh + a) * p.kw + b] =
              i < g.kh && j < g.kw ? w[((static_cast<long>(o) * g.c + c) * g.kh + i) * g.kw + j] : BFloat16{0};
        }
}

void unpackWeightGrad(const ConvGeometry& g, const float* packed, float* dw) {
  const ConvGeometry p = spaceToDepthGeometry(g);
  const int s = g.strideH;
  for (int o = 0; o < g.o; ++o)
    for (int c = 0; c < g.c; ++c)
      for (int i = 0; i < g.kh; ++i)
        for (int j = 0; j < g.kw; ++j) {
          const int cp = (c * s + i % s) * s + j % s;
          dw[((static_cast<long>(o) * g.c + c) * g.kh + i) * g.kw + j] =
              packed[((static_cast<long>(o) * p.c + cp) * p.kh + i / s) * p.kw + j / s];
        }
}

// Every pixel of x is exactly one packed pixel, or none where no window reaches it (its gradient 0).
void unpackInputGrad(const ConvGeometry& g, const BFloat16* packed, BFloat16* dx) {
  const ConvGeometry p = spaceToDepthGeometry(g);
  const int s = g.strideH;
  const long planes = static_cast<long>(g.n) * g.c;
#pragma omp parallel for schedule(static)
  for (long plane = 0; plane < planes; ++plane) {
    const int n = static_cast<int>(plane / g.c), c = static_cast<int>(plane % g.c);
    BFloat16* out = dx + plane * g.h * g.w;
    for (int row = 0; row < g.h; ++row)
      for (int col = 0; col < g.w; ++col) {
        const int pr = row + g.padH, pc = col + g.padW;
        const int u = pr / s, v = pc / s, cp = (c * s + pr % s) * s + pc % s;
        out[row * g.w + col] = u < p.h && v < p.w
                                   ? packed[((static_cast<long>(n) * p.c + cp) * p.h + u) * p.w + v]
                                   : BFloat16{0};
      }
  }
}

}  // namespace cpu
}  // namespace alexnet
