// The C entry points of libalexnet_mpi.so, the MPI transport module (it links libmpi). The core
// dlopens it only when a process group of more than one rank is formed, so the addon loads where
// MPI is not installed. Take function types from here with decltype when calling dlsym.
//
// Every function returns 0 on success, or a negative status with a message (NUL-terminated,
// truncated to errLen) in err; none throws. All are called from one thread at a time (the process
// group's communication thread), so MPI is initialised with MPI_THREAD_SERIALIZED.
//
// Watchdog: a collective that has not completed after `timeoutSeconds` returns
// ALEXNET_MPI_TIMEOUT, naming in err the ranks that never reached it. Every collective first tells
// each peer "I reached collective number k" with a small non-blocking message on a private
// communicator; the ranks whose message for k has not arrived are the lost ones (killed, stopped,
// or stuck elsewhere). MPI itself has no timeouts: without this a stopped peer hangs everyone.
#pragma once

#include <cstddef>
#include <cstdint>

#define ALEXNET_MPI_EXPORT __attribute__((visibility("default")))

#define ALEXNET_MPI_ERROR (-1)
#define ALEXNET_MPI_TIMEOUT (-2)

extern "C" {

// MPI_Init_thread (unless MPI is initialised already); rank and size of MPI_COMM_WORLD.
ALEXNET_MPI_EXPORT int alexnet_mpi_init(int* rank, int* size, char* err, size_t errLen);
// In place: data[i] <- the sum over the ranks of data[i].
ALEXNET_MPI_EXPORT int alexnet_mpi_allreduce_sum_f32(float* data, size_t count, double timeoutSeconds,
                                                     char* err, size_t errLen);
// recv <- every rank's send concatenated in rank order, counts[q] floats from rank q (counts has
// one entry per rank; this rank sends counts[rank]). The total must be below 2^31 floats.
ALEXNET_MPI_EXPORT int alexnet_mpi_allgather_f32(const float* send, float* recv, const size_t* counts,
                                                 double timeoutSeconds, char* err, size_t errLen);
// send holds one block per rank in rank order (counts[q] floats); recv <- the sum over the ranks of
// their block `rank` (counts[rank] floats). The total must be below 2^31 floats.
ALEXNET_MPI_EXPORT int alexnet_mpi_reduce_scatter_sum_f32(const float* send, float* recv, const size_t* counts,
                                                          double timeoutSeconds, char* err, size_t errLen);
ALEXNET_MPI_EXPORT int alexnet_mpi_broadcast(void* data, size_t bytes, int root, double timeoutSeconds,
                                             char* err, size_t errLen);
ALEXNET_MPI_EXPORT int alexnet_mpi_barrier(double timeoutSeconds, char* err, size_t errLen);
// MPI_Finalize; never after a timeout (the lost peer would never join it): abort instead.
ALEXNET_MPI_EXPORT int alexnet_mpi_finalize(char* err, size_t errLen);
// MPI_Abort(MPI_COMM_WORLD, status): the launcher ends every rank. Does not return on success.
ALEXNET_MPI_EXPORT void alexnet_mpi_abort(int status);
// "Open MPI v4.1.4, ..." (MPI_Get_library_version), for `alexnet info`.
ALEXNET_MPI_EXPORT int alexnet_mpi_version(char* out, size_t outLen);
}
