// LRN's s^-3/4 to about 2e-4 (relative) for 16-bit activations, by AVX-512's reciprocal square
// root estimates instead of two square roots and a division.
#pragma once

// GCC on x86-64 Linux (the compiler's target pragmas and CPU feature test).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define ALEXNET_LRN_POWER16 1
#else
#define ALEXNET_LRN_POWER16 0
#endif

namespace alexnet {
namespace cpu {

// Whether this build and CPU run lrnPower16 (AVX-512F).
bool lrnPower16Supported();

#if ALEXNET_LRN_POWER16
// out[i] = s[i]^-3/4 within 2.2e-4 of it, relative, for normal finite s > 0; exactly as the float32
// loops compute it (1 / (sqrt(s) sqrt(sqrt(s)))) for every other s (0, subnormal, infinite, NaN).
void lrnPower16(const float* s, float* out, long count);
#endif

}  // namespace cpu
}  // namespace alexnet
