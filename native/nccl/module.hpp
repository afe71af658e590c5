// The C entry points of libalexnet_nccl.so, the NCCL transport module (it links libnccl.so.2 and
// the CUDA runtime). The core dlopens it only for CUDA tensors in a group of more than one process,
// so the addon loads where NCCL or a GPU is absent. Take function types from here with decltype.
//
// Every function returns 0 on success, or with a message (NUL-terminated, truncated to errLen) in
// err: -1 for a failure, -2 for a rank that is lost or hung (the values of ../core/nccl_watchdog.hpp);
// none throws. Streams are cudaStream_t passed as void*. The communicators are non-blocking: every
// wait on NCCL (forming the communicator, a collective being queued, its completion) is polled and
// bounded by the communicator's timeout, after which it is aborted and fails every later call.
//
// Stable as a pair with the core only: the core loads the module built with it.
#pragma once

#include <cstddef>

#define ALEXNET_NCCL_EXPORT __attribute__((visibility("default")))

extern "C" {

// "NCCL 2.27.3, N CUDA device(s)"; -1 when there is no usable GPU (the reason in out).
ALEXNET_NCCL_EXPORT int alexnet_nccl_probe(char* out, size_t outLen);
// Rank 0 makes the id (128 bytes, ncclUniqueId), every rank receives it out of band (over MPI).
ALEXNET_NCCL_EXPORT int alexnet_nccl_unique_id(char* id, size_t idLen, char* err, size_t errLen);
// A communicator of `size` ranks on GPU `device`, with a CUDA stream of its own for the transfers;
// its waits give up after `timeoutSeconds` (forming it waits for every rank to join).
ALEXNET_NCCL_EXPORT int alexnet_nccl_create(int device, int rank, int size, const char* id, size_t idLen,
                                            double timeoutSeconds, void** comm, char* err, size_t errLen);
ALEXNET_NCCL_EXPORT void alexnet_nccl_destroy(void* comm);
// Enqueues, after the work queued so far on `stream`, a collective on the communicator's own
// stream (mean: ncclAvg, sum: ncclSum; root >= 0: a broadcast from root instead); `*pending`
// receives its completion, which alexnet_nccl_wait makes `stream` wait for (and then frees).
ALEXNET_NCCL_EXPORT int alexnet_nccl_start(void* comm, float* data, size_t count, int mean, int root,
                                           void* stream, void** pending, char* err, size_t errLen);
// Model parallelism, on the same streams as alexnet_nccl_start. The tensors are [outer, total]
// with rank q owning columns [offset_q, offset_q + inner[q]) of every row (offset_q the sum of the
// inner counts before q; inner has one entry per rank). all_gather: recv [outer, total] <- every
// rank's send [outer, inner[q]] in its columns. reduce_scatter: recv [outer, inner[rank]] <- the
// sum (mean: the average) over the ranks of their send [outer, total]'s columns of this rank.
ALEXNET_NCCL_EXPORT int alexnet_nccl_all_gather(void* comm, const float* send, float* recv, size_t outer,
                                                const size_t* inner, void* stream, void** pending, char* err,
                                                size_t errLen);
ALEXNET_NCCL_EXPORT int alexnet_nccl_reduce_scatter(void* comm, const float* send, float* recv, size_t outer,
                                                    const size_t* inner, int mean, void* stream, void** pending,
                                                    char* err, size_t errLen);
// Waits on the host, polling, until the collective has finished (bounded by the timeout; aborts the
// communicator on a timeout or an NCCL error), then makes `stream` wait for it; frees `pending`.
ALEXNET_NCCL_EXPORT int alexnet_nccl_wait(void* pending, void* stream, char* err, size_t errLen);
}
