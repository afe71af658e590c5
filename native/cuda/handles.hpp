// RAII owners for every CUDA, cuDNN and cuBLAS handle and descriptor the backend creates. Destroy
// statuses are ignored on purpose: destructors run during unwinding and must not throw.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

#include "check.hpp"

namespace alexnet::cuda {

namespace detail {
template <class Handle, auto Destroy>
struct HandleDeleter {
  void operator()(Handle handle) const { (void)Destroy(handle); }
};
}  // namespace detail

// Owning pointer for an opaque library handle type (each is a pointer to an incomplete struct).
template <class Handle, auto Destroy>
using UniqueHandle =
    std::unique_ptr<std::remove_pointer_t<Handle>, detail::HandleDeleter<Handle, Destroy>>;

using Stream = UniqueHandle<cudaStream_t, cudaStreamDestroy>;
using CudnnHandle = UniqueHandle<cudnnHandle_t, cudnnDestroy>;
using CublasHandle = UniqueHandle<cublasHandle_t, cublasDestroy_v2>;
using TensorDesc = UniqueHandle<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDesc = UniqueHandle<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDesc = UniqueHandle<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;
using LrnDesc = UniqueHandle<cudnnLRNDescriptor_t, cudnnDestroyLRNDescriptor>;
using PoolDesc = UniqueHandle<cudnnPoolingDescriptor_t, cudnnDestroyPoolingDescriptor>;

inline TensorDesc makeTensorDesc(int n, int c, int h, int w) {
  cudnnTensorDescriptor_t desc = nullptr;
  check(cudnnCreateTensorDescriptor(&desc), "cudnnCreateTensorDescriptor");
  TensorDesc owned(desc);
  check(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w),
        "cudnnSetTensor4dDescriptor");
  return owned;
}

inline FilterDesc makeFilterDesc(int o, int i, int kh, int kw) {
  cudnnFilterDescriptor_t desc = nullptr;
  check(cudnnCreateFilterDescriptor(&desc), "cudnnCreateFilterDescriptor");
  FilterDesc owned(desc);
  check(cudnnSetFilter4dDescriptor(desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, o, i, kh, kw),
        "cudnnSetFilter4dDescriptor");
  return owned;
}

inline ConvDesc makeConvDesc() {
  cudnnConvolutionDescriptor_t desc = nullptr;
  check(cudnnCreateConvolutionDescriptor(&desc), "cudnnCreateConvolutionDescriptor");
  return ConvDesc(desc);
}

inline LrnDesc makeLrnDesc() {
  cudnnLRNDescriptor_t desc = nullptr;
  check(cudnnCreateLRNDescriptor(&desc), "cudnnCreateLRNDescriptor");
  return LrnDesc(desc);
}

inline PoolDesc makePoolDesc() {
  cudnnPoolingDescriptor_t desc = nullptr;
  check(cudnnCreatePoolingDescriptor(&desc), "cudnnCreatePoolingDescriptor");
  return PoolDesc(desc);
}

// A device allocation that only grows (workspaces, per-row scratch): steady-state training then
// never calls cudaMalloc. Growing waits for the stream: no queued kernel may use the old block.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { release(); }

  void* grow(size_t bytes, cudaStream_t stream, int device) {
    if (bytes <= size_ && ptr_ != nullptr) return ptr_;
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    release();
    ptr_ = deviceMalloc(bytes, device);
    size_ = bytes;
    return ptr_;
  }
  void* get() const { return ptr_; }
  size_t size() const { return size_; }
  void release() {
    if (ptr_ != nullptr) (void)cudaFree(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace alexnet::cuda
