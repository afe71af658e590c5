// bfloat16: the top 16 bits of an IEEE float32 (1 sign, 8 exponent, 7 stored mantissa bits), so it
// has float32's range with 8 significant bits (unit roundoff 2^-8).
//
// Conversion from float32 rounds to nearest, ties to even, as oneDNN, cuDNN and PyTorch do; NaN
// stays a (quiet) NaN of the same sign, and values that round past the largest bfloat16 become
// infinity. Conversion to float32 is exact. Both are plain bit arithmetic, identical on every
// backend and on the host, so a host-side conversion and a device-side one agree to the bit: the
// CUDA kernels (native/cuda/kernels/cast.cu) call these same functions.
#pragma once

#include <cstdint>
#include <cstring>

#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE

namespace alexnet {

ALEXNET_HOST_DEVICE inline uint32_t floatBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

ALEXNET_HOST_DEVICE inline float floatFromBits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

struct BFloat16 {
  uint16_t bits;
};
static_assert(sizeof(BFloat16) == 2, "bfloat16 is two bytes");

ALEXNET_HOST_DEVICE inline uint16_t bf16BitsFromFloat(float f) {
  uint32_t u = floatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
  // Round to nearest even: add 0x7fff plus the lowest kept bit, then truncate.
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

ALEXNET_HOST_DEVICE inline float floatFromBf16Bits(uint16_t bits) {
  return floatFromBits(static_cast<uint32_t>(bits) << 16);
}

ALEXNET_HOST_DEVICE inline BFloat16 toBf16(float f) { return BFloat16{bf16BitsFromFloat(f)}; }
ALEXNET_HOST_DEVICE inline float toFloat(BFloat16 h) { return floatFromBf16Bits(h.bits); }

}  // namespace alexnet
