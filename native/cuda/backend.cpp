// CudaBackend: construction, memory, and the ops that map onto our own kernels.
#include <string>

#include "alexnet/error.hpp"
#include "cuda_backend.hpp"
#include "half_support.hpp"
#include "kernels/kernels.hpp"

namespace alexnet::cuda {

CudaBackend::CudaBackend(int device) : device_(device) {
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device < 0 || device >= count) {
    throw Error("INVALID_ARGUMENT", "cuda:" + std::to_string(device) + " does not exist: " +
                                        std::to_string(count) + " CUDA device(s) found");
  }
  bind();
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  // Kernels are built for sm_80 and sm_90 (+ PTX for newer); cuDNN 9.11+ also needs 7.5 or more.
  if (prop.major < 8) {
    throw Error("CUDA_UNAVAILABLE",
                std::string(prop.name) + " has compute capability " + std::to_string(prop.major) +
                    "." + std::to_string(prop.minor) + "; the CUDA backend needs 8.0 or newer",
                "cudaGetDeviceProperties", "use the cpu device on this machine");
  }
  computeMajor_ = prop.major;
  computeMinor_ = prop.minor;
  // The check above makes both true today; the rules stay where they are stated (half_support.hpp).
  bf16_ = bf16Capable(prop.major);
  fp16_ = fp16Capable(prop.major);

  cudaStream_t stream = nullptr;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  stream_.reset(stream);

  cudnnHandle_t cudnn = nullptr;
  check(cudnnCreate(&cudnn), "cudnnCreate");
  cudnn_.reset(cudnn);
  check(cudnnSetStream(cudnn, stream), "cudnnSetStream");

  cublasHandle_t cublas = nullptr;
  check(cublasCreate_v2(&cublas), "cublasCreate_v2");
  cublas_.reset(cublas);
  check(cublasSetStream_v2(cublas, stream), "cublasSetStream_v2");

  labelErrors_.create(stream);
  // Peer access is enabled per pair on the first copy between two GPUs (transfer.cpp).
  setPrecision(Precision::Fp32);
}

CudaBackend::~CudaBackend() {
  // Nothing queued may still use the buffers and descriptors released below. Errors are ignored:
  // a destructor must not throw, and a failed context has nothing left to wait for.
  ignoreStatus(cudaSetDevice(device_));
  ignoreStatus(cudaStreamSynchronize(stream_.get()));
  releaseAll();
  workspace_.release(nullptr);  // the stream is idle
  staging_.release(nullptr);
  scratch_.release(nullptr);
  labelScratch_.release(nullptr);
}

void CudaBackend::bind() const { check(cudaSetDevice(device_), "cudaSetDevice"); }

bool CudaBackend::bf16Supported(std::string* reason) const {
  if (reason) *reason = bf16Reason(computeMajor_, computeMinor_);
  return bf16_;
}

bool CudaBackend::fp16Supported(std::string* reason) const {
  if (reason) *reason = fp16Reason(computeMajor_, computeMinor_);
  return fp16_;
}

void CudaBackend::setPrecision(Precision precision) {
  bind();
  precision_ = precision;
  // Default math never lowers FP32 GEMMs to TF32; TF32 tensor-op math does. Either lets bfloat16
  // and float16 GEMMs use tensor cores. Disallowing reduced-precision reductions keeps a 16-bit GEMM's
  // split-K partial sums in float32, so the sum is rounded once, as the contract says (float32
  // outputs are unaffected).
  const cublasMath_t math = precision == Precision::Tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
  check(cublasSetMathMode(cublas_.get(), static_cast<cublasMath_t>(
                                             math | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)),
        "cublasSetMathMode");
  convPlans_.clear();  // algorithms were chosen under the old math type
}

void CudaBackend::setDeterministic(bool enable) {
  bind();
  if (enable == deterministic_) return;
  deterministic_ = enable;
  convPlans_.clear();  // algorithms were chosen under the old rule
}

void* CudaBackend::workspace(size_t bytes) {
  if (bytes == 0) return nullptr;
  bind();
  return workspace_.grow(bytes, blocks_, stream_.get(), device_);
}

void* CudaBackend::staging(size_t bytes) {
  bind();
  return staging_.grow(bytes, blocks_, stream_.get(), device_);
}

float* CudaBackend::rowScratch(size_t floats) {
  bind();
  return static_cast<float*>(scratch_.grow(floats * sizeof(float), blocks_, stream_.get(), device_));
}

int32_t* CudaBackend::labelScratch(size_t count) {
  bind();
  return static_cast<int32_t*>(
      labelScratch_.grow(count * sizeof(int32_t), blocks_, stream_.get(), device_));
}

void CudaBackend::waitAndReport() {
  labelErrors_.fetch(stream_.get());
  check(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
  labelErrors_.report(stream_.get());
}

// ---- memory ---------------------------------------------------------------------------------

void* CudaBackend::allocate(size_t bytes) {
  bind();  // the caching allocator may call from any thread
  return deviceMalloc(bytes, device_);
}

void CudaBackend::deallocate(void* ptr, size_t /*bytes*/) {
  if (ptr == nullptr) return;
  bind();
  check(cudaFree(ptr), "cudaFree");
}

void CudaBackend::copyFromHost(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  bind();
  // From pageable memory this returns once src has been staged, so the caller may reuse src; from
  // a page-locked staging block it is a DMA transfer that runs later (the caller retains src).
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_.get()), "cudaMemcpyAsync");
}

void CudaBackend::copyToHost(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  bind();
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_.get()), "cudaMemcpyAsync");
  // Complete on return; what came down may rest on a bad label found meanwhile: say so here.
  waitAndReport();
}

void CudaBackend::copyOnDevice(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  bind();
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_.get()),
        "cudaMemcpyAsync");
}

void CudaBackend::copy2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch,
                         size_t rowBytes, size_t rows) {
  if (rowBytes == 0 || rows == 0) return;
  bind();
  check(cudaMemcpy2DAsync(dst, dstPitch, src, srcPitch, rowBytes, rows, cudaMemcpyDeviceToDevice,
                          stream_.get()),
        "cudaMemcpy2DAsync");
}

void CudaBackend::synchronize() {
  bind();
  labelErrors_.fetch(stream_.get());
  check(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
  releaseAll();  // everything queued has run
  labelErrors_.report(stream_.get());  // a bad label becomes INVALID_ARGUMENT here
}

// ---- elementwise, losses, optimisation ------------------------------------------------------

// The unary elementwise ops of the op table: each calls its kernels' launchers, and so do their
// bfloat16 and float16 overloads (dtypes F32_BF16_F16).
#define ALEXNET_DEFINE_UNARY_OP(name, dtypes)                                                  \
  void CudaBackend::name##Forward(size_t count, const float* x, float* y) {                  \
    bind();                                                                                    \
    kernels::name##Forward(count, x, y, stream_.get());                                        \
  }                                                                                            \
  void CudaBackend::name##Backward(size_t count, const float* dy, const float* y, float* dx) { \
    bind();                                                                                    \
    kernels::name##Backward(count, dy, y, dx, stream_.get());                                  \
  }                                                                                            \
  ALEXNET_IF_BF16_##dtypes(                                                                    \
      void CudaBackend::name##Forward(size_t count, const BFloat16* x, BFloat16* y) {          \
        requireBf16(#name "Forward");                                                          \
        bind();                                                                                \
        kernels::name##Forward(count, x, y, stream_.get());                                    \
      } void CudaBackend::name##Backward(size_t count, const BFloat16* dy, const BFloat16* y,  \
                                         BFloat16* dx) {                                       \
        requireBf16(#name "Backward");                                                         \
        bind();                                                                                \
        kernels::name##Backward(count, dy, y, dx, stream_.get());                              \
      })                                                                                       \
  ALEXNET_IF_F16_##dtypes(                                                                     \
      void CudaBackend::name##Forward(size_t count, const Float16* x, Float16* y) {            \
        requireFp16(#name "Forward");                                                          \
        bind();                                                                                \
        kernels::name##Forward(count, x, y, stream_.get());                                    \
      } void CudaBackend::name##Backward(size_t count, const Float16* dy, const Float16* y,    \
                                         Float16* dx) {                                        \
        requireFp16(#name "Backward");                                                         \
        bind();                                                                                \
        kernels::name##Backward(count, dy, y, dx, stream_.get());                              \
      })
ALEXNET_UNARY_OPS(ALEXNET_DEFINE_UNARY_OP)
#undef ALEXNET_DEFINE_UNARY_OP

template <class A>
void CudaBackend::dropoutForwardOf(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                                   uint64_t rowStride, const A* x, A* y, float* mask) {
  requireActivation(x, "dropoutForward");
  bind();
  kernels::dropoutForward(count, p, seed, offset, rowLength, rowStride, x, y, mask, stream_.get());
}

template <class A>
void CudaBackend::dropoutBackwardOf(size_t count, const A* dy, const float* mask, A* dx) {
  requireActivation(dy, "dropoutBackward");
  bind();
  kernels::dropoutBackward(count, dy, mask, dx, stream_.get());
}

void CudaBackend::dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                                 uint64_t rowStride, const float* x, float* y, float* mask) {
  dropoutForwardOf(count, p, seed, offset, rowLength, rowStride, x, y, mask);
}
void CudaBackend::dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                                 uint64_t rowStride, const BFloat16* x, BFloat16* y, float* mask) {
  dropoutForwardOf(count, p, seed, offset, rowLength, rowStride, x, y, mask);
}
void CudaBackend::dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength,
                                 uint64_t rowStride, const Float16* x, Float16* y, float* mask) {
  dropoutForwardOf(count, p, seed, offset, rowLength, rowStride, x, y, mask);
}

void CudaBackend::dropoutBackward(size_t count, const float* dy, const float* mask, float* dx) {
  dropoutBackwardOf(count, dy, mask, dx);
}
void CudaBackend::dropoutBackward(size_t count, const BFloat16* dy, const float* mask, BFloat16* dx) {
  dropoutBackwardOf(count, dy, mask, dx);
}
void CudaBackend::dropoutBackward(size_t count, const Float16* dy, const float* mask, Float16* dx) {
  dropoutBackwardOf(count, dy, mask, dx);
}

void CudaBackend::softmaxCrossEntropy(int n, int classes, const float* logits,
                                      const int32_t* labels, float* loss, float* dlogits) {
  bind();
  // Labels are range-checked by the kernel: see the contract and kernels/label_check.hpp.
  kernels::softmaxCrossEntropy(n, classes, logits, labels, loss, dlogits,
                               rowScratch(static_cast<size_t>(n)),
                               labelErrors_.next(kernels::kLabelOpSoftmaxCrossEntropy),
                               stream_.get());
}

void CudaBackend::softmax(int n, int classes, const float* logits, float* probs) {
  bind();
  kernels::softmax(n, classes, logits, probs, stream_.get());
}

void CudaBackend::topkCorrect(int n, int classes, int k, const float* logits,
                              const int32_t* labels, float* correct) {
  bind();
  // The top-k kernel reads row[label] as given: it gets labels checked and made safe first.
  int32_t* safeLabels = labelScratch(static_cast<size_t>(n));
  kernels::checkLabels(n, classes, labels, safeLabels,
                       labelErrors_.next(kernels::kLabelOpTopkCorrect), stream_.get());
  kernels::topkCorrect(n, classes, k, logits, safeLabels, correct,
                       rowScratch(static_cast<size_t>(n)), stream_.get());
}

void CudaBackend::sgdStep(size_t count, float lr, float momentum, float weightDecay, float* w,
                          float* v, const float* g) {
  bind();
  kernels::sgdStep(count, lr, momentum, weightDecay, w, v, g, stream_.get());
}

void CudaBackend::fill(size_t count, float value, float* y) {
  bind();
  kernels::fill(count, value, y, stream_.get());
}

void CudaBackend::normalInit(size_t count, float mean, float std, uint64_t seed, uint64_t offset, float* y) {
  bind();
  kernels::normalInit(count, mean, std, seed, offset, y, stream_.get());
}

void CudaBackend::axpy(size_t count, float alpha, const float* x, float* y) {
  bind();
  kernels::axpy(count, alpha, x, y, stream_.get());
}

void CudaBackend::scale(size_t count, float alpha, const float* x, float* y) {
  bind();
  kernels::scale(count, alpha, x, y, stream_.get());
}

void CudaBackend::castToBFloat16(size_t count, const float* x, BFloat16* y) {
  bind();
  kernels::castToBFloat16(count, x, y, stream_.get());
}

void CudaBackend::castToFloat32(size_t count, const BFloat16* x, float* y) {
  bind();
  kernels::castToFloat32(count, x, y, stream_.get());
}

void CudaBackend::castToFloat16(size_t count, const float* x, Float16* y) {
  bind();
  kernels::castToFloat16(count, x, y, stream_.get());
}

void CudaBackend::castFloat16ToFloat32(size_t count, const Float16* x, float* y) {
  bind();
  kernels::castFloat16ToFloat32(count, x, y, stream_.get());
}

void CudaBackend::unscaleGradient(size_t count, float invScale, float* g, float* foundInf) {
  bind();
  kernels::unscaleGradient(count, invScale, g, foundInf, stream_.get());
}

// ---- augmentation ---------------------------------------------------------------------------

// The core validated the geometry; the windows in params are checked per row by the kernel, which
// writes NaN rather than read outside an image (reading params here would wait for the GPU).
void CudaBackend::cropImages(const CropGeometry& g, const uint8_t* src, const float* params,
                             const float* mean, float* out) {
  if (g.images <= 0 || g.crops <= 0) return;
  bind();
  kernels::cropImages(g, src, params, mean, out, stream_.get());
}

}  // namespace alexnet::cuda
