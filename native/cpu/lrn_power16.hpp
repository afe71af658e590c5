// LRN's s^-3/4 to about 2e-4 (relative) for 16-bit activations, by AVX-512's reciprocal square
// root estimates instead of two square roots and a division.
#pragma once

#include "cpu_arch.hpp"

namespace alexnet {
namespace cpu {

#if ALEXNET_CPU_X86_GCC
// Called only where cpuHasAvx512(). out[i] = s[i]^-3/4 within 2.2e-4 of it, relative, for normal finite s > 0; exactly as the float32
// loops compute it (1 / (sqrt(s) sqrt(sqrt(s)))) for every other s (0, subnormal, infinite, NaN).
void lrnPower16(const float* s, float* out, long count);
#endif

}  // namespace cpu
}  // namespace alexnet
