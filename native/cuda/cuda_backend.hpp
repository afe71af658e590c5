// The CUDA backend: alexnet::Backend over one GPU with cuDNN (convolution, LRN), cuBLAS (fully
// connected layers) and our own kernels (kernels/: max pooling, losses, elementwise, ...). Everything runs on one stream to which
// the cuDNN and cuBLAS handles are bound, so calls run in submission order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "alexnet/backend.hpp"
#include "conv_plan.hpp"
#include "handles.hpp"
#include "label_errors.hpp"
#include "lru_cache.hpp"

namespace alexnet::cuda {

// Fp32: strict IEEE single precision (CUDNN_FMA_MATH, cuBLAS default math), as the paper and the
// CPU backend. Tf32: tensor cores with 10-bit mantissa products, opt-in. Both are about float32
// data only: the bfloat16 and float16 overloads always run on 16-bit tensor cores with float32
// accumulation.
enum class Precision { Fp32, Tf32 };

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  const char* name() const override { return "cuda"; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copyFromHost(void* dst, const void* src, size_t bytes) override;
  void copyToHost(void* dst, const void* src, size_t bytes) override;
  void copyOnDevice(void* dst, const void* src, size_t bytes) override;
  void copy2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch, size_t rowBytes,
              size_t rows) override;
  void synchronize() override;

  // Page-locked staging, deferred release and ordering with events (transfer.cpp).
  void* allocateHost(size_t bytes) override;
  void deallocateHost(void* ptr, size_t bytes) override;
  void retainUntilDone(std::shared_ptr<void> resource) override;
  std::shared_ptr<void> recordEvent() override;
  void waitEvent(const std::shared_ptr<void>& event) override;
  void copyFromPeer(void* dst, const void* src, int srcDevice, size_t bytes) override;
  void setBlockSource(BlockSource* source) override;

  // The op table's methods (alexnet/op_table.hpp), float32, bfloat16 and float16.
  ALEXNET_BACKEND_OVERRIDES
  ALEXNET_BACKEND_BF16_OVERRIDES
  ALEXNET_BACKEND_F16_OVERRIDES
  // bfloat16 tensor cores (cuDNN, cuBLAS) need compute capability 8.0 or newer, float16 ones 7.0
  // (half_support.hpp).
  bool bf16Supported(std::string* reason) const override;
  bool fp16Supported(std::string* reason) const override;

  // ---- beyond the contract -----------------------------------------------------------------
  // Changes the math of later convolutions and GEMMs (convolution algorithms are chosen again).
  void setPrecision(Precision precision);
  void setTensorFloat32(bool enable) override { setPrecision(enable ? Precision::Tf32 : Precision::Fp32); }
  Precision precision() const { return precision_; }
  // Only deterministic cuDNN algorithms (convolution algorithms are chosen again).
  void setDeterministic(bool enable) override;
  int device() const { return device_; }
  cudaStream_t stream() const { return stream_.get(); }
  void* nativeStream() override { return stream_.get(); }

 private:
  using ConvKey = std::array<int, 13>;  // the geometry and the data type

  void bind() const;  // makes device_ current on the calling thread
  // Throws BF16_UNSUPPORTED (Backend's default) where bf16Supported() is false.
  void requireBf16(const char* op) const {
    if (!bf16_) unsupportedBf16(op);
  }
  // Throws FLOAT16_UNSUPPORTED (Backend's default) where fp16Supported() is false.
  void requireFp16(const char* op) const {
    if (!fp16_) unsupportedFp16(op);
  }
  // requireBf16 or requireFp16 by an activation pointer's type; float32 always computes.
  void requireActivation(const float*, const char*) const {}
  void requireActivation(const BFloat16*, const char* op) const { requireBf16(op); }
  void requireActivation(const Float16*, const char* op) const { requireFp16(op); }
  // Dropout of every activation type (backend.cpp): the type's check, then its kernel.
  template <class A>
  void dropoutForwardOf(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                        uint64_t rowStride, const A* x, A* y, float* mask);
  template <class A>
  void dropoutBackwardOf(size_t count, const A* dy, const float* mask, A* dx);
  // Drops the retained resources whose work has run; releaseAll() when the stream is idle.
  void releaseFinished();
  void releaseAll();
  ConvPlanData& convPlan(const ConvGeometry& g, cudnnDataType_t type);
  // The convolutions of any data type (conv.cpp): cuDNN alone, without the bias.
  void convolutionForward(const ConvGeometry& g, cudnnDataType_t type, const void* x,
                          const void* w, void* y);
  void convolutionBackwardData(const ConvGeometry& g, cudnnDataType_t type, const void* dy,
                               const void* w, void* dx);
  void convolutionBackwardFilter(const ConvGeometry& g, cudnnDataType_t type, const void* x,
                                 const void* dy, void* dw);
  // The convolutions on 16-bit activations (H = BFloat16 or Float16, conv.cpp): cuDNN in H with
  // float32 compute, the bias and its gradient by our float32 kernels, dw widened to float32.
  template <class H>
  void halfConvForward(const ConvGeometry& g, const H* x, const H* w, const float* bias, H* y);
  template <class H>
  void halfConvBackwardFilter(const ConvGeometry& g, const H* x, const H* dy, float* dw, float* db);
  void* workspace(size_t bytes);
  // A buffer of the backend's own between two calls of one op (a 16-bit weight gradient before
  // its widening, a float32 product before its bias): grow-only, like the workspace.
  void* staging(size_t bytes);
  float* rowScratch(size_t floats);
  int32_t* labelScratch(size_t count);
  // Waits for the stream, then reports what its kernels recorded (bad labels) as an Error.
  void waitAndReport();

  int device_;
  // Members are destroyed in reverse order: plans and buffers first, then the handles, then the
  // stream the handles are bound to.
  Stream stream_;
  CudnnHandle cudnn_;
  CublasHandle cublas_;
  BlockSource* blocks_ = nullptr;  // the device's block cache, when there is a device
  ScratchBuffer workspace_;        // cuDNN workspaces, grow-only
  ScratchBuffer staging_;          // see staging()
  ScratchBuffer scratch_;          // per-row partial results of the loss and metric kernels
  ScratchBuffer labelScratch_;     // range-checked labels for the top-k kernel
  LabelErrors labelErrors_;        // bad labels found by kernels, for the next synchronize()
  // Descriptors and algorithms of the convolution geometries used most recently (each forward,
  // backward-data and backward-filter of AlexNet's five layers at a training and an evaluation
  // batch size fit several times over).
  LruCache<ConvKey, ConvPlanData> convPlans_{64};
  // LRN descriptors per geometry (an empty LrnDesc: cuDNN does not take these parameters).
  struct LrnPlan {
    LrnDesc lrn;
    TensorDesc tensor;
  };
  LrnPlan& lrnPlan(const LrnGeometry& g);
  void* lrnScratch(const LrnGeometry& g);
  using LrnKey = std::array<uint32_t, 8>;
  LruCache<LrnKey, LrnPlan> lrnPlans_{32};
  // Shared with the events recordEvent() hands out, which may outlive the backend.
  std::shared_ptr<EventPool> events_ = std::make_shared<EventPool>();
  struct Retained {
    cudaEvent_t done;  // from events_, recorded after the work that uses the resource
    std::shared_ptr<void> resource;
  };
  std::deque<Retained> retained_;
  Precision precision_ = Precision::Fp32;
  bool deterministic_ = false;
  // Fixed at construction (bf16Supported() and fp16Supported() may be asked from any thread).
  int computeMajor_ = 0, computeMinor_ = 0;
  bool bf16_ = false;
  bool fp16_ = false;
};

}  // namespace alexnet::cuda
