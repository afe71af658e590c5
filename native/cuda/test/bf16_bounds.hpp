// bfloat16 and float16 test helpers: rounding whole vectors, and the error bounds of the 16-bit ops
// against the float64 references, derived from the type's unit roundoff u (bfloat16 2^-8, float16
// 2^-11) exactly as test/20.ops.bf16.test.ts and test/21.ops.float16.test.ts derive them (see
// test/20's header): a K-term float32-accumulated sum of
// products of rounded values, each term at most T in magnitude, errs by at most
// c * u * sqrt(K) * T (three standard deviations of K independent errors within 2.01 u T each,
// c = 3.5), and the output's own rounding adds u * max|ref|.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "alexnet/bfloat16.hpp"
#include "alexnet/float16.hpp"
#include "oracle_files.hpp"

namespace bf16check {

constexpr double kU = 1.0 / 256.0;  // 2^-8
constexpr double kC = 3.5;

inline std::vector<alexnet::BFloat16> round(const std::vector<float>& v) {
  std::vector<alexnet::BFloat16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = alexnet::toBf16(v[i]);
  return out;
}

inline std::vector<float> widen(const std::vector<alexnet::BFloat16>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = alexnet::toFloat(v[i]);
  return out;
}

// The 16-bit activation types: unit roundoff, the name in the checks' lines, rounding.
template <class T>
struct HalfType;
template <>
struct HalfType<alexnet::BFloat16> {
  static constexpr double u = kU;
  static constexpr const char* name = "bf16";
  static alexnet::BFloat16 from(float v) { return alexnet::toBf16(v); }
};
template <>
struct HalfType<alexnet::Float16> {
  static constexpr double u = 1.0 / 2048.0;  // 2^-11
  static constexpr const char* name = "fp16";
  static alexnet::Float16 from(float v) { return alexnet::toF16(v); }
};

template <class T>
std::vector<T> roundTo(const std::vector<float>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = HalfType<T>::from(v[i]);
  return out;
}

inline std::vector<float> widen(const std::vector<alexnet::Float16>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = alexnet::toFloat(v[i]);
  return out;
}

inline double maxAbs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

// The bound for a K-term sum of products of terms up to termMax, on outputs `ref`.
// u: the output type's unit roundoff (bfloat16's unless given).
inline double sumBound(double k, double termMax, const std::vector<float>& ref, double u = kU) {
  return kC * u * std::sqrt(k) * termMax + u * maxAbs(ref);
}

// Passes when max |got - want| <= bound (an absolute bound, as the TypeScript test's), and the
// bound is a small part of the values (under a tenth of max|want|), so that it is not vacuous.
inline void compareWithin(const std::string& what, const std::vector<float>& got,
                          const std::vector<float>& want, double bound) {
  const double m = maxAbs(want);
  if (bound >= 0.1 * m + 1e-30) {
    std::printf("%-48s bound %.3g is not below a tenth of max %.3g FAIL\n", what.c_str(), bound, m);
    ++oracle::failures();
    return;
  }
  oracle::compare(what, got, want, bound / std::max(m, 1e-30));
}

}  // namespace bf16check
