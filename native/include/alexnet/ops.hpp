// The functional op API: validates shapes, allocates outputs from the device's cache and queues the
// backend call on the device's stream. Every function returns at once (or, when the stream's queue
// is at its bound, once the stream has worked it down: see Stream).
//
// Sizes: inputs and outputs obey the tensor size limits (alexnet/tensor.hpp); a convolution's
// padded input is at most kMaxDimension in each direction; linear's features per row likewise.
// Errors of queued work: an op that fails poisons the tensors it writes; ops reading a poisoned
// tensor do not run and poison what they write; a download of a poisoned tensor rethrows the
// original error. Other work and other tensors are unaffected.
#pragma once

#include <cstdint>

#include "alexnet/op_table.hpp"
#include "alexnet/tensor.hpp"

namespace alexnet::ops {

// The option structs of the op table (Conv2dOptions, GradOptions, LrnOptions, PoolOptions, ...).
#define ALEXNET_OPTION_FIELD(type, name, value) type name = value;
#define ALEXNET_OPTION_STRUCT(Struct, FIELDS, jsName) \
  struct Struct {                                     \
    FIELDS(ALEXNET_OPTION_FIELD)                      \
  };
ALEXNET_OPTION_STRUCTS(ALEXNET_OPTION_STRUCT)
#undef ALEXNET_OPTION_STRUCT
#undef ALEXNET_OPTION_FIELD

struct Conv2dGrads {
  Tensor dx, dw, db;  // dx undefined when not wanted, db undefined without bias
};
// Mixed precision: conv2d, localResponseNorm, maxPool2d, linear and relu (and their backwards) take
// float32, bfloat16 or float16 activations (x, w, dy, y all of one dtype) and return that dtype;
// biases are float32 and weight and bias gradients are float32 in all. bfloat16 or float16 on a
// device that cannot compute in it (Device::bf16Supported, Device::fp16Supported) throws
// BF16_UNSUPPORTED or FLOAT16_UNSUPPORTED before queuing anything.
//
// x [N, C, H, W], w [O, C / groups, KH, KW], bias [O] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& options);
Conv2dGrads conv2dBackward(const Tensor& dy, const Tensor& x, const Tensor& w,
                           const Conv2dOptions& options, const GradOptions& want = {});

// The paper's LRN: alpha as written in the paper's formula (not divided by size).
Tensor localResponseNorm(const Tensor& x, const LrnOptions& options);
Tensor localResponseNormBackward(const Tensor& dy, const Tensor& x, const Tensor& y,
                                 const LrnOptions& options);

Tensor maxPool2d(const Tensor& x, const PoolOptions& options);
Tensor maxPool2dBackward(const Tensor& dy, const Tensor& x, const Tensor& y,
                         const PoolOptions& options);

// x [N, in] (or any [N, ...] flattened), w [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);
struct LinearGrads {
  Tensor dx, dw, db;
};
LinearGrads linearBackward(const Tensor& dy, const Tensor& x, const Tensor& w, const GradOptions& want = {});

// The unary elementwise ops of the table: name(x) and nameBackward(dy, y) with y = name(x).
#define ALEXNET_DECLARE_UNARY_OP(name, dtypes) \
  Tensor name(const Tensor& x);        \
  Tensor name##Backward(const Tensor& dy, const Tensor& y);
ALEXNET_UNARY_OPS(ALEXNET_DECLARE_UNARY_OP)
#undef ALEXNET_DECLARE_UNARY_OP

struct DropoutResult {
  Tensor y, mask;
};
DropoutResult dropout(const Tensor& x, const DropoutOptions& options);
Tensor dropoutBackward(const Tensor& dy, const Tensor& mask);

struct LossResult {
  Tensor loss;     // [] float
  Tensor dlogits;  // [N, classes]
};
// logits [N, classes] float, labels [N] int32 in [0, classes).
LossResult softmaxCrossEntropy(const Tensor& logits, const Tensor& labels);
Tensor softmax(const Tensor& logits);
// The number of rows (as one float) whose label is among the k largest logits. A row counts iff
// its label's logit is not NaN and fewer than k OTHER logits are >= it or NaN: ties and NaN count
// against the label, so a row of equal logits, or a NaN row, is never correct (unless k = classes
// and the label's logit is a number).
Tensor topkCorrect(const Tensor& logits, const Tensor& labels, const TopkOptions& options);

// In place on param and velocity: v <- momentum v - weightDecay lr w - lr g; w <- w + v.
void sgdStep(const Tensor& param, const Tensor& velocity, const Tensor& grad, const SgdOptions& options);
void fill(const Tensor& t, const FillOptions& options);
// Fills t with elements [offset, offset + t.numel) of the Gaussian stream of options.seed.
void normal(const Tensor& t, const NormalOptions& options);
void axpy(const Tensor& x, const Tensor& y, const ScaleOptions& options);  // y += alpha x
Tensor scale(const Tensor& x, const ScaleOptions& options);
Tensor add(const Tensor& a, const Tensor& b);
// A copy of x (float32, bfloat16 or float16) as `dtype` (one of those): float32 to bfloat16 or
// float16 rounds to nearest even, to float32 is exact, the same dtype gives a plain copy, and
// between bfloat16 and float16 the value goes through float32 (one rounding).
Tensor toDType(const Tensor& x, DType dtype);
// Dynamic loss scaling: multiplies every gradient (float32, all on one device) by options.alpha
// (1 / scale: finite and positive) in place, and returns a float32 [1] tensor on that device that
// is 1 if any product is infinite or NaN, else 0. One job on the stream for the whole list, one
// backend call per gradient, one flag: the caller reads it once per step.
Tensor unscaleGradients(const std::vector<Tensor>& grads, const ScaleOptions& options);
Tensor clone(const Tensor& x);

// Network input from raw 8-bit images on the device (paper section 4.1; Backend::cropImages):
// images uint8 [N, H, W, C] (NHWC, C 1 to 4); params float32 [N * crops, 3 + C], one row per output
// row (row r crops image r / crops): top, left, flip (0 or 1), then the colour offset per channel;
// mean undefined, float32 [C] or [C, H, W] (indexed at the source pixel). Returns float32
// [N * crops, C, outH, outW] with out = (scale * pixel - mean) + offset, rounded in float after
// each operation: the data pipeline's host crop, bit for bit. The windows are in device memory and
// are not checked here: a window that is not whole pixels inside its image makes the CPU backend
// fail the op (INVALID_ARGUMENT) and the CUDA backend write NaN to that row.
Tensor cropImages(const Tensor& images, const Tensor& params, const Tensor& mean, const CropOptions& options);

// Channel slicing and concatenation of [N, C, ...] tensors (the two-column exchange).
// sliceChannels: channels [start, start + count) of x.
Tensor sliceChannels(const Tensor& x, const ChannelOptions& options);
Tensor concatChannels(const std::vector<Tensor>& parts);
// Copies src into dst's channels [start, start + src.C) (options.count is not read).
void copyIntoChannels(const Tensor& dst, const Tensor& src, const ChannelOptions& options);

}  // namespace alexnet::ops
