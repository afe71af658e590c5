// Status checks for CUDA, cuDNN and cuBLAS: every failing status becomes an alexnet::Error whose
// code says which library failed and whose call names the API function.
#pragma once

#include <cstddef>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

namespace alexnet::cuda {

[[noreturn]] void throwCudaError(cudaError_t status, const char* call);
[[noreturn]] void throwCudnnError(cudnnStatus_t status, const char* call);
// cuDNN's words for a status, with its more specific explanation of the last failure if any.
std::string cudnnErrorText(cudnnStatus_t status);
[[noreturn]] void throwCublasError(cublasStatus_t status, const char* call);

inline void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throwCudaError(status, call);
}
inline void check(cudnnStatus_t status, const char* call) {
  if (status != CUDNN_STATUS_SUCCESS) throwCudnnError(status, call);
}
inline void check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) throwCublasError(status, call);
}

// Reports a failed launch (bad configuration, missing kernel image) right where it happened. Call
// it right after the launch. It reads the runtime's last error, so every runtime call of this
// module whose failure is handled without throwing must clear that status (cudaGetLastError);
// otherwise a harmless earlier status (cudaEventQuery's "not ready") would be blamed on a kernel.
void checkLaunch(const char* kernel);

// For calls whose failure is deliberately ignored (frees during cleanup): clears the status.
inline void ignoreStatus(cudaError_t status) {
  if (status != cudaSuccess) (void)cudaGetLastError();
}

// cudaMalloc that throws OUT_OF_MEMORY saying how much was asked and how much is free.
void* deviceMalloc(size_t bytes, int device);

}  // namespace alexnet::cuda
