// Lazy loading of the CUDA backend module (libalexnet_cuda.so). The addon never links cuDNN,
// cuBLAS or the CUDA driver itself, so it loads on machines without them; asking for a CUDA device
// is what tries to load the module, and failure becomes a CUDA_UNAVAILABLE error saying why.
#pragma once

#include <memory>
#include <string>

#include "alexnet/backend.hpp"

namespace alexnet::cuda_loader {

// Number of CUDA devices, or 0 with `why` set.
int deviceCount(std::string* why);
// Creates the backend for device `index`; throws Error CUDA_UNAVAILABLE on failure.
Backend* createBackend(int index);
void destroyBackend(Backend* backend);
std::string describe(int index);

}  // namespace alexnet::cuda_loader
