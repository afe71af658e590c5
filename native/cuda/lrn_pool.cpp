// Local response normalisation and max pooling: cuDNN where it implements the contract exactly,
// our kernels where it does not (LRN parameters outside cuDNN's ranges, or a shape its call
// refuses; max pooling's rule for ties and NaN). bfloat16 and float16: our kernels in both (float32 arithmetic on widened values, each output
// rounded once, as the contract says), the same code as float32's (kernels/*_element.hpp).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "alexnet/error.hpp"
#include "cuda_backend.hpp"
#include "kernels/kernels.hpp"

namespace alexnet::cuda {

namespace {

constexpr float kOne = 1.0f, kZero = 0.0f;

// A cuDNN LRN descriptor for g, or an empty one when cuDNN does not accept these parameters.
// The contract's alpha multiplies the plain sum of squares; cuDNN divides its alpha by the window
// size, so it is given alpha * size. The contract's k is cuDNN's lrnK.
LrnDesc cudnnLrnFor(const LrnGeometry& g) {
  if (g.size < CUDNN_LRN_MIN_N || g.size > CUDNN_LRN_MAX_N || g.k < CUDNN_LRN_MIN_K ||
      g.beta < CUDNN_LRN_MIN_BETA)
    return LrnDesc();
  LrnDesc desc = makeLrnDesc();
  const cudnnStatus_t status =
      cudnnSetLRNDescriptor(desc.get(), static_cast<unsigned>(g.size),
                            static_cast<double>(g.alpha) * g.size, g.beta, g.k);
  if (status == CUDNN_STATUS_BAD_PARAM) return LrnDesc();
  check(status, "cudnnSetLRNDescriptor");
  return desc;
}

// Whether cuDNN refused an LRN call for its parameters or shape (not a failure of the device):
// then our kernel, which computes the same contract, runs instead, for this geometry from then on.
// cuDNN documents the descriptor's ranges but not every shape its kernels take (a window wider
// than the channels, say), so a refusal can come at the call as well as at the descriptor.
bool refusedByCudnn(cudnnStatus_t status) {
  const int category = CUDNN_STATUS_CATEGORY(static_cast<int>(status));
  return category == CUDNN_STATUS_BAD_PARAM || category == CUDNN_STATUS_NOT_SUPPORTED;
}

void logRefusal(const LrnGeometry& g, const char* call, cudnnStatus_t status) {
  const char* v = std::getenv("ALEXNET_CUDNN_LOG");
  if (v == nullptr || std::string(v) != "1") return;
  std::fprintf(stderr, "%s [%d, %d, %d, %d] size %d: %s; our LRN kernel instead\n", call, g.n, g.c, g.h, g.w,
               g.size, cudnnErrorText(status).c_str());
}

}  // namespace

// Device memory for our two-pass LRN backward (lrn.cu): the workspace, which is free between ops on
// the stream. Null where there is none to be had: the element-by-element backward needs none.
void* CudaBackend::lrnScratch(const LrnGeometry& g) {
  const size_t bytes = kernels::lrnBackwardScratchBytes(g);
  if (bytes == 0) return nullptr;
  try {
    return workspace(bytes);
  } catch (const Error& e) {
    if (e.code() != "OUT_OF_MEMORY") throw;
    return nullptr;
  }
}

CudaBackend::LrnPlan& CudaBackend::lrnPlan(const LrnGeometry& g) {
  auto bits = [](float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  };
  const LrnKey key{static_cast<uint32_t>(g.n), static_cast<uint32_t>(g.c),
                   static_cast<uint32_t>(g.h), static_cast<uint32_t>(g.w),
                   static_cast<uint32_t>(g.size), bits(g.alpha), bits(g.beta), bits(g.k)};
  return lrnPlans_.get(key, [&] {
    auto plan = std::make_unique<LrnPlan>();
    plan->lrn = cudnnLrnFor(g);
    if (plan->lrn) plan->tensor = makeTensorDesc(g.n, g.c, g.h, g.w);
    return plan;
  });
}

void CudaBackend::lrnForward(const LrnGeometry& g, const float* x, float* y) {
  if (g.n == 0) return;
  bind();
  LrnPlan& p = lrnPlan(g);
  if (!p.lrn) return kernels::lrnForward(g, x, y, stream_.get());
  const cudnnStatus_t status =
      cudnnLRNCrossChannelForward(cudnn_.get(), p.lrn.get(), CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne,
                                  p.tensor.get(), x, &kZero, p.tensor.get(), y);
  if (status == CUDNN_STATUS_SUCCESS) return;
  if (!refusedByCudnn(status)) throwCudnnError(status, "cudnnLRNCrossChannelForward");
  logRefusal(g, "cudnnLRNCrossChannelForward", status);
  p.lrn.reset();
  kernels::lrnForward(g, x, y, stream_.get());
}

void CudaBackend::lrnBackward(const LrnGeometry& g, const float* dy, const float* x,
                              const float* y, float* dx) {
  if (g.n == 0) return;
  bind();
  LrnPlan& p = lrnPlan(g);
  if (!p.lrn) return kernels::lrnBackward(g, dy, x, y, dx, lrnScratch(g), stream_.get());
  const cudnnTensorDescriptor_t d = p.tensor.get();
  const cudnnStatus_t status =
      cudnnLRNCrossChannelBackward(cudnn_.get(), p.lrn.get(), CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne,
                                   d, y, d, dy, d, x, &kZero, d, dx);
  if (status == CUDNN_STATUS_SUCCESS) return;
  if (!refusedByCudnn(status)) throwCudnnError(status, "cudnnLRNCrossChannelBackward");
  logRefusal(g, "cudnnLRNCrossChannelBackward", status);
  p.lrn.reset();
  kernels::lrnBackward(g, dy, x, y, dx, lrnScratch(g), stream_.get());
}

// Our kernels, not cuDNN's pooling: cuDNN documents neither which of several tied maxima gets the
// gradient (ties are common here: windows of zeros after a ReLU) nor which element is the maximum
// when a window holds NaN. Both directions follow the CPU backend's scan (maxpool_element.hpp), so
// the backends agree on every input.
void CudaBackend::maxPoolForward(const PoolGeometry& g, const float* x, float* y) {
  if (g.n == 0) return;
  bind();
  kernels::maxPoolForward(g, x, y, stream_.get());
}

void CudaBackend::maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x,
                                  const float* /*y*/, float* dx) {
  if (g.n == 0) return;
  bind();
  kernels::maxPoolBackward(g, dy, x, dx, stream_.get());
}

// ---- bfloat16 ------------------------------------------------------------------------------

void CudaBackend::lrnForward(const LrnGeometry& g, const BFloat16* x, BFloat16* y) {
  requireBf16("lrnForward");
  if (g.n == 0) return;
  bind();
  kernels::lrnForward(g, x, y, stream_.get());
}

void CudaBackend::lrnBackward(const LrnGeometry& g, const BFloat16* dy, const BFloat16* x,
                              const BFloat16* y, BFloat16* dx) {
  requireBf16("lrnBackward");
  if (g.n == 0) return;
  bind();
  kernels::lrnBackward(g, dy, x, y, dx, lrnScratch(g), stream_.get());
}

void CudaBackend::maxPoolForward(const PoolGeometry& g, const BFloat16* x, BFloat16* y) {
  requireBf16("maxPoolForward");
  if (g.n == 0) return;
  bind();
  kernels::maxPoolForward(g, x, y, stream_.get());
}

void CudaBackend::maxPoolBackward(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x,
                                  const BFloat16* /*y*/, BFloat16* dx) {
  requireBf16("maxPoolBackward");
  if (g.n == 0) return;
  bind();
  kernels::maxPoolBackward(g, dy, x, dx, stream_.get());
}

// ---- float16 -------------------------------------------------------------------------------

void CudaBackend::lrnForward(const LrnGeometry& g, const Float16* x, Float16* y) {
  requireFp16("lrnForward");
  if (g.n == 0) return;
  bind();
  kernels::lrnForward(g, x, y, stream_.get());
}

void CudaBackend::lrnBackward(const LrnGeometry& g, const Float16* dy, const Float16* x,
                              const Float16* y, Float16* dx) {
  requireFp16("lrnBackward");
  if (g.n == 0) return;
  bind();
  kernels::lrnBackward(g, dy, x, y, dx, lrnScratch(g), stream_.get());
}

void CudaBackend::maxPoolForward(const PoolGeometry& g, const Float16* x, Float16* y) {
  requireFp16("maxPoolForward");
  if (g.n == 0) return;
  bind();
  kernels::maxPoolForward(g, x, y, stream_.get());
}

void CudaBackend::maxPoolBackward(const PoolGeometry& g, const Float16* dy, const Float16* x,
                                  const Float16* /*y*/, Float16* dx) {
  requireFp16("maxPoolBackward");
  if (g.n == 0) return;
  bind();
  kernels::maxPoolBackward(g, dy, x, dx, stream_.get());
}

}  // namespace alexnet::cuda
