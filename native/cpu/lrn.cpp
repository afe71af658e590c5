// Cross-channel LRN with oneDNN. The contract's alpha multiplies the plain sum of squares; oneDNN
// divides its alpha by the window size, so it is given alpha * size.
//
// Layout: oneDNN 2.6 has JIT LRN kernels for the blocked nChw16c layout only; on plain NCHW its
// backward is the reference loop, ~20x slower at AlexNet's shapes. So when C is a multiple of 16
// the data goes through cached reorders to nChw16c and back. The blocked backward needs the
// forward's workspace, which the contract does not carry (the backward gets x and y only), so the
// backward first recomputes the forward with a cached forward_training primitive to fill it.
//
// The batch is processed in chunks of images (at most 16 MB per buffer, unless one image is larger):
// the blocked copies and the workspace stay bounded instead of growing to hundreds of MB at batch
// 128. Larger chunks would save little: each chunk costs a few more OpenMP parallel regions.
//
// bfloat16: the same primitives with bf16 data (oneDNN's LRN kernels compute in float32 and round
// once to the output). Channel counts that are not multiples of 16 take the plain loops, which
// widen each image as they read it and round the result once (lrn_plain.cpp).
#include <algorithm>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

// lrn_plain.cpp: direct loops for channel counts that are not multiples of 16.
void lrnForwardPlain(const LrnGeometry& g, const float* x, float* y);
void lrnForwardPlain(const LrnGeometry& g, const BFloat16* x, BFloat16* y);
void lrnBackwardPlain(const LrnGeometry& g, const float* dy, const float* x, const float* y, float* dx);
void lrnBackwardPlain(const LrnGeometry& g, const BFloat16* dy, const BFloat16* x, const BFloat16* y,
                      BFloat16* dx);

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

constexpr long kChunkElements = 1 << 22;  // per buffer: 16 MB of floats

std::string lrnString(const LrnGeometry& g) {
  std::ostringstream s;
  s << "x " << dimsString({g.n, g.c, g.h, g.w}) << ", size " << g.size << ", alpha " << g.alpha
    << ", beta " << g.beta << ", k " << g.k;
  return s.str();
}

Key makeKey(const LrnGeometry& g, dt act) {
  // Floats go into the key by bit pattern: equal parameters give equal keys.
  auto bits = [](float f) {
    int i;
    std::memcpy(&i, &f, sizeof i);
    return i;
  };
  return Key{g.n, g.c, g.h, g.w, g.size, bits(g.alpha), bits(g.beta), bits(g.k),
             static_cast<int>(act), 0, 0, 0, 0, 0, 0, 0};
}

bool useBlocked(const LrnGeometry& g) { return g.c % 16 == 0; }

// Images per chunk, and the plain / internal descriptors for `batch` images.
int chunkImages(const LrnGeometry& g) {
  long perImage = static_cast<long>(g.c) * g.h * g.w;
  return static_cast<int>(std::clamp<long>(kChunkElements / perImage, 1, g.n));
}
memory::desc plainDesc(const LrnGeometry& g, int batch, dt act) {
  return memory::desc({batch, g.c, g.h, g.w}, act, tag::nchw);
}
memory::desc innerDesc(const LrnGeometry& g, int batch, dt act) {
  return memory::desc({batch, g.c, g.h, g.w}, act, useBlocked(g) ? tag::nChw16c : tag::nchw);
}

dnnl::lrn_forward::primitive_desc forwardPd(DnnlContext& ctx, const LrnGeometry& g, int batch,
                                            dnnl::prop_kind kind, dt act) {
  dnnl::lrn_forward::desc desc(kind, dnnl::algorithm::lrn_across_channels, innerDesc(g, batch, act),
                               g.size, g.alpha * static_cast<float>(g.size), g.beta, g.k);
  return dnnl::lrn_forward::primitive_desc(desc, ctx.attr(), ctx.engine);
}

// Forward over `batch` images.
struct ForwardPart {
  int batch = 0;
  dnnl::lrn_forward prim;
  Staged x, y;
  memory scratch;
  std::unordered_map<int, memory> args;

  ForwardPart(DnnlContext& ctx, const LrnGeometry& g, int b, dt act) : batch(b) {
    // Inference kind: the forward alone never needs a workspace.
    auto pd = forwardPd(ctx, g, b, dnnl::prop_kind::forward_inference, act);
    prim = dnnl::lrn_forward(pd);
    x = Staged(ctx, plainDesc(g, b, act), pd.src_desc(), true, 0);
    y = Staged(ctx, plainDesc(g, b, act), pd.dst_desc(), false, 2);
    scratch = ctx.scratchpadMemory(pd.scratchpad_desc());
    args = {{DNNL_ARG_SRC, x.mem()}, {DNNL_ARG_DST, y.mem()}, {DNNL_ARG_SCRATCHPAD, scratch}};
  }
  void run(DnnlContext& ctx, const void* xp, void* yp) {
    scratch.set_data_handle(ctx.scratchpad.ptr);
    x.in(ctx, xp);
    y.out(ctx, yp);
    prim.execute(ctx.stream, args);
    y.finish(ctx);
  }
};

// Backward over `batch` images, with the forward recomputed when a workspace is needed.
struct BackwardPart {
  int batch = 0;
  dnnl::lrn_backward prim;
  Staged x, dy, dx;
  memory scratch;
  std::unordered_map<int, memory> args;
  bool recompute = false;
  dnnl::lrn_forward forward;
  memory workspace, yScratch, forwardScratch;  // the recomputed y goes to a private buffer
  std::unordered_map<int, memory> forwardArgs;

  BackwardPart(DnnlContext& ctx, const LrnGeometry& g, int b, dt act) : batch(b) {
    auto hint = forwardPd(ctx, g, b, dnnl::prop_kind::forward_training, act);
    memory::desc data = innerDesc(g, b, act);
    dnnl::lrn_backward::desc desc(dnnl::algorithm::lrn_across_channels, data, data, g.size,
                                  g.alpha * static_cast<float>(g.size), g.beta, g.k);
    dnnl::lrn_backward::primitive_desc pd(desc, ctx.attr(), ctx.engine, hint);
    prim = dnnl::lrn_backward(pd);
    x = Staged(ctx, plainDesc(g, b, act), pd.src_desc(), true, 0);
    dy = Staged(ctx, plainDesc(g, b, act), pd.diff_dst_desc(), true, 1);
    dx = Staged(ctx, plainDesc(g, b, act), pd.diff_src_desc(), false, 2);
    scratch = ctx.scratchpadMemory(pd.scratchpad_desc());
    args = {{DNNL_ARG_SRC, x.mem()},
            {DNNL_ARG_DIFF_DST, dy.mem()},
            {DNNL_ARG_DIFF_SRC, dx.mem()},
            {DNNL_ARG_SCRATCHPAD, scratch}};
    memory::desc ws = pd.workspace_desc();
    if (ws.get_size() > 0) {
      recompute = true;
      forward = dnnl::lrn_forward(hint);
      workspace = memory(ws, ctx.engine);
      yScratch = memory(hint.dst_desc(), ctx.engine);
      forwardScratch = ctx.scratchpadMemory(hint.scratchpad_desc());
      forwardArgs = {{DNNL_ARG_SRC, x.mem()},
                     {DNNL_ARG_DST, yScratch},
                     {DNNL_ARG_WORKSPACE, workspace},
                     {DNNL_ARG_SCRATCHPAD, forwardScratch}};
      args[DNNL_ARG_WORKSPACE] = workspace;
    }
  }
  void run(DnnlContext& ctx, const void* dyp, const void* xp, void* dxp) {
    x.in(ctx, xp);
    if (recompute) {
      forwardScratch.set_data_handle(ctx.scratchpad.ptr);
      forward.execute(ctx.stream, forwardArgs);
    }
    dy.in(ctx, dyp);
    dx.out(ctx, dxp);
    scratch.set_data_handle(ctx.scratchpad.ptr);
    prim.execute(ctx.stream, args);
    dx.finish(ctx);
  }
};

// A whole batch: `full` handles chunks of full->batch images, `tail` the remainder (if any).
template <class Part>
struct Plan {
  std::unique_ptr<Part> full, tail;
  Plan(DnnlContext& ctx, const LrnGeometry& g, dt act) {
    int chunk = chunkImages(g);
    full = std::make_unique<Part>(ctx, g, chunk, act);
    if (g.n % chunk) tail = std::make_unique<Part>(ctx, g, g.n % chunk, act);
  }
  template <class F>
  void forEachChunk(const LrnGeometry& g, F f) {
    const long perImage = static_cast<long>(g.c) * g.h * g.w;
    for (int i = 0; i < g.n; i += full->batch) {
      Part& p = g.n - i >= full->batch ? *full : *tail;
      f(p, i * perImage);
    }
  }
};

}  // namespace

struct LrnCache {
  std::unordered_map<Key, std::unique_ptr<Plan<ForwardPart>>, KeyHash> forward;
  std::unordered_map<Key, std::unique_ptr<Plan<BackwardPart>>, KeyHash> backward;
};
void LrnCacheDeleter::operator()(LrnCache* c) const { delete c; }

LrnCache& CpuBackend::lrnCache() {
  if (!lrn_) lrn_.reset(new LrnCache());
  return *lrn_;
}

void CpuBackend::lrnForward(const LrnGeometry& g, const float* x, float* y) {
  if (!useBlocked(g) && g.size % 2 == 1) return lrnForwardPlain(g, x, y);
  lrnForwardAny(g, dt::f32, x, y);
}

void CpuBackend::lrnBackward(const LrnGeometry& g, const float* dy, const float* x,
                             const float* y, float* dx) {
  if (!useBlocked(g) && g.size % 2 == 1) return lrnBackwardPlain(g, dy, x, y, dx);
  lrnBackwardAny(g, dt::f32, dy, x, dx);
}

void CpuBackend::lrnForward(const LrnGeometry& g, const BFloat16* x, BFloat16* y) {
  requireBf16("lrnForward");
  if (!useBlocked(g) && g.size % 2 == 1) return lrnForwardPlain(g, x, y);
  lrnForwardAny(g, dt::bf16, x, y);
}

void CpuBackend::lrnBackward(const LrnGeometry& g, const BFloat16* dy, const BFloat16* x,
                             const BFloat16* y, BFloat16* dx) {
  requireBf16("lrnBackward");
  if (!useBlocked(g) && g.size % 2 == 1) return lrnBackwardPlain(g, dy, x, y, dx);
  lrnBackwardAny(g, dt::bf16, dy, x, dx);
}

void CpuBackend::lrnForwardAny(const LrnGeometry& g, dt act, const void* x, void* y) {
  DnnlContext& ctx = dnnl();
  const long esize = act == dt::bf16 ? 2 : 4;
  try {
    auto& slot = lrnCache().forward[makeKey(g, act)];
    if (!slot) slot = std::make_unique<Plan<ForwardPart>>(ctx, g, act);
    slot->forEachChunk(g, [&](ForwardPart& p, long off) {
      p.run(ctx, static_cast<const char*>(x) + off * esize, static_cast<char*>(y) + off * esize);
    });
    ctx.stream.wait();
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::lrn_forward", lrnString(g));
  }
}

void CpuBackend::lrnBackwardAny(const LrnGeometry& g, dt act, const void* dy, const void* x,
                                void* dx) {
  DnnlContext& ctx = dnnl();
  const long esize = act == dt::bf16 ? 2 : 4;
  try {
    auto& slot = lrnCache().backward[makeKey(g, act)];
    if (!slot) slot = std::make_unique<Plan<BackwardPart>>(ctx, g, act);
    slot->forEachChunk(g, [&](BackwardPart& p, long off) {
      p.run(ctx, static_cast<const char*>(dy) + off * esize, static_cast<const char*>(x) + off * esize,
            static_cast<char*>(dx) + off * esize);
    });
    ctx.stream.wait();
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::lrn_backward", lrnString(g));
  }
}

}  // namespace cpu
}  // namespace alexnet
