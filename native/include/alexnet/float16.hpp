// float16: IEEE 754 binary16 (1 sign, 5 exponent, 10 stored mantissa bits): 11 significant bits
// (unit roundoff 2^-11), normal numbers from 2^-14 to 65504, subnormals down to 2^-24.
//
// Tensors store it (uploads, downloads, conversions, safetensors F16); no op computes in it.
// Conversion from float32 rounds to nearest, ties to even, subnormals included (as IEEE, CUDA's
// __float2half_rn and PyTorch do); magnitudes from 65520 up become infinity; NaN stays a quiet
// NaN of the same sign. Conversion to float32 is exact. Plain integer arithmetic, identical on the
// host and on every backend: the CUDA kernels (native/cuda/kernels/amp.cu) call these functions.
#pragma once

#include <cstdint>

#include "alexnet/bfloat16.hpp"  // floatBits, floatFromBits

namespace alexnet {

struct Float16 {
  uint16_t bits;
};
static_assert(sizeof(Float16) == 2, "float16 is two bytes");

// Rounds `value` (an integer, given with `dropped` low bits still attached) to nearest even after
// shifting those bits out. dropped is in [1, 31].
ALEXNET_HOST_DEVICE inline uint32_t shiftRoundEven(uint32_t value, int dropped) {
  const uint32_t kept = value >> dropped;
  const uint32_t rest = value & ((1u << dropped) - 1u);
  const uint32_t half = 1u << (dropped - 1);
  return kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
}

ALEXNET_HOST_DEVICE inline uint16_t f16BitsFromFloat(float f) {
  const uint32_t u = floatBits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN: quiet
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 (or inf): inf
  const uint32_t exponent = a >> 23;  // biased float32 exponent
  const uint32_t mantissa = a & 0x7fffffu;
  if (exponent < 113) {
    // Below half's smallest normal 2^-14: a subnormal m * 2^-24, m = round(|f| * 2^24). |f| is
    // (mantissa | 2^23) * 2^(exponent - 150), so m is that significand shifted right by
    // 126 - exponent bits. Float32 subnormals and anything below 2^-25 round to zero.
    if (exponent < 102) return static_cast<uint16_t>(sign);
    return static_cast<uint16_t>(sign | shiftRoundEven(mantissa | 0x800000u, static_cast<int>(126 - exponent)));
  }
  // Normal: rebias the exponent (127 -> 15) and round the mantissa from 23 to 10 bits; a carry out
  // of the mantissa correctly increments the exponent (65520 and up were handled above).
  const uint32_t unrounded = ((exponent - 112) << 23) | mantissa;
  return static_cast<uint16_t>(sign | shiftRoundEven(unrounded, 13));
}

ALEXNET_HOST_DEVICE inline float floatFromF16Bits(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return floatFromBits(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return floatFromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero and subnormals: mantissa * 2^-24, exact in float32 (at most 10 significant bits).
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // 2^-24
  return sign ? -magnitude : magnitude;
}

ALEXNET_HOST_DEVICE inline Float16 toF16(float f) { return Float16{f16BitsFromFloat(f)}; }
ALEXNET_HOST_DEVICE inline float toFloat(Float16 h) { return floatFromF16Bits(h.bits); }

}  // namespace alexnet
