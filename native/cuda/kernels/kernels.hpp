// Launchers for the backend's own CUDA kernels, one .cu file per concern. Each launcher enqueues on
// the given stream, returns at once and throws alexnet::Error if the launch itself failed.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "alexnet/backend.hpp"
#include "kernels/label_check.hpp"

namespace alexnet::cuda::kernels {

// The unary elementwise ops of the op table (alexnet/op_table.hpp), one file each: relu.cu, tanh.cu;
// bfloat16 and float16 overloads for the ops whose dtypes column names them.
#define ALEXNET_DECLARE_UNARY_LAUNCHERS(name, dtypes)                                             \
  void name##Forward(size_t count, const float* x, float* y, cudaStream_t stream);                \
  void name##Backward(size_t count, const float* dy, const float* y, float* dx,                   \
                      cudaStream_t stream);                                                       \
  ALEXNET_IF_BF16_##dtypes(                                                                       \
      void name##Forward(size_t count, const BFloat16* x, BFloat16* y, cudaStream_t stream);      \
      void name##Backward(size_t count, const BFloat16* dy, const BFloat16* y, BFloat16* dx,      \
                          cudaStream_t stream);)                                                  \
  ALEXNET_IF_F16_##dtypes(                                                                        \
      void name##Forward(size_t count, const Float16* x, Float16* y, cudaStream_t stream);        \
      void name##Backward(size_t count, const Float16* dy, const Float16* y, Float16* dx,         \
                          cudaStream_t stream);)
ALEXNET_UNARY_OPS(ALEXNET_DECLARE_UNARY_LAUNCHERS)
#undef ALEXNET_DECLARE_UNARY_LAUNCHERS

// dropout.cu: x, y (dy, dx) in each activation type, the mask float32.
void dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength, uint64_t rowStride,
                    const float* x, float* y, float* mask, cudaStream_t stream);
void dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength, uint64_t rowStride,
                    const BFloat16* x, BFloat16* y, float* mask, cudaStream_t stream);
void dropoutForward(size_t count, float p, uint64_t seed, uint64_t offset, size_t rowLength, uint64_t rowStride,
                    const Float16* x, Float16* y, float* mask, cudaStream_t stream);
void dropoutBackward(size_t count, const float* dy, const float* mask, float* dx, cudaStream_t stream);
void dropoutBackward(size_t count, const BFloat16* dy, const float* mask, BFloat16* dx, cudaStream_t stream);
void dropoutBackward(size_t count, const Float16* dy, const float* mask, Float16* dx, cudaStream_t stream);

// losses.cu: rowScratch holds n floats. A row whose label is outside [0, classes) is recorded in
// labelCheck's record (label_check.hpp) and its loss and dlogits are NaN.
void softmaxCrossEntropy(int n, int classes, const float* logits, const int32_t* labels,
                         float* loss, float* dlogits, float* rowScratch, LabelCheck labelCheck,
                         cudaStream_t stream);
void softmax(int n, int classes, const float* logits, float* probs, cudaStream_t stream);

// losses.cu
void topkCorrect(int n, int classes, int k, const float* logits, const int32_t* labels,
                 float* correct, float* rowScratch, cudaStream_t stream);

// labels.cu: safeLabels[r] = labels[r] where it is in [0, classes), else 0 with the row recorded
// in labelCheck's record, so that a kernel indexing rows by label never reads outside them.
void checkLabels(int n, int classes, const int32_t* labels, int32_t* safeLabels,
                 LabelCheck labelCheck, cudaStream_t stream);

// sgd.cu
void sgdStep(size_t count, float lr, float momentum, float weightDecay, float* w, float* v,
             const float* g, cudaStream_t stream);

// blas1.cu
void fill(size_t count, float value, float* y, cudaStream_t stream);
void axpy(size_t count, float alpha, const float* x, float* y, cudaStream_t stream);
void scale(size_t count, float alpha, const float* x, float* y, cudaStream_t stream);

// cast.cu: float32 <-> bfloat16 (alexnet/bfloat16.hpp's rounding).
void castToBFloat16(size_t count, const float* x, BFloat16* y, cudaStream_t stream);
void castToFloat32(size_t count, const BFloat16* x, float* y, cudaStream_t stream);

// amp.cu: float32 <-> float16 (alexnet/float16.hpp's rounding); loss-scale unscaling (see
// Backend::unscaleGradient).
void castToFloat16(size_t count, const float* x, Float16* y, cudaStream_t stream);
void castFloat16ToFloat32(size_t count, const Float16* x, float* y, cudaStream_t stream);
void unscaleGradient(size_t count, float invScale, float* g, float* foundInf, cudaStream_t stream);

// init.cu
void normalInit(size_t count, float mean, float std, uint64_t seed, uint64_t offset, float* y,
                cudaStream_t stream);

// bias.cu: rows of a row-major [n, out] matrix: y += bias in place (float32); y = acc + bias
// rounded once (16-bit y from a float32 product acc); db = column sums of dy, in float32.
void biasAddRows(int n, int out, const float* bias, float* y, cudaStream_t stream);
void biasAddRows(int n, int out, const float* bias, const float* acc, BFloat16* y,
                 cudaStream_t stream);
void biasAddRows(int n, int out, const float* bias, const float* acc, Float16* y,
                 cudaStream_t stream);
void biasGradRows(int n, int out, const float* dy, float* db, cudaStream_t stream);
void biasGradRows(int n, int out, const BFloat16* dy, float* db, cudaStream_t stream);
void biasGradRows(int n, int out, const Float16* dy, float* db, cudaStream_t stream);
// bias.cu: channels of an NCHW [n, channels, plane] tensor (the 16-bit convolutions; float32
// ones use cuDNN's): y += bias[c] in float32, rounded once; db[c] = the sum of channel c of dy.
void biasAddChannels(int n, int channels, size_t plane, const float* bias, BFloat16* y,
                     cudaStream_t stream);
void biasAddChannels(int n, int channels, size_t plane, const float* bias, Float16* y,
                     cudaStream_t stream);
void biasGradChannels(int n, int channels, size_t plane, const BFloat16* dy, float* db,
                      cudaStream_t stream);
void biasGradChannels(int n, int channels, size_t plane, const Float16* dy, float* db,
                      cudaStream_t stream);

// lrn.cu: float32 for geometries cuDNN's LRN does not accept (window wider than 16, k < 1e-5,
// ...); bfloat16 and float16 for every geometry. The backward runs in two passes when given
// `scratch`, lrnBackwardScratchBytes(g) of device memory (stream-ordered, free again when it
// returns), and element by element without (null).
size_t lrnBackwardScratchBytes(const LrnGeometry& g);
void lrnForward(const LrnGeometry& g, const float* x, float* y, cudaStream_t stream);
void lrnBackward(const LrnGeometry& g, const float* dy, const float* x, const float* y, float* dx,
                 void* scratch, cudaStream_t stream);
void lrnForward(const LrnGeometry& g, const BFloat16* x, BFloat16* y, cudaStream_t stream);
void lrnBackward(const LrnGeometry& g, const BFloat16* dy, const BFloat16* x, const BFloat16* y,
                 BFloat16* dx, void* scratch, cudaStream_t stream);
void lrnForward(const LrnGeometry& g, const Float16* x, Float16* y, cudaStream_t stream);
void lrnBackward(const LrnGeometry& g, const Float16* dy, const Float16* x, const Float16* y,
                 Float16* dx, void* scratch, cudaStream_t stream);

// maxpool.cu: both directions find the maximum from x alone (maxpool_element.hpp).
void maxPoolForward(const PoolGeometry& g, const float* x, float* y, cudaStream_t stream);
void maxPoolBackward(const PoolGeometry& g, const float* dy, const float* x, float* dx,
                     cudaStream_t stream);
void maxPoolForward(const PoolGeometry& g, const BFloat16* x, BFloat16* y, cudaStream_t stream);
void maxPoolBackward(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x, BFloat16* dx,
                     cudaStream_t stream);
void maxPoolForward(const PoolGeometry& g, const Float16* x, Float16* y, cudaStream_t stream);
void maxPoolBackward(const PoolGeometry& g, const Float16* dy, const Float16* x, Float16* dx,
                     cudaStream_t stream);

// augment.cu: Backend::cropImages (mean null for MeanMode::None).
void cropImages(const CropGeometry& g, const uint8_t* src, const float* params, const float* mean,
                float* out, cudaStream_t stream);

}  // namespace alexnet::cuda::kernels
