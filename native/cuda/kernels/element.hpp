// The activation element types our kernels read and write, and their conversions to and from the
// float32 the kernels compute in. Loads widen exactly; stores round to nearest even
// (alexnet/bfloat16.hpp, alexnet/float16.hpp), so a kernel written once over the element type gives
// float32 results unchanged and bfloat16 or float16 results rounded once (float16 overflowing to
// infinity beyond 65504). Host and device: the host checks (native/cuda/test/element_math_check.cpp)
// run the same element functions.
#pragma once

#include "alexnet/bfloat16.hpp"
#include "alexnet/float16.hpp"
#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE

namespace alexnet::cuda::kernels {

ALEXNET_HOST_DEVICE inline float loadElement(float v) { return v; }
ALEXNET_HOST_DEVICE inline float loadElement(BFloat16 v) { return toFloat(v); }
ALEXNET_HOST_DEVICE inline float loadElement(Float16 v) { return toFloat(v); }

template <class T>
ALEXNET_HOST_DEVICE inline T storeElement(float v);
template <>
ALEXNET_HOST_DEVICE inline float storeElement<float>(float v) { return v; }
template <>
ALEXNET_HOST_DEVICE inline BFloat16 storeElement<BFloat16>(float v) { return toBf16(v); }
template <>
ALEXNET_HOST_DEVICE inline Float16 storeElement<Float16>(float v) { return toF16(v); }

// Positive zero of each type (all bits clear).
template <class T>
ALEXNET_HOST_DEVICE inline T zeroElement() {
  return T{};
}

}  // namespace alexnet::cuda::kernels
