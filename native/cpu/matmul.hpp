// A cached oneDNN matmul over caller-owned pointers, and the matrix descriptors it takes: shared by
// the fully connected layers (linear.cpp) and the bfloat16 weight gradient of convolutions on small
// maps (conv_filter_gemm.cpp).
#pragma once

#include <unordered_map>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

// A rows x cols matrix with the given element strides (so transposed and sliced views too).
inline dnnl::memory::desc matrix(long rows, long cols, long rowStride, long colStride,
                                 dnnl::memory::data_type type = dnnl::memory::data_type::f32) {
  return dnnl::memory::desc({rows, cols}, type, {rowStride, colStride});
}

// One cached matmul C[m, n] = A[m, k] B[k, n] (+ bias[n]) over caller-owned pointers.
struct Matmul {
  dnnl::matmul prim;
  dnnl::memory a, b, bias, c, scratch;
  std::unordered_map<int, dnnl::memory> args;

  Matmul(DnnlContext& ctx, const dnnl::memory::desc& ad, const dnnl::memory::desc& bd, const dnnl::memory::desc& cd,
         bool withBias) {
    const long n = cd.dims()[1];
    dnnl::memory::desc biasDesc = withBias ? matrix(1, n, n, 1) : dnnl::memory::desc();
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, biasDesc, cd), ctx.attr(), ctx.engine);
    prim = dnnl::matmul(pd);
    a = dnnl::memory(ad, ctx.engine, DNNL_MEMORY_NONE);
    b = dnnl::memory(bd, ctx.engine, DNNL_MEMORY_NONE);
    c = dnnl::memory(cd, ctx.engine, DNNL_MEMORY_NONE);
    scratch = ctx.scratchpadMemory(pd.scratchpad_desc());
    args = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}, {DNNL_ARG_SCRATCHPAD, scratch}};
    if (withBias) {
      bias = dnnl::memory(biasDesc, ctx.engine, DNNL_MEMORY_NONE);
      args[DNNL_ARG_BIAS] = bias;
    }
  }

  void run(DnnlContext& ctx, const void* pa, const void* pb, const float* pbias, void* pc) {
    scratch.set_data_handle(ctx.scratchpad.ptr);
    a.set_data_handle(const_cast<void*>(pa));
    b.set_data_handle(const_cast<void*>(pb));
    c.set_data_handle(pc);
    if (pbias) bias.set_data_handle(const_cast<float*>(pbias));
    prim.execute(ctx.stream, args);
    ctx.stream.wait();
  }
};

}  // namespace cpu
}  // namespace alexnet
