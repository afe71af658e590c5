// Which 16-bit types a GPU computes in, decided by its compute capability alone, so that the
// backend (bf16Supported, fp16Supported) and `alexnet info` (which describes every GPU without
// creating a backend, module.cpp) say the same thing.
//   bfloat16: cuDNN's and cuBLAS's bfloat16 tensor cores, compute capability 8.0 (Ampere) or newer.
//   float16:  their float16 tensor cores (float32 accumulation), 7.0 (Volta) or newer.
#pragma once

#include <string>

namespace alexnet::cuda {

inline bool bf16Capable(int major) { return major >= 8; }
inline bool fp16Capable(int major) { return major >= 7; }

inline std::string capabilityText(int major, int minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// What bf16Supported and fp16Supported report as their reason.
inline std::string bf16Reason(int major, int minor) {
  const std::string cc = capabilityText(major, minor);
  return bf16Capable(major) ? "cuDNN and cuBLAS bfloat16 tensor cores (compute capability " + cc + ")"
                            : "this GPU has compute capability " + cc +
                                  "; bfloat16 tensor cores need 8.0 or newer";
}
inline std::string fp16Reason(int major, int minor) {
  const std::string cc = capabilityText(major, minor);
  return fp16Capable(major) ? "cuDNN and cuBLAS float16 tensor cores (compute capability " + cc + ")"
                            : "this GPU has compute capability " + cc +
                                  "; float16 tensor cores need 7.0 or newer";
}

}  // namespace alexnet::cuda
