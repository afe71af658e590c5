// Counter-based random numbers: value i of stream `seed` is a pure function of (seed, i), so every
// backend (a CPU loop, a CUDA kernel) and every thread partition draws exactly the same numbers.
#pragma once

#include <cstdint>
#include <cmath>

#if defined(__CUDACC__)
#define ALEXNET_HOST_DEVICE __host__ __device__
#else
#define ALEXNET_HOST_DEVICE
#endif

namespace alexnet {

// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective avalanche of a 64-bit counter.
ALEXNET_HOST_DEVICE inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 random bits (exactly representable in float). The bits go to float
// through int32, which is exact below 2^24 like the direct conversion, but vectorizes without
// AVX-512DQ (a 64-bit integer to float conversion has no vector instruction before it).
ALEXNET_HOST_DEVICE inline float counterUniform(uint64_t seed, uint64_t i) {
  uint64_t r = mix64(mix64(seed) ^ i);
  return static_cast<float>(static_cast<int32_t>(r >> 40)) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller over two independent uniforms of the pair (2i, 2i + 1).
ALEXNET_HOST_DEVICE inline float counterNormal(uint64_t seed, uint64_t i) {
  uint64_t a = mix64(mix64(seed) ^ (2 * i));
  uint64_t b = mix64(mix64(seed) ^ (2 * i + 1));
  // u1 in (0, 1] so the log is finite; u2 in [0, 1).
  double u1 = (static_cast<double>(a >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  double u2 = static_cast<double>(b >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

}  // namespace alexnet
