// Max pooling over planes too narrow for pool.cpp's row kernels, sixteen planes at a time.
#pragma once

#include "alexnet/backend.hpp"
#include "alexnet/bfloat16.hpp"

// GCC on x86-64 Linux (the compiler's target pragmas and CPU feature test).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define ALEXNET_POOL_INTERLEAVED 1
#else
#define ALEXNET_POOL_INTERLEAVED 0
#endif

namespace alexnet {
namespace cpu {

// Whether this build and CPU run the functions below (AVX-512 F, BW, VL and DQ); else they are
// absent (the build) or must not be called (the CPU).
bool interleavedPoolSupported();

// Rows with fewer outputs than this fill less than one AVX-512 vector of float32: the row kernels
// then run mostly in their remainder loops, and a plane's fixed costs outweigh its work.
constexpr int kInterleavedPoolMaxOutW = 16;

// The same results, bit for bit, as pool.cpp's loops: the first maximum in row-major window order,
// the first NaN when a window holds one, gradients added in (oh, ow) order.
#if ALEXNET_POOL_INTERLEAVED
void maxPoolForwardInterleaved(const PoolGeometry& g, const float* x, float* y);
void maxPoolForwardInterleaved(const PoolGeometry& g, const BFloat16* x, BFloat16* y);
void maxPoolBackwardInterleaved(const PoolGeometry& g, const float* dy, const float* x, float* dx);
void maxPoolBackwardInterleaved(const PoolGeometry& g, const BFloat16* dy, const BFloat16* x, BFloat16* dx);
#endif

}  // namespace cpu
}  // namespace alexnet
