// Fully connected layers through cuBLAS. cuBLAS is column-major: a row-major [r, c] matrix is the
// column-major [c, r] matrix, its transpose. So y = x W^T (row-major) is computed as the
// column-major product y^T = W x^T, and likewise for the gradients.
//
// bfloat16: cublasGemmEx with bfloat16 operands (CUDA_R_16BF) and CUBLAS_COMPUTE_32F (tensor cores,
// float32 accumulation; reduced-precision split-K reductions are disallowed in setPrecision). The
// output type is the contract's where cuBLAS takes it in one call: bfloat16 dx, float32 dw (both
// supported with bfloat16 operands), and bfloat16 y without a bias. With a bias the product goes
// to a float32 staging buffer and our kernel adds the float32 bias and rounds once, as oneDNN's
// fused bias does on the CPU, instead of rounding the product and then the sum.
//
// float16: the same calls with CUDA_R_16F operands (float16 tensor cores, CUBLAS_COMPUTE_32F).
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

// The cuBLAS type of each 16-bit activation type.
constexpr cudaDataType_t cudaTypeOf(const BFloat16*) { return CUDA_R_16BF; }
constexpr cudaDataType_t cudaTypeOf(const Float16*) { return CUDA_R_16F; }

// C [m, n] = op(A) op(B), column-major, 16-bit A and B (T), C of type cType (T's or float32),
// float32 accumulation.
template <class T>
void gemmHalf(cublasHandle_t handle, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
              int k, const T* a, int lda, const T* b, int ldb, void* c, cudaDataType_t cType,
              int ldc) {
  const cudaDataType_t ab = cudaTypeOf(a);
  check(cublasGemmEx(handle, ta, tb, m, n, k, &kOne, a, ab, lda, b, ab, ldb, &kZero, c, cType, ldc,
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

// The 16-bit linear layer, either type (see the top of this file); float* staging(bytes) gives
// the float32 product buffer for the bias.
template <class T, class Staging>
void linearForwardHalf(cublasHandle_t handle, cudaStream_t stream, Staging staging, int n, int in,
                       int out, const T* x, const T* w, const float* bias, T* y) {
  if (bias == nullptr) {
    gemmHalf(handle, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w, in, x, in, y, cudaTypeOf(y), out);
    return;
  }
  auto* product = static_cast<float*>(staging(static_cast<size_t>(n) * out * sizeof(float)));
  gemmHalf(handle, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w, in, x, in, product, CUDA_R_32F, out);
  kernels::biasAddRows(n, out, bias, product, y, stream);
}

template <class T>
void linearBackwardHalf(cublasHandle_t handle, cudaStream_t stream, int n, int in, int out,
                        const T* dy, const T* x, const T* w, T* dx, float* dw, float* db) {
  if (dx != nullptr && n > 0)
    gemmHalf(handle, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, w, in, dy, out, dx, cudaTypeOf(dx), in);
  if (dw != nullptr) {
    if (n == 0)
      kernels::fill(static_cast<size_t>(in) * out, 0.0f, dw, stream);
    else
      gemmHalf(handle, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x, in, dy, out, dw, CUDA_R_32F, in);
  }
  if (db != nullptr) kernels::biasGradRows(n, out, dy, db, stream);
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

// ---- bfloat16 and float16 (see the top of this file) ---------------------------------------

void CudaBackend::linearForward(int n, int in, int out, const BFloat16* x, const BFloat16* w,
                                const float* bias, BFloat16* y) {
  requireBf16("linearForward");
  validate(n, in, out);
  if (n == 0) return;
  bind();
  linearForwardHalf(cublas_.get(), stream_.get(), [&](size_t bytes) { return staging(bytes); }, n,
                    in, out, x, w, bias, y);
}

void CudaBackend::linearBackward(int n, int in, int out, const BFloat16* dy, const BFloat16* x,
                                 const BFloat16* w, BFloat16* dx, float* dw, float* db) {
  requireBf16("linearBackward");
  validate(n, in, out);
  bind();
  linearBackwardHalf(cublas_.get(), stream_.get(), n, in, out, dy, x, w, dx, dw, db);
}

void CudaBackend::linearForward(int n, int in, int out, const Float16* x, const Float16* w,
                                const float* bias, Float16* y) {
  requireFp16("linearForward");
  validate(n, in, out);
  if (n == 0) return;
  bind();
  linearForwardHalf(cublas_.get(), stream_.get(), [&](size_t bytes) { return staging(bytes); }, n,
                    in, out, x, w, bias, y);
}

void CudaBackend::linearBackward(int n, int in, int out, const Float16* dy, const Float16* x,
                                 const Float16* w, Float16* dx, float* dw, float* db) {
  requireFp16("linearBackward");
  validate(n, in, out);
  bind();
  linearBackwardHalf(cublas_.get(), stream_.get(), n, in, out, dy, x, w, dx, dw, db);
}

}  // namespace alexnet::cuda
