// Fully connected layers: y = x W^T + b, dx = dy W, dw = dy^T x, db = column sums of dy.
//
// y and dx use oneDNN matmul primitives (cached per shape), dw uses dnnl_sgemm. The layers are
// skinny at training batch sizes (M = N = 32..128 rows against 4096 x 4096 weights), i.e. bound by
// reading the weights; measured on 2 AVX-512 cores the matmul's brgemm kernels read them faster
// than sgemm for y = x W^T and dx = dy W, and sgemm is the faster for dw (bench/RESULTS.md).
//
// bfloat16: all three are matmuls with bf16 operands and float32 accumulation (oneDNN's brgemm
// bf16 kernels); y and dx are bf16, dw float32 (written as such, never rounded to bf16), and db
// is summed from the bf16 dy in double as in float32.
#include <string>

#include <oneapi/dnnl/dnnl.h>

#include "cpu_internal.hpp"
#include "matmul.hpp"

namespace alexnet {
namespace cpu {

using dnnl::memory;

namespace {

std::string linearString(int n, int in, int out) {
  return "x " + dimsString({n, in}) + ", w " + dimsString({out, in}) + ", y " +
         dimsString({n, out});
}

void sgemm(char ta, char tb, long m, long n, long k, const float* a, long lda, const float* b,
           long ldb, float beta, float* c, long ldc, const std::string& what) {
  dnnl_status_t s = dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (s != dnnl_success) throwDnnlStatus(static_cast<int>(s), "dnnl_sgemm", what);
}

Key linearKey(int kind, int n, int in, int out, bool bias) {
  return Key{kind, n, in, out, bias ? 1 : 0};
}

}  // namespace

struct LinearCache {
  std::unordered_map<Key, std::unique_ptr<Matmul>, KeyHash> matmuls;
};
void LinearCacheDeleter::operator()(LinearCache* c) const { delete c; }

LinearCache& CpuBackend::linearCache() {
  if (!linear_) linear_.reset(new LinearCache());
  return *linear_;
}

void CpuBackend::linearForward(int n, int in, int out, const float* x, const float* w,
                               const float* bias, float* y) {
  DnnlContext& ctx = dnnl();
  try {
    auto& slot = linearCache().matmuls[linearKey(0, n, in, out, bias != nullptr)];
    // x [n, in] times W^T: W [out, in] read as an [in, out] matrix with strides (1, in).
    if (!slot)
      slot = std::make_unique<Matmul>(ctx, matrix(n, in, in, 1), matrix(in, out, 1, in),
                                      matrix(n, out, out, 1), bias != nullptr);
    slot->run(ctx, x, w, bias, y);
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::matmul", linearString(n, in, out));
  }
}

void CpuBackend::linearBackward(int n, int in, int out, const float* dy, const float* x,
                                const float* w, float* dx, float* dw, float* db) {
  const std::string what = linearString(n, in, out);
  if (dx) {
    DnnlContext& ctx = dnnl();
    try {
      auto& slot = linearCache().matmuls[linearKey(1, n, in, out, false)];
      if (!slot)
        slot = std::make_unique<Matmul>(ctx, matrix(n, out, out, 1), matrix(out, in, in, 1),
                                        matrix(n, in, in, 1), false);
      slot->run(ctx, dy, w, nullptr, dx);
    } catch (const dnnl::error& err) {
      throwDnnl(err, "dnnl::matmul", what);
    }
  }
  if (dw) sgemm('T', 'N', out, in, n, dy, out, x, in, 0.0f, dw, in, what);
  if (db) {
#pragma omp parallel for schedule(static)
    for (int j = 0; j < out; ++j) {
      double s = 0.0;  // double: the batch sum stays exact to float precision for any n
      for (int i = 0; i < n; ++i) s += dy[static_cast<long>(i) * out + j];
      db[j] = static_cast<float>(s);
    }
  }
}

}  // namespace cpu
}  // namespace alexnet

namespace alexnet {
namespace cpu {

void CpuBackend::linearForward(int n, int in, int out, const BFloat16* x, const BFloat16* w,
                               const float* bias, BFloat16* y) {
  requireBf16("linearForward");
  DnnlContext& ctx = dnnl();
  const auto bf16 = memory::data_type::bf16;
  try {
    auto& slot = linearCache().matmuls[linearKey(10, n, in, out, bias != nullptr)];
    if (!slot)
      slot = std::make_unique<Matmul>(ctx, matrix(n, in, in, 1, bf16), matrix(in, out, 1, in, bf16),
                                      matrix(n, out, out, 1, bf16), bias != nullptr);
    slot->run(ctx, x, w, bias, y);
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::matmul", linearString(n, in, out));
  }
}

void CpuBackend::linearBackward(int n, int in, int out, const BFloat16* dy, const BFloat16* x,
                                const BFloat16* w, BFloat16* dx, float* dw, float* db) {
  requireBf16("linearBackward");
  const std::string what = linearString(n, in, out);
  DnnlContext& ctx = dnnl();
  const auto bf16 = memory::data_type::bf16;
  try {
    if (dx) {
      auto& slot = linearCache().matmuls[linearKey(11, n, in, out, false)];
      if (!slot)
        slot = std::make_unique<Matmul>(ctx, matrix(n, out, out, 1, bf16), matrix(out, in, in, 1, bf16),
                                        matrix(n, in, in, 1, bf16), false);
      slot->run(ctx, dy, w, nullptr, dx);
    }
    if (dw) {
      // dw [out, in] = dy^T [out, n] x [n, in], accumulated and written in float32.
      auto& slot = linearCache().matmuls[linearKey(12, n, in, out, false)];
      if (!slot)
        slot = std::make_unique<Matmul>(ctx, matrix(out, n, 1, out, bf16), matrix(n, in, in, 1, bf16),
                                        matrix(out, in, in, 1), false);
      slot->run(ctx, dy, x, nullptr, dw);
    }
  } catch (const dnnl::error& err) {
    throwDnnl(err, "dnnl::matmul", what);
  }
  if (db) {
#pragma omp parallel for schedule(static)
    for (int j = 0; j < out; ++j) {
      double s = 0.0;
      for (int i = 0; i < n; ++i) s += toFloat(dy[static_cast<long>(i) * out + j]);
      db[j] = static_cast<float>(s);
    }
  }
}

}  // namespace cpu
}  // namespace alexnet
