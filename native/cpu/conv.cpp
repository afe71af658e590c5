// 2-D convolution (forward, backward data, backward weights + bias) with oneDNN, groups included.
// Each geometry gets its primitives and reorders once; later calls only rebind pointers.
//
// Layouts: the primitives choose their own (format_tag::any, usually blocked nChw16c /
// OIhw16i16o) and cached reorders translate to and from the contract's plain NCHW / OIHW through
// the context's shared staging buffers. At AlexNet's batch-32 shapes (2 cores, AVX-512) this ran
// at ~155 GFLOP/s over forward + both backwards, against ~98 GFLOP/s with plain layouts forced,
// which send oneDNN to its gemm-based kernels. The exception is backward data with very few input
// channels per group (conv1: 3): there the blocked diff_src is mostly padding and the plain gemm
// kernel was about twice as fast. With 12 per group (the quick preset's conv2) the blocked JIT
// kernel wins instead: 2.5 ms plus 0.7 ms of reorders against 5.6 ms for gemm.
//
// bfloat16 (mixed precision): the same primitives with bf16 activations and weights, the same
// blocked layouts (nChw16c; the weights' bf16 blocking pairs input channels, OIhw8i16o2i, for the
// vdpbf16ps instructions of the avx512_core_bf16 kernels) and float32 accumulation inside oneDNN.
// The bias and the weight and bias gradients stay float32 (oneDNN's bf16 backward-weights
// kernels write f32 diff_weights directly), so no gradient is ever rounded to 8 bits.
//
// Weight gradients of grouped convolutions whose input channels per group are not a multiple of 16
// (the quick preset's conv2: 12) have only oneDNN 2.6's gemm kernel: 6.3 ms per step at batch 128
// in float32 and in bfloat16 alike, a fifth of the step. Group by group, as ungrouped convolutions
// over each group's channel slices, the JIT kernels take them (channels padded to the block inside
// oneDNN): 2 x 1.4 ms in float32 and 2 x 0.6 ms in bfloat16. Each group's slices are read in
// place through strided descriptors, and its weight and bias gradients are contiguous blocks.
#include <string>
#include <unordered_map>
#include <vector>

#include "conv_filter_gemm.hpp"
#include "conv_space_to_depth.hpp"
#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

struct Descs {
  memory::desc x, w, b, y;            // plain, as the contract lays tensors out
  memory::desc xAny, wAny, yAny;      // what the primitive is offered
  memory::desc dw, dwAny;             // the weights' gradient: f32 in every precision
  memory::dims strides, padL, padR;
};

// `act` is the activations' and weights' type (f32 or bf16); the bias and dw are always f32
// (descs `b` and `dwAny`/`dw`). `xBlocked16`: the caller's x is nChw16c rather than NCHW.
Descs makeDescs(const ConvGeometry& g, bool plain, dt act = dt::f32, bool xBlocked16 = false) {
  Descs d;
  memory::dims xd{g.n, g.c, g.h, g.w}, yd{g.n, g.o, g.outH, g.outW};
  memory::dims wd = g.groups == 1
                        ? memory::dims{g.o, g.c, g.kh, g.kw}
                        : memory::dims{g.groups, g.o / g.groups, g.c / g.groups, g.kh, g.kw};
  const tag wTag = g.groups == 1 ? tag::oihw : tag::goihw;
  d.x = memory::desc(xd, act, xBlocked16 ? tag::nChw16c : tag::nchw);
  d.y = memory::desc(yd, act, tag::nchw);
  d.w = memory::desc(wd, act, wTag);
  d.dw = memory::desc(wd, dt::f32, wTag);
  d.b = memory::desc({g.o}, dt::f32, tag::x);
  d.xAny = plain ? d.x : memory::desc(xd, act, tag::any);
  d.yAny = plain ? d.y : memory::desc(yd, act, tag::any);
  d.wAny = plain ? d.w : memory::desc(wd, act, tag::any);
  d.dwAny = plain ? d.dw : memory::desc(wd, dt::f32, tag::any);
  d.strides = {g.strideH, g.strideW};
  d.padL = {g.padH, g.padW};
  // Right padding equal to the left one: oneDNN checks the output size with the same floor
  // division as the contract, so the unused tail rows are simply not read.
  d.padR = {g.padH, g.padW};
  return d;
}

dnnl::convolution_forward::primitive_desc forwardPd(DnnlContext& ctx, const Descs& d,
                                                    bool withBias) {
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training,
                                       dnnl::algorithm::convolution_direct, d.xAny, d.wAny,
                                       withBias ? d.b : memory::desc(), d.yAny, d.strides,
                                       d.padL, d.padR);
  return dnnl::convolution_forward::primitive_desc(desc, ctx.attr(), ctx.engine);
}

Key makeKey(const ConvGeometry& g, int flag, dt act) {
  return Key{g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW,
             g.groups, g.outH, g.outW, flag, static_cast<int>(act)};
}

struct Forward {
  dnnl::convolution_forward prim;
  Staged x, w, y;
  memory b, scratch;
  std::unordered_map<int, memory> args;
};

struct BackwardData {
  dnnl::convolution_backward_data prim;
  Staged dy, w, dx;
  memory scratch;
  std::unordered_map<int, memory> args;
};

struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  Staged x, dy, dw;
  memory db, scratch;
  std::unordered_map<int, memory> args;
  // Instead of prim where the grouped primitive would run on the gemm kernel: an ungrouped
  // primitive run once per group (the header says why) on that group's channel slices.
  std::unique_ptr<BackwardWeights> eachGroup;
};

bool onGemm(const dnnl::convolution_backward_weights::primitive_desc& pd) {
  return std::string(pd.impl_info_str()).find("gemm") != std::string::npos;
}

dnnl::convolution_backward_weights::primitive_desc backwardWeightsPd(DnnlContext& ctx, const Descs& d, bool withBias) {
  auto hint = forwardPd(ctx, d, withBias);
  dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.xAny, d.dwAny,
                                                withBias ? d.b : memory::desc(), d.yAny, d.strides, d.padL, d.padR);
  return dnnl::convolution_backward_weights::primitive_desc(desc, ctx.attr(), ctx.engine, hint);
}

// One group of `g` as an ungrouped convolution: its input channels and output channels alone.
ConvGeometry oneGroup(const ConvGeometry& g) {
  ConvGeometry k = g;
  k.c = g.c / g.groups;
  k.o = g.o / g.groups;
  k.groups = 1;
  return k;
}

// A cached entry for `pd`, with `d`'s plain descriptors as the user's side: `x` and `y` may be
// strided views (a group's channels of the whole tensors).
std::unique_ptr<BackwardWeights> makeBackwardWeights(DnnlContext& ctx, const Descs& d,
                                                     const dnnl::convolution_backward_weights::primitive_desc& pd,
                                                     bool withBias) {
  auto e = std::make_unique<BackwardWeights>();
  e->prim = dnnl::convolution_backward_weights(pd);
  e->x = Staged(ctx, d.x, pd.src_desc(), true, 0);
  e->dy = Staged(ctx, d.y, pd.diff_dst_desc(), true, 2);
  e->dw = Staged(ctx, d.dw, pd.diff_weights_desc(), false, 1);
  e->scratch = ctx.scratchpadMemory(pd.scratchpad_desc());
  e->args = {{DNNL_ARG_SRC, e->x.mem()},
             {DNNL_ARG_DIFF_DST, e->dy.mem()},
             {DNNL_ARG_DIFF_WEIGHTS, e->dw.mem()},
             {DNNL_ARG_SCRATCHPAD, e->scratch}};
  if (withBias) {
    e->db = memory(pd.diff_bias_desc(), ctx.engine, DNNL_MEMORY_NONE);
    e->args[DNNL_ARG_DIFF_BIAS] = e->db;
  }
  return e;
}

void runBackwardWeights(DnnlContext& ctx, BackwardWeights& e, const void* x, const void* dy, float* dw, float* db) {
  e.scratch.set_data_handle(ctx.scratchpad.ptr);
  e.x.in(ctx, x);
  e.dy.in(ctx, dy);
  e.dw.out(ctx, dw);
  if (db) e.db.set_data_handle(db);
  e.prim.execute(ctx.stream, e.args);
  e.dw.finish(ctx);
}

// The backward-weights primitive of one group of `g` as an ungrouped convolution.
dnnl::convolution_backward_weights::primitive_desc oneGroupPd(DnnlContext& ctx, const ConvGeometry& g, dt act,
                                                              bool withBias) {
  return backwardWeightsPd(ctx, makeDescs(oneGroup(g), false, act), withBias);
}

// The entry that computes one group of `g` (groups > 1) as an ungrouped convolution, when that
// avoids the gemm kernel; null otherwise. Run for group k, it reads x's channels [k c/G, (k+1) c/G)
// and dy's [k o/G, (k+1) o/G) in place: its plain descriptors keep the whole tensors' strides.
std::unique_ptr<BackwardWeights> eachGroupEntry(DnnlContext& ctx, const ConvGeometry& g, dt act, bool withBias) {
  const ConvGeometry k = oneGroup(g);
  auto pd = oneGroupPd(ctx, g, act, withBias);
  if (onGemm(pd)) return nullptr;
  Descs d = makeDescs(k, false, act);
  d.x = memory::desc({k.n, k.c, k.h, k.w}, act, memory::dims{g.c * g.h * g.w, g.h * g.w, g.w, 1});
  d.y = memory::desc({k.n, k.o, k.outH, k.outW}, act, memory::dims{g.o * g.outH * g.outW, g.outH * g.outW, g.outW, 1});
  return makeBackwardWeights(ctx, d, pd, withBias);
}

}  // namespace

struct ConvCache {
  std::unordered_map<Key, std::unique_ptr<Forward>, KeyHash> forward;
  std::unordered_map<Key, std::unique_ptr<BackwardData>, KeyHash> backwardData;
  std::unordered_map<Key, std::unique_ptr<BackwardWeights>, KeyHash> backwardWeights;
  std::unordered_map<Key, std::unique_ptr<FilterGemm>, KeyHash> filterGemm;  // bf16, small maps
};
void ConvCacheDeleter::operator()(ConvCache* c) const { delete c; }

ConvCache& CpuBackend::convCache() {
  if (!conv_) conv_.reset(new ConvCache());
  return *conv_;
}

void CpuBackend::conv2dForward(const ConvGeometry& g, const float* x, const float* w,
                               const float* bias, float* y) {
  convForward(g, dt::f32, x, w, bias, y);
}
// bfloat16 convolutions with one input channel block after space to depth run packed
// (conv_space_to_depth.cpp): the packed input and weights go through the packed buffers.
void CpuBackend::conv2dForward(const ConvGeometry& g, const BFloat16* x, const BFloat16* w,
                               const float* bias, BFloat16* y) {
  requireBf16("conv2dForward");
  if (!spaceToDepthFits(g)) return convForward(g, dt::bf16, x, w, bias, y);
  const ConvGeometry p = spaceToDepthGeometry(g);
  BFloat16* px = packedX_.grown<BFloat16>(inputCount(p));
  BFloat16* pw = packedW_.grown<BFloat16>(weightCount(p));
  packInput(g, x, px);
  packWeights(g, w, pw);
  convForward(p, dt::bf16, px, pw, bias, y, true);
}
void CpuBackend::conv2dBackwardData(const ConvGeometry& g, const float* dy, const float* w,
                                    float* dx) {
  convBackwardData(g, dt::f32, dy, w, dx);
}
void CpuBackend::conv2dBackwardData(const ConvGeometry& g, const BFloat16* dy, const BFloat16* w,
                                    BFloat16* dx) {
  requireBf16("conv2dBackwardData");
  if (!spaceToDepthFits(g)) return convBackwardData(g, dt::bf16, dy, w, dx);
  const ConvGeometry p = spaceToDepthGeometry(g);
  BFloat16* pw = packedW_.grown<BFloat16>(weightCount(p));
  BFloat16* pdx = packedX_.grown<BFloat16>(inputCount(p));
  packWeights(g, w, pw);
  convBackwardData(p, dt::bf16, dy, pw, pdx);
  unpackInputGrad(g, pdx, dx);
}
void CpuBackend::conv2dBackwardFilter(const ConvGeometry& g, const float* x, const float* dy,
                                      float* dw, float* db) {
  convBackwardFilter(g, dt::f32, x, dy, dw, db);
}
// The bfloat16 weight gradient, by the first of these that fits the geometry:
// - packed by space to depth (one input channel block after packing, conv_space_to_depth.cpp);
// - one GEMM over the batch on output maps of at most 16 pixels (conv_filter_gemm.cpp);
// - widened to float32 (exactly) where oneDNN 2.6 has no avx512_core_bf16 kernel, even group by
//   group: its gemm-based bf16 implementation on plain layouts ran 2-10x slower than the float32
//   JIT kernel at the same shape (x64:gemm:jit, 25-30 ms against 3-10 ms at batch 128). The
//   float32 kernel then computes the same products of bf16 values, accumulated in float32;
// - oneDNN's bf16 kernel otherwise.
void CpuBackend::conv2dBackwardFilter(const ConvGeometry& g, const BFloat16* x, const BFloat16* dy,
                                      float* dw, float* db) {
  requireBf16("conv2dBackwardFilter");
  if (spaceToDepthFits(g)) {
    const ConvGeometry p = spaceToDepthGeometry(g);
    BFloat16* px = packedX_.grown<BFloat16>(inputCount(p));
    float* pdw = packedDw_.grown<float>(weightCount(p));
    packInput(g, x, px);
    convBackwardFilter(p, dt::bf16, px, dy, pdw, db, true);
    unpackWeightGrad(g, pdw, dw);
    return;
  }
  DnnlContext& ctx = dnnl();
  if (filterGemmFits(g)) {  // small output maps: one GEMM (conv_filter_gemm.cpp)
    try {
      auto& gemm = convCache().filterGemm[makeKey(g, 0, dt::bf16)];
      if (!gemm) gemm = std::make_unique<FilterGemm>(ctx, g);
      gemm->run(ctx, x, dy, dw, db, filterGemmScratch_);
    } catch (const dnnl::error& err) {
      throwDnnl(err, "dnnl::matmul", convString(g));
    }
    return;
  }
  const Key key = makeKey(g, db != nullptr, dt::bf16);
  auto found = bf16FilterWidened_.find(key);
  bool widen;
  if (found != bf16FilterWidened_.end()) {
    widen = found->second;
  } else {
    try {
      widen = onGemm(backwardWeightsPd(ctx, makeDescs(g, false, dt::bf16), db != nullptr)) &&
              (g.groups == 1 || onGemm(oneGroupPd(ctx, g, dt::bf16, db != nullptr)));
    } catch (const dnnl::error& err) {
      throwDnnl(err, "dnnl::convolution_backward_weights", convString(g));
    }
    bf16FilterWidened_[key] = widen;
  }
  if (!widen) return convBackwardFilter(g, dt::bf16, x, dy, dw, db);
  float* xf = wideX_.grown<float>(inputCount(g));
  float* dyf = wideDy_.grown<float>(outputCount(g));
  castToFloat32(inputCount(g), x, xf);
  castToFloat32(outputCount(g), dy, dyf);
  convBackwardFilter(g, dt::f32, xf, dyf, dw, db);
}

void CpuBackend::convForward(const ConvGeometry& g, dt act, const void* x, const void* w,
                             const float* bias, void* y, bool xBlocked16) {
  DnnlContext& ctx = dnnl();
  try {
    auto& slot = convCache().forward[makeKey(g, (bias != nullptr) | (xBlocked16 << 1), act)];
    if (!slot) {
      auto e = std::make_unique<Forward>();
      Descs d = makeDescs(g, false, act, xBlocked16);
      auto pd = forwardPd(ctx, d, bias != nullptr);
      e->prim = dnnl::convolution_forward(pd);
      e->x = Staged(ctx, d.x, pd.src_desc(), true, 0);
      e->w = Staged(ctx, d.w, pd.weights_desc(), true, 1);
      e->y = Staged(ctx, d.y, pd.dst_desc(), false, 2);
      e->scratch = ctx.scratchpadMemory(pd.scratchpad_desc());
      e->args = {{DNNL_ARG_SRC, e->x.mem()},
                 {DNNL_ARG_WEIGHTS, e->w.mem()},
                 {DNNL_ARG_DST, e->y.mem()},
                 {DNNL_ARG_SCRATCHPAD, e->scratch}};
      if (bias) {
        e->b = memory(d.b, ctx.engine, DNNL_MEMORY_NONE);
        e->args[DNNL_ARG_BIAS] = e->b;
      }
      slot = std::move(e);
    }
    Forward& e = *slot;
    e.scratch.set_data_handle(ctx.scratchpad.ptr);
    e.x.in(ctx, x);
    e.w.in(ctx, w);
    e.y.out(ctx, y);
    if (bias) e.b.set_data_handle(const_cast<float*>(bias));
    e.prim.execute(ctx.stream, e.args);
    e.y.finish(ctx);
    ctx.stream.wait();
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::convolution_forward", convString(g));
  }
}

void CpuBackend::convBackwardData(const ConvGeometry& g, dt act, const void* dy, const void* w,
                                  void* dx) {
  DnnlContext& ctx = dnnl();
  try {
    auto& slot = convCache().backwardData[makeKey(g, 0, act)];
    if (!slot) {
      auto e = std::make_unique<BackwardData>();
      // With very few input channels (conv1: 3) the blocked diff_src would be mostly padding,
      // and the plain gemm-based kernel measured about 2x faster there.
      Descs d = makeDescs(g, (g.c / g.groups) < 8, act);
      auto hint = forwardPd(ctx, d, false);
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.xAny,
                                                 d.wAny, d.yAny, d.strides, d.padL, d.padR);
      dnnl::convolution_backward_data::primitive_desc pd(desc, ctx.attr(), ctx.engine, hint);
      e->prim = dnnl::convolution_backward_data(pd);
      e->dy = Staged(ctx, d.y, pd.diff_dst_desc(), true, 0);
      e->w = Staged(ctx, d.w, pd.weights_desc(), true, 1);
      e->dx = Staged(ctx, d.x, pd.diff_src_desc(), false, 2);
      e->scratch = ctx.scratchpadMemory(pd.scratchpad_desc());
      e->args = {{DNNL_ARG_DIFF_DST, e->dy.mem()},
                 {DNNL_ARG_WEIGHTS, e->w.mem()},
                 {DNNL_ARG_DIFF_SRC, e->dx.mem()},
                 {DNNL_ARG_SCRATCHPAD, e->scratch}};
      slot = std::move(e);
    }
    BackwardData& e = *slot;
    e.scratch.set_data_handle(ctx.scratchpad.ptr);
    e.dy.in(ctx, dy);
    e.w.in(ctx, w);
    e.dx.out(ctx, dx);
    e.prim.execute(ctx.stream, e.args);
    e.dx.finish(ctx);
    ctx.stream.wait();
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::convolution_backward_data", convString(g));
  }
}

void CpuBackend::convBackwardFilter(const ConvGeometry& g, dt act, const void* x, const void* dy,
                                    float* dw, float* db, bool xBlocked16) {
  DnnlContext& ctx = dnnl();
  try {
    auto& slot = convCache().backwardWeights[makeKey(g, (db != nullptr) | (xBlocked16 << 1), act)];
    if (!slot) {
      Descs d = makeDescs(g, false, act, xBlocked16);
      auto pd = backwardWeightsPd(ctx, d, db != nullptr);
      auto eachGroup = g.groups > 1 && !xBlocked16 && onGemm(pd) ? eachGroupEntry(ctx, g, act, db != nullptr) : nullptr;
      if (eachGroup) {
        slot = std::make_unique<BackwardWeights>();
        slot->eachGroup = std::move(eachGroup);
      } else {
        slot = makeBackwardWeights(ctx, d, pd, db != nullptr);
      }
    }
    BackwardWeights& e = *slot;
    if (!e.eachGroup) {
      runBackwardWeights(ctx, e, x, dy, dw, db);
    } else {
      const ConvGeometry k = oneGroup(g);
      const size_t bytes = act == dt::bf16 ? 2 : 4;
      const size_t xStep = size_t(k.c) * g.h * g.w * bytes, yStep = size_t(k.o) * g.outH * g.outW * bytes;
      const size_t wStep = size_t(k.o) * k.c * g.kh * g.kw;
      for (size_t group = 0; group < size_t(g.groups); ++group)
        runBackwardWeights(ctx, *e.eachGroup, static_cast<const char*>(x) + group * xStep,
                           static_cast<const char*>(dy) + group * yStep, dw + group * wStep,
                           db ? db + group * size_t(k.o) : nullptr);
    }
    ctx.stream.wait();
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::convolution_backward_weights", convString(g));
  }
}

}  // namespace cpu
}  // namespace alexnet
