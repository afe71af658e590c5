// Where the CPU backend's loops may be compiled for newer instruction sets than the library's
// baseline x86-64, and how. Header-only, without oneDNN, so the kernel files can include it alone.
#pragma once

// GCC on x86-64 Linux: target_clones (ifunc), target pragmas and __builtin_cpu_supports.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define ALEXNET_CPU_X86_GCC 1
#else
#define ALEXNET_CPU_X86_GCC 0
#endif

// The CPU backend's own hot loops are compiled for AVX-512, AVX2 and the baseline, and the loader
// picks one at run time (ifunc): the library itself is built for the baseline x86-64, where they
// run 4 wide. ALEXNET_CPU_CLONES_DQ adds AVX-512's DQ extension (64-bit integer multiplies and
// conversions in vectors) through x86-64-v4. Functions with these attributes must not contain an
// OpenMP region (its outlined body would not be cloned): they are called from inside one.
#if ALEXNET_CPU_X86_GCC
#define ALEXNET_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#if __GNUC__ >= 11  // the x86-64-v4 level is known from GCC 11 on
#define ALEXNET_CPU_CLONES_DQ __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define ALEXNET_CPU_CLONES_DQ ALEXNET_CPU_CLONES
#endif
#else
#define ALEXNET_CPU_CLONES
#define ALEXNET_CPU_CLONES_DQ
#endif

// Kernels written with AVX-512 intrinsics (where masks are what the loops are made of) sit between
// these two, and run only where cpuHasAvx512() says so. The region is compiled for AVX-512 F, BW, VL
// and DQ (oneDNN's avx512_core). GCC 12's intrinsics headers start some results from
// _mm512_undefined_*(), which its -Wmaybe-uninitialized then reports at every use.
#if ALEXNET_CPU_X86_GCC
#define ALEXNET_AVX512_BEGIN                                        \
  _Pragma("GCC push_options")                                       \
  _Pragma("GCC target(\"avx512f,avx512bw,avx512vl,avx512dq\")")     \
  _Pragma("GCC diagnostic push")                                    \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define ALEXNET_AVX512_END _Pragma("GCC diagnostic pop") _Pragma("GCC pop_options")
#endif

namespace alexnet {
namespace cpu {

// Whether this build has the AVX-512 kernels and this CPU runs them (F, BW, VL and DQ).
inline bool cpuHasAvx512() {
#if ALEXNET_CPU_X86_GCC
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return has;
#else
  return false;
#endif
}

}  // namespace cpu
}  // namespace alexnet
