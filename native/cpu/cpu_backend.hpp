// Factory for the CPU backend (oneDNN for convolution and LRN, dnnl_sgemm for fully connected
// layers, OpenMP loops for everything else).
#pragma once

#include <memory>

#include "alexnet/backend.hpp"

namespace alexnet {

// allocate() and deallocate() are thread-safe; every other method must be called from one thread at
// a time (the device's stream thread), as the op contract says.
std::unique_ptr<Backend> createCpuBackend();

// The thread count CPU compute uses when none was set: OMP_NUM_THREADS, else the cores OpenMP sees.
int cpuDefaultThreads();

}  // namespace alexnet
