// bfloat16 on the CPU: whether this machine computes in it, the conversions, and the bfloat16
// ReLU. The convolutions, LRN, pooling and linear layers have their bfloat16 overloads beside their
// float32 ones (conv.cpp, lrn.cpp, pool.cpp, linear.cpp).
#include <string>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {
constexpr long long kParallelMin = 1 << 15;
using Index = long long;

// oneDNN's effective ISA includes avx512_core_bf16 (a bit mask: AMX machines include it too).
// Read once: it is fixed for the process (ONEDNN_MAX_CPU_ISA is read when oneDNN first asks).
bool hasBf16Isa() {
  static const bool has = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;
  }();
  return has;
}
}  // namespace

bool CpuBackend::bf16Supported(std::string* reason) const {
  if (hasBf16Isa()) {
    if (reason) *reason = "oneDNN avx512_core_bf16 kernels (AVX512_BF16)";
    return true;
  }
  if (reason)
    *reason = "this CPU (or ONEDNN_MAX_CPU_ISA) lacks AVX512_BF16, where oneDNN would only emulate "
              "bfloat16 at a loss against float32";
  return false;
}

void CpuBackend::requireBf16(const char* op) const {
  if (!hasBf16Isa()) unsupportedBf16(op);
}

// Conversions work everywhere (plain bit arithmetic, alexnet/bfloat16.hpp).
void CpuBackend::castToBFloat16(size_t count, const float* x, BFloat16* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] = toBf16(x[i]);
}

void CpuBackend::castToFloat32(size_t count, const BFloat16* x, float* y) {
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) y[i] = toFloat(x[i]);
}

// On the bits: a negative number (sign set, not NaN) becomes +0; NaN and the rest pass, as in
// float32's `x < 0 ? 0 : x` (-0 passes there too, since -0 < 0 is false).
void CpuBackend::reluForward(size_t count, const BFloat16* x, BFloat16* y) {
  requireBf16("reluForward");
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) {
    const uint16_t b = x[i].bits;
    const bool negative = (b & 0x8000u) && (b & 0x7fffu) != 0 && (b & 0x7fffu) <= 0x7f80u;
    y[i].bits = negative ? uint16_t(0) : b;
  }
}

// dx = y > 0 ? dy : 0, with y > 0 read from the bits: sign clear, not zero, not NaN.
void CpuBackend::reluBackward(size_t count, const BFloat16* dy, const BFloat16* y, BFloat16* dx) {
  requireBf16("reluBackward");
  const Index n = static_cast<Index>(count);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (Index i = 0; i < n; ++i) {
    const uint16_t v = y[i].bits, g = dy[i].bits;
    const bool positive = !(v & 0x8000u) && v != 0 && v <= 0x7f80u;
    dx[i].bits = positive ? g : uint16_t(0);
  }
}

}  // namespace cpu
}  // namespace alexnet
