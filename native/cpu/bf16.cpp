// bfloat16 on the CPU: whether this machine computes in it, the conversions, and the bfloat16
// ReLU; and why float16 is not computed here. The convolutions, LRN, pooling and linear layers have their bfloat16 overloads beside their
// float32 ones (conv.cpp, lrn.cpp, pool.cpp, linear.cpp).
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {
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

namespace {
// Whether the processor has the AVX512_FP16 instructions (CPUID leaf 7, EDX bit 23). Asked of the
// processor, not of oneDNN: the oneDNN this backend builds against may predate its float16 ISA.
bool hasAvx512Fp16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx >> 23) & 1u;
#else
  return false;
#endif
}
}  // namespace

bool CpuBackend::fp16Supported(std::string* reason) const {
  if (reason) {
    *reason = hasAvx512Fp16()
                  ? "the CPU backend has no float16 kernels (this CPU has AVX512_FP16, where oneDNN "
                    "could compute in float16; bfloat16 is the CPU's 16-bit path)"
                  : "this CPU has no AVX512_FP16 (oneDNN computes in float16 only with AVX512_FP16 or "
                    "AMX-FP16 and would emulate it at a loss here), and the CPU backend has no "
                    "float16 kernels";
  }
  return false;
}

void CpuBackend::requireBf16(const char* op) const {
  if (!hasBf16Isa()) unsupportedBf16(op);
}

namespace {
// Conversions work everywhere (plain bit arithmetic, alexnet/bfloat16.hpp): integer operations
// only, so every compiled version gives the same bits.
ALEXNET_CPU_CLONES void toBf16Chunk(const float* x, BFloat16* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = toBf16(x[i]);
}

ALEXNET_CPU_CLONES void toFloatChunk(const BFloat16* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = toFloat(x[i]);
}

// On the bits: a negative number (sign set, not NaN) becomes +0; NaN and the rest pass, as in
// float32's `x < 0 ? 0 : x` (-0 passes there too, since -0 < 0 is false).
ALEXNET_CPU_CLONES void reluBf16Chunk(const BFloat16* x, BFloat16* y, Index n) {
  for (Index i = 0; i < n; ++i) {
    const uint16_t b = x[i].bits;
    const bool negative = (b & 0x8000u) && (b & 0x7fffu) != 0 && (b & 0x7fffu) <= 0x7f80u;
    y[i].bits = negative ? uint16_t(0) : b;
  }
}

// dx = y > 0 ? dy : 0, with y > 0 read from the bits: sign clear, not zero, not NaN.
ALEXNET_CPU_CLONES void reluBackwardBf16Chunk(const BFloat16* dy, const BFloat16* y, BFloat16* dx, Index n) {
  for (Index i = 0; i < n; ++i) {
    const uint16_t v = y[i].bits, g = dy[i].bits;
    const bool positive = !(v & 0x8000u) && v != 0 && v <= 0x7f80u;
    dx[i].bits = positive ? g : uint16_t(0);
  }
}
}  // namespace

void CpuBackend::castToBFloat16(size_t count, const float* x, BFloat16* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { toBf16Chunk(x + b, y + b, e - b); });
}

void CpuBackend::castToFloat32(size_t count, const BFloat16* x, float* y) {
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { toFloatChunk(x + b, y + b, e - b); });
}

void CpuBackend::reluForward(size_t count, const BFloat16* x, BFloat16* y) {
  requireBf16("reluForward");
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { reluBf16Chunk(x + b, y + b, e - b); });
}

void CpuBackend::reluBackward(size_t count, const BFloat16* dy, const BFloat16* y, BFloat16* dx) {
  requireBf16("reluBackward");
  parallelChunks(static_cast<Index>(count), [&](Index b, Index e) { reluBackwardBf16Chunk(dy + b, y + b, dx + b, e - b); });
}

}  // namespace cpu
}  // namespace alexnet
