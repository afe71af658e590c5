// Fully connected layers through cuBLAS. cuBLAS is column-major: a row-major [r, c] matrix is the
// column-major [c, r] matrix, its transpose. So y = x W^T (row-major) is computed as the
// column-major product y^T = W x^T, and likewise for the gradients.
#include <string>

#include "alexnet/error.hpp"
#include "cuda_backend.hpp"
#include "kernels/kernels.hpp"

namespace alexnet::cuda {

namespace {

constexpr float kOne = 1.0f, kZero = 0.0f;

void validate(int n, int in, int out) {
  if (n < 0 || in <= 0 || out <= 0)
    invalidArgument("linear: in and out must be positive and n non-negative (got n=" +
                    std::to_string(n) + ", in=" + std::to_string(in) +
                    ", out=" + std::to_string(out) + ")");
}

}  // namespace

void CudaBackend::linearForward(int n, int in, int out, const float* x, const float* w,
                                const float* bias, float* y) {
  validate(n, in, out);
  if (n == 0) return;
  bind();
  // y^T [out, n] = W [out, in] * x^T [in, n]; W is w read transposed, x^T is x as stored.
  check(cublasSgemm_v2(cublas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &kOne, w, in, x, in,
                       &kZero, y, out),
        "cublasSgemm_v2");
  if (bias != nullptr) kernels::biasAddRows(n, out, bias, y, stream_.get());
}

void CudaBackend::linearBackward(int n, int in, int out, const float* dy, const float* x,
                                 const float* w, float* dx, float* dw, float* db) {
  validate(n, in, out);
  bind();
  if (dx != nullptr && n > 0) {
    // dx [n, in] = dy [n, out] W [out, in]  ->  dx^T [in, n] = W^T [in, out] * dy^T [out, n].
    check(cublasSgemm_v2(cublas_.get(), CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &kOne, w, in, dy,
                         out, &kZero, dx, in),
          "cublasSgemm_v2");
  }
  if (dw != nullptr) {
    if (n == 0) {
      kernels::fill(static_cast<size_t>(in) * out, 0.0f, dw, stream_.get());
    } else {
      // dw [out, in] = dy^T [out, n] x [n, in]  ->  dw^T [in, out] = x^T [in, n] * dy [n, out].
      check(cublasSgemm_v2(cublas_.get(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &kOne, x, in, dy,
                           out, &kZero, dw, in),
            "cublasSgemm_v2");
    }
  }
  if (db != nullptr) kernels::biasGradRows(n, out, dy, db, stream_.get());
}

}  // namespace alexnet::cuda
