// ALEXNET_DATA_KERNEL marks the inner loops of resizing and cropping: on x86-64 with GCC they are
// compiled twice, for AVX2 and for the baseline, and the loader picks one at run time (ifunc).
// Both versions do the same float operations in the same order (no FMA contraction, see
// CMakeLists.txt), so results do not depend on the CPU.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define ALEXNET_DATA_KERNEL __attribute__((target_clones("avx2", "default"))) static
#else
#define ALEXNET_DATA_KERNEL static
#endif
