// Which cuDNN math a convolution's algorithm search may use, by the backend's precision and the
// data type. Free of CUDA types so that it runs in host tests; conv.cpp maps it to cudnnMathType_t.
//
// cuDNN's legacy convolution API runs tensor-core kernels only when the descriptor's math type is
// CUDNN_TENSOR_OP_MATH (or _ALLOW_CONVERSION); under CUDNN_DEFAULT_MATH the only tensor-core work
// it adds is TF32 for float32 data on Ampere and newer. So:
//   float32, strict FP32: FMA only (no TF32 rounding of the inputs);
//   float32, TF32 mode:   default math (cuDNN may use TF32 tensor cores);
//   bfloat16 and float16: tensor-op math, whatever the precision mode (the data is already 16-bit,
//                         so nothing is converted; without it the 16-bit convolutions would run on
//                         the FMA units).
#pragma once

namespace alexnet::cuda {

enum class ConvMath { FmaOnly, Default, TensorOps };

inline ConvMath convSearchMath(bool tf32Mode, bool float32Data) {
  if (!float32Data) return ConvMath::TensorOps;
  return tf32Mode ? ConvMath::Default : ConvMath::FmaOnly;
}

}  // namespace alexnet::cuda
