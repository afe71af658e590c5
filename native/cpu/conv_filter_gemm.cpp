// The bfloat16 weight gradient of a convolution with a small output map as one GEMM over the batch:
//   dw[o, (c, i, j)] = sum over (n, p) of dy[n, o, p] x[n, c, row(p) + i - pad, col(p) + j - pad]
// with p running over the output pixels: dy regrouped as [o][(n, p)] times the input's patches laid
// out as [(n, p)][(i, j, c)] (im2col), a matrix per group.
//
// Why: on the quick preset's 3 x 3 maps (conv3-conv5, batch 128, 2 threads) oneDNN 2.6's
// avx512_core_bf16 kernel took the three weight gradients in 3.0 ms (ONEDNN_VERBOSE), more than
// its float32 kernel (1.8 ms) and six times their forwards: each image offers 9 output pixels to a
// kernel that blocks over them. As one matmul per group the products ran at 390 GFLOP/s (conv3:
// M = 96, K = 128 x 9, N = 576 in 0.33-0.37 ms), and the three, copies included, in 2.0 ms. For the
// whole step that is less (its copies and regions): one thread's CPU time 32.1 -> 31.3 ms, and on
// 2 threads 18.9 -> 18.9 ms median, 18.5 -> 17.9 ms best of seven. Float32 keeps oneDNN's kernel,
// which was the faster there (the same GEMM took 2.6 ms for the three). Large maps keep it too:
// their patches would be many times the input, and the kernels run near the peak on them. So: output
// maps of at most 16 pixels, buffers under 64 MiB.
//
// The sums are the products of the bf16 values accumulated in float32 inside oneDNN, in another
// order than the convolution's. The bias gradient (dy's sum per channel) is summed in double, as the
// fully connected layers do.
#include <algorithm>
#include <cstring>

#include "conv_filter_gemm.hpp"

namespace alexnet {
namespace cpu {

namespace {
constexpr long kMaxPixels = 16;
constexpr size_t kMaxBytes = size_t(64) << 20;

long pixels(const ConvGeometry& g) { return static_cast<long>(g.outH) * g.outW; }
long taps(const ConvGeometry& g) { return static_cast<long>(g.kh) * g.kw; }
// The patches: a row per (n, p) and a column per (c, tap), over the groups together.
size_t columnCount(const ConvGeometry& g) { return size_t(g.n) * pixels(g) * g.c * taps(g); }

// x with its channels last ([n][h][w][c]), so that a tap of an output pixel reads a group's
// channels as one contiguous run.
void toChannelsLast(const ConvGeometry& g, const BFloat16* x, BFloat16* last) {
  const long hw = static_cast<long>(g.h) * g.w;
#pragma omp parallel for schedule(static)
  for (long n = 0; n < g.n; ++n)
    for (int c = 0; c < g.c; ++c) {
      const BFloat16* plane = x + (n * g.c + c) * hw;
      BFloat16* out = last + n * hw * g.c + c;
      for (long i = 0; i < hw; ++i) out[i * g.c] = plane[i];
    }
}

// The patches, group by group: group k's matrix has a row per (n, p) and a column per (tap i j,
// channel of the group), holding the input pixel that tap reads for output pixel p of image n (zero
// in the padding).
void im2col(const ConvGeometry& g, const BFloat16* last, BFloat16* columns) {
  const long P = pixels(g), rows = static_cast<long>(g.n) * P;
  const int cg = g.c / g.groups;
  const long width = static_cast<long>(cg) * taps(g);
#pragma omp parallel for schedule(static)
  for (long row = 0; row < rows; ++row) {
    const long n = row / P, p = row % P;
    const int oh = static_cast<int>(p / g.outW), ow = static_cast<int>(p % g.outW);
    for (int k = 0; k < g.groups; ++k) {
      BFloat16* out = columns + (k * rows + row) * width;
      for (int i = 0; i < g.kh; ++i) {
        const int r = oh * g.strideH + i - g.padH;
        for (int j = 0; j < g.kw; ++j, out += cg) {
          const int col = ow * g.strideW + j - g.padW;
          if (r >= 0 && r < g.h && col >= 0 && col < g.w)
            std::memcpy(out, last + ((n * g.h + r) * g.w + col) * g.c + static_cast<long>(k) * cg,
                        sizeof(BFloat16) * cg);
          else
            std::fill(out, out + cg, BFloat16{0});
        }
      }
    }
  }
}

// dy regrouped as [o][(n, p)], and, when db is wanted, each channel's sum (in double, in order).
void regroupDy(const ConvGeometry& g, const BFloat16* dy, BFloat16* rows, float* db) {
  const long P = pixels(g);
#pragma omp parallel for schedule(static)
  for (int o = 0; o < g.o; ++o) {
    double sum = 0.0;
    for (long n = 0; n < g.n; ++n) {
      const BFloat16* in = dy + (n * g.o + o) * P;
      std::memcpy(rows + (static_cast<long>(o) * g.n + n) * P, in, sizeof(BFloat16) * P);
      if (db)
        for (long p = 0; p < P; ++p) sum += toFloat(in[p]);
    }
    if (db) db[o] = static_cast<float>(sum);
  }
}
}  // namespace

bool filterGemmFits(const ConvGeometry& g) {
  return pixels(g) <= kMaxPixels &&
         (inputCount(g) + columnCount(g) + outputCount(g)) * sizeof(BFloat16) <= kMaxBytes;
}

// Per group k: A = dy's rows of its output channels [o/G][(n, p)], B = its patches
// [(n, p)][(taps, c/G)], C = [o/G][(taps, c/G)] in float32, then written into dw's OIHW block of
// the group ([o/G][c/G][kh][kw]).
FilterGemm::FilterGemm(DnnlContext& ctx, const ConvGeometry& g) : g_(g) {
  const auto bf16 = dnnl::memory::data_type::bf16;
  const long np = static_cast<long>(g.n) * pixels(g);
  const long og = g.o / g.groups, width = static_cast<long>(g.c / g.groups) * taps(g);
  matmul_ = std::make_unique<Matmul>(ctx, matrix(og, np, np, 1, bf16), matrix(np, width, width, 1, bf16),
                                     matrix(og, width, width, 1), false);
}

void FilterGemm::run(DnnlContext& ctx, const BFloat16* x, const BFloat16* dy, float* dw, float* db,
                     FilterGemmScratch& s) {
  const ConvGeometry& g = g_;
  const long np = static_cast<long>(g.n) * pixels(g);
  const long og = g.o / g.groups, cg = g.c / g.groups, kk = taps(g), width = cg * kk;
  BFloat16* last = s.input.grown<BFloat16>(inputCount(g));
  BFloat16* columns = s.columns.grown<BFloat16>(columnCount(g));
  BFloat16* rows = s.dyRows.grown<BFloat16>(outputCount(g));
  float* product = s.product.grown<float>(weightCount(g));
  toChannelsLast(g, x, last);
  im2col(g, last, columns);
  regroupDy(g, dy, rows, db);
  for (long k = 0; k < g.groups; ++k)
    matmul_->run(ctx, rows + k * og * np, columns + k * np * width, nullptr, product + k * og * width);
  // [o][(tap, c)] -> [o][c][tap], the contract's layout.
  for (long o = 0; o < g.o; ++o)
    for (long c = 0; c < cg; ++c)
      for (long t = 0; t < kk; ++t) dw[(o * cg + c) * kk + t] = product[o * width + t * cg + c];
}

}  // namespace cpu
}  // namespace alexnet
