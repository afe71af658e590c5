#include "check.hpp"

#include <cstdio>
#include <string>

#include "alexnet/error.hpp"

namespace alexnet::cuda {

namespace {

std::string formatBytes(size_t bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f GiB (%zu bytes)", bytes / 1073741824.0, bytes);
  return text;
}

}  // namespace

void throwCudaError(cudaError_t status, const char* call) {
  // Clears the error if it is not sticky, so that the next call does not report it again.
  cudaGetLastError();
  std::string message = std::string(call) + " failed: " + cudaGetErrorString(status) + " (" +
                        cudaGetErrorName(status) + ")";
  std::string hint;
  if (status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice) {
    int runtime = 0;
    cudaRuntimeGetVersion(&runtime);
    hint = "this build needs an NVIDIA driver for CUDA " + std::to_string(runtime / 1000) + "." +
           std::to_string(runtime % 1000 / 10) + " or newer (check nvidia-smi)";
  } else if (status == cudaErrorNoKernelImageForDevice) {
    hint = "this build has kernels for compute capability 8.0 and 9.0 (and PTX for 9.0+)";
  } else if (status == cudaErrorIllegalAddress || status == cudaErrorLaunchFailure) {
    hint = "the CUDA context is unusable after this error; restart the process";
  }
  throw Error("CUDA_ERROR", message, call, hint);
}

std::string cudnnErrorText(cudnnStatus_t status) {
  std::string text = cudnnGetErrorString(status);
  // cuDNN 9 keeps a more specific explanation of the last failure on this thread.
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof detail);
  if (detail[0] != '\0') text += std::string(": ") + detail;
  return text;
}

void throwCudnnError(cudnnStatus_t status, const char* call) {
  throw Error("CUDNN_ERROR", std::string(call) + " failed: " + cudnnErrorText(status), call);
}

void throwCublasError(cublasStatus_t status, const char* call) {
  std::string message = std::string(call) + " failed: " + cublasGetStatusString(status) + " (" +
                        cublasGetStatusName(status) + ")";
  throw Error("CUBLAS_ERROR", message, call);
}

void checkLaunch(const char* kernel) {
  // Peek: the status of the launch just made (every call of this module that fails either throws
  // through throwCudaError or clears its status, so nothing older is left to be read here).
  // throwCudaError clears it, unless it is sticky.
  const cudaError_t status = cudaPeekAtLastError();
  if (status != cudaSuccess) throwCudaError(status, kernel);
}

void* deviceMalloc(size_t bytes, int device) {
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, bytes == 0 ? 1 : bytes);
  if (status == cudaSuccess) return ptr;
  if (status != cudaErrorMemoryAllocation) throwCudaError(status, "cudaMalloc");
  cudaGetLastError();  // out of memory is not sticky: clear it
  size_t freeBytes = 0, totalBytes = 0;
  cudaMemGetInfo(&freeBytes, &totalBytes);
  throw Error("OUT_OF_MEMORY",
              "cudaMalloc of " + formatBytes(bytes) + " failed on cuda:" + std::to_string(device) +
                  ": " + formatBytes(freeBytes) + " free of " + formatBytes(totalBytes),
              "cudaMalloc", "use a smaller batch size or free tensors with dispose()");
}

}  // namespace alexnet::cuda
