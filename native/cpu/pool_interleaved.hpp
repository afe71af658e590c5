// Max pooling over planes too narrow for pool.cpp's row kernels, sixteen planes at a time.
#pragma once

#include "alexnet/backend.hpp"
#include "alexnet/bfloat16.hpp"
#include "cpu_arch.hpp"

namespace alexnet {
namespace cpu {

// Rows with fewer outputs than this fill less than one AVX-512 vector of float32: the row kernels
// then run mostly in their remainder loops, and a plane's fixed costs outweigh its work.
constexpr int kInterleavedPoolMaxOutW = 16;

// The same results, bit for bit, as pool.cpp's loops: the first maximum in row-major window order,
// the first NaN when a window holds one, gradients added in (oh, ow) order. Built where
// ALEXNET_CPU_X86_GCC; called only where cpuHasAvx512().
#if ALEXNET_CPU_X86_GCC
void maxPoolForwardInterleaved(const PoolGeometry& g, const float* x, float* y);
void maxPoolForwardInterleaved(const PoolGeometry& g, const BFloat16* x, BFloat16* y);
void maxPoolBackwardInterleaved(const PoolGeometry& g, const float* dy, const float* x, float* dx);
void maxPoolBackwardInterleaved(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x, BFloat16* dx);
#endif  // ALEXNET_CPU_X86_GCC

}  // namespace cpu
}  // namespace alexnet
