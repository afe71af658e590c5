// RAII owners for every CUDA, cuDNN and cuBLAS handle and descriptor the backend creates. Destroy
// statuses are ignored on purpose: destructors run during unwinding and must not throw.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "alexnet/backend.hpp"
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

// Reusable CUDA events (timing off). Recording one for every upload and every exchange would
// otherwise create and destroy events each training step. Thread-safe: an event recorded on one
// stream is handed back from the thread of the stream that waited for it. Re-recording an event
// after giving it back is safe: cudaStreamWaitEvent waits for the record made before the call.
class EventPool {
 public:
  EventPool() = default;
  EventPool(const EventPool&) = delete;
  EventPool& operator=(const EventPool&) = delete;
  ~EventPool() {
    for (cudaEvent_t e : free_) (void)cudaEventDestroy(e);
  }
  // Call with the pool's device current.
  cudaEvent_t take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        cudaEvent_t e = free_.back();
        free_.pop_back();
        return e;
      }
    }
    cudaEvent_t e = nullptr;
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    return e;
  }
  void give(cudaEvent_t e) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(e);
  }

 private:
  std::mutex mutex_;
  std::vector<cudaEvent_t> free_;
};
using CudnnHandle = UniqueHandle<cudnnHandle_t, cudnnDestroy>;
using CublasHandle = UniqueHandle<cublasHandle_t, cublasDestroy_v2>;
using TensorDesc = UniqueHandle<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDesc = UniqueHandle<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDesc = UniqueHandle<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;
using LrnDesc = UniqueHandle<cudnnLRNDescriptor_t, cudnnDestroyLRNDescriptor>;

inline TensorDesc makeTensorDesc(int n, int c, int h, int w,
                                 cudnnDataType_t type = CUDNN_DATA_FLOAT) {
  cudnnTensorDescriptor_t desc = nullptr;
  check(cudnnCreateTensorDescriptor(&desc), "cudnnCreateTensorDescriptor");
  TensorDesc owned(desc);
  check(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, type, n, c, h, w),
        "cudnnSetTensor4dDescriptor");
  return owned;
}

inline FilterDesc makeFilterDesc(int o, int i, int kh, int kw,
                                 cudnnDataType_t type = CUDNN_DATA_FLOAT) {
  cudnnFilterDescriptor_t desc = nullptr;
  check(cudnnCreateFilterDescriptor(&desc), "cudnnCreateFilterDescriptor");
  FilterDesc owned(desc);
  check(cudnnSetFilter4dDescriptor(desc, type, CUDNN_TENSOR_NCHW, o, i, kh, kw),
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

// Scratch memory that only grows (cuDNN workspaces, per-row partial sums), so steady-state training
// takes nothing new. Blocks come from the device's block cache when the backend has one: growing
// then gives the old block straight back (stream order protects queued kernels that still use it).
// Without a cache it is cudaMalloc'ed, and growing first waits for the stream.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { release(nullptr); }

  void* grow(size_t bytes, BlockSource* source, cudaStream_t stream, int device) {
    if (ptr_ != nullptr && bytes <= size_) return ptr_;
    release(stream);
    ptr_ = source != nullptr ? source->allocate(bytes) : deviceMalloc(bytes, device);
    size_ = bytes;
    from_ = source;
    return ptr_;
  }
  // Gives the block back; `stream` (if not null) is waited for before a cudaFree.
  void release(cudaStream_t stream) {
    if (ptr_ == nullptr) return;
    if (from_ != nullptr) {
      from_->release(ptr_, size_);
    } else {
      if (stream != nullptr) check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
      ignoreStatus(cudaFree(ptr_));
    }
    ptr_ = nullptr;
    size_ = 0;
    from_ = nullptr;
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
  BlockSource* from_ = nullptr;
};

}  // namespace alexnet::cuda
