// The C entry points of libalexnet_cuda.so, the CUDA backend module. The core dlopens the module
// only when a CUDA device is asked for, so a machine without the driver, cuDNN or cuBLAS still
// loads the addon and runs on CPU. Take function types from here with decltype when calling dlsym.
//
// Errors: the first four functions never throw; they return -1 or nullptr and write a message
// (NUL-terminated, truncated to errLen) into err. The Backend they create throws alexnet::Error
// from its methods like every backend, and so does alexnet_cuda_set_tf32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alexnet/backend.hpp"

#define ALEXNET_CUDA_EXPORT __attribute__((visibility("default")))

extern "C" {

// Number of CUDA devices, or -1 (no driver, driver too old for this CUDA runtime, ...).
ALEXNET_CUDA_EXPORT int alexnet_cuda_device_count(char* err, size_t errLen);

// A backend on one device with its own stream, cuDNN and cuBLAS handles; nullptr on failure.
ALEXNET_CUDA_EXPORT alexnet::Backend* alexnet_cuda_create_backend(int device, char* err,
                                                                  size_t errLen);
ALEXNET_CUDA_EXPORT void alexnet_cuda_destroy_backend(alexnet::Backend* backend);

// One line for `alexnet info`, e.g. "NVIDIA H200, cc 9.0, 139.8 GiB, cuDNN 9.10.2, cuBLAS 13.0.0,
// driver CUDA 13.0, bf16 yes, fp16 yes" (runtime versions of the libraries loaded; the 16-bit
// compute the device's capability allows, half_support.hpp, told without creating a backend). Returns 0, or -1 with the reason
// written to out.
ALEXNET_CUDA_EXPORT int alexnet_cuda_describe(int device, char* out, size_t outLen);

// Strict FP32 (0, the default) or TF32 tensor cores (1) for convolutions and GEMMs. backend must
// come from alexnet_cuda_create_backend (anything else throws alexnet::Error).
ALEXNET_CUDA_EXPORT void alexnet_cuda_set_tf32(alexnet::Backend* backend, int enable);
}
