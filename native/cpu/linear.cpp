// Fully connected layers with oneDNN's row-major sgemm: y = x W^T + b, dx = dy W, dw = dy^T x,
// db = column sums of dy.
#include <string>

#include <oneapi/dnnl/dnnl.h>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {

std::string linearString(int n, int in, int out) {
  return "x " + dimsString({n, in}) + ", w " + dimsString({out, in}) + ", y " +
         dimsString({n, out});
}

void validate(int n, int in, int out) {
  if (n <= 0 || in <= 0 || out <= 0)
    invalidArgument("invalid linear geometry: " + linearString(n, in, out));
}

void sgemm(char ta, char tb, long m, long n, long k, const float* a, long lda, const float* b,
           long ldb, float beta, float* c, long ldc, const std::string& what) {
  dnnl_status_t s = dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (s != dnnl_success) throwDnnlStatus(static_cast<int>(s), "dnnl_sgemm", what);
}

}  // namespace

void CpuBackend::linearForward(int n, int in, int out, const float* x, const float* w,
                               const float* bias, float* y) {
  validate(n, in, out);
  float beta = 0.0f;
  if (bias) {
    // Start from the broadcast bias and let the GEMM accumulate onto it (beta = 1).
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < out; ++j) y[static_cast<long>(i) * out + j] = bias[j];
    beta = 1.0f;
  }
  sgemm('N', 'T', n, out, in, x, in, w, in, beta, y, out, linearString(n, in, out));
}

void CpuBackend::linearBackward(int n, int in, int out, const float* dy, const float* x,
                                const float* w, float* dx, float* dw, float* db) {
  validate(n, in, out);
  const std::string what = linearString(n, in, out);
  if (dx) sgemm('N', 'N', n, in, out, dy, out, w, in, 0.0f, dx, in, what);
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
