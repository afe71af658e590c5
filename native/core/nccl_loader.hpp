// Lazy loading of the NCCL transport module (libalexnet_nccl.so): CUDA tensors in a group of more
// than one process are reduced with NCCL when the module, NCCL and a GPU are there; a group that
// needs it where they are not reports NCCL_UNAVAILABLE with the install hint.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace alexnet::nccl_loader {

// Whether the module loads and sees a GPU; `why` says what is missing otherwise.
bool available(std::string* why);
// "available: NCCL 2.x, N CUDA device(s)" or "unavailable: <why>".
std::string status();
// Throws NCCL_UNAVAILABLE (naming what was looked for and how to install it) unless available().
void require();

// Thin wrappers of the module's entry points; throw NCCL_ERROR with the module's message, or
// RANK_LOST where its watchdog (nccl_watchdog.hpp) gave up on a rank that is lost or hung within
// `timeoutSeconds` (the communicator's, given when it is created).
void uniqueId(char* id, size_t idLen);
void* create(int device, int rank, int size, const char* id, size_t idLen, double timeoutSeconds);
void destroy(void* comm);
void* start(void* comm, float* data, size_t count, bool mean, int root, void* stream);
// Model parallelism (module.hpp): [outer, total] tensors, rank q's columns inner[q] wide.
void* startAllGather(void* comm, const float* send, float* recv, size_t outer, const std::vector<size_t>& inner,
                     void* stream);
void* startReduceScatter(void* comm, const float* send, float* recv, size_t outer, const std::vector<size_t>& inner,
                         bool mean, void* stream);
// Blocks the calling thread (the device's stream thread) until the collective finished, at most
// the timeout.
void wait(void* pending, void* stream);

}  // namespace alexnet::nccl_loader
