// The bfloat16 weight gradient of a convolution on a small output map as one GEMM over the whole
// batch (conv_filter_gemm.cpp says why and when).
#pragma once

#include <memory>

#include "alexnet/backend.hpp"
#include "alexnet/bfloat16.hpp"
#include "cpu_internal.hpp"
#include "matmul.hpp"

namespace alexnet {
namespace cpu {

// Whether `g`'s bfloat16 weight gradient runs as one GEMM (small output map, bounded buffers).
bool filterGemmFits(const ConvGeometry& g);

// One geometry's GEMM (a matmul per group over slices of the scratch buffers), cached by the backend.
class FilterGemm {
 public:
  FilterGemm(DnnlContext& ctx, const ConvGeometry& g);
  // dw (and db when not null), float32, from x and dy.
  void run(DnnlContext& ctx, const BFloat16* x, const BFloat16* dy, float* dw, float* db,
           FilterGemmScratch& scratch);

 private:
  ConvGeometry g_;
  std::unique_ptr<Matmul> matmul_;
};

}  // namespace cpu
}  // namespace alexnet
