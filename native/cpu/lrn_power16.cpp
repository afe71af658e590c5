// s^-3/4 for the LRN of bfloat16 activations (lrn_power16.hpp).
//
// The float32 loops take two square roots and a division per value (a few ulp from pow), about a
// third of the LRN's time. A bfloat16 output keeps 8 significant bits (u = 2^-8 = 3.9e-3), so that
// precision is wasted on it: with r = rsqrt14(s) (relative error below 2^-14) and q = rsqrt14(r),
//   s^-3/4 = r^(3/2) = r * r * q,
// off by at most 3.5 * 2^-14 = 2.2e-4 relative, 0.06 u, before the output's own rounding. Where s is
// not a normal finite positive number the estimate's edge cases differ from the exact formula
// (rsqrt14(inf) = 0, then rsqrt14(0) = inf, and 0 * inf = NaN where the exact power is 0), so such
// blocks fall back to it.
#include "lrn_power16.hpp"

#include <cfloat>
#include <cmath>

#if ALEXNET_CPU_X86_GCC
#include <immintrin.h>
#endif

namespace alexnet {
namespace cpu {

#if ALEXNET_CPU_X86_GCC
ALEXNET_AVX512_BEGIN
void lrnPower16(const float* s, float* out, long count) {
  const __m512 smallest = _mm512_set1_ps(FLT_MIN), largest = _mm512_set1_ps(FLT_MAX);
  for (long i = 0; i < count; i += 16) {
    const __mmask16 lanes = count - i >= 16 ? static_cast<__mmask16>(0xffff)
                                            : static_cast<__mmask16>((1u << (count - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(lanes, s + i);
    // Lanes with a normal finite positive s (NaN fails both comparisons).
    const __mmask16 normal =
        _mm512_cmp_ps_mask(v, smallest, _CMP_GE_OQ) & _mm512_cmp_ps_mask(v, largest, _CMP_LE_OQ);
    if ((normal & lanes) != lanes) {
      for (long j = i; j < i + 16 && j < count; ++j) {
        const float root = std::sqrt(s[j]);
        out[j] = 1.0f / (root * std::sqrt(root));
      }
      continue;
    }
    const __m512 r = _mm512_rsqrt14_ps(v);
    const __m512 q = _mm512_rsqrt14_ps(r);
    _mm512_mask_storeu_ps(out + i, lanes, _mm512_mul_ps(_mm512_mul_ps(r, r), q));
  }
}
ALEXNET_AVX512_END
#endif

}  // namespace cpu
}  // namespace alexnet
