// The C entry points of libalexnet_mpi.so, the MPI transport module (it links libmpi). The core
// dlopens it only when a process group of more than one rank is formed, so the addon loads where
// MPI is not installed. Take function types from here with decltype when calling dlsym.
//
// Every function returns 0 on success, or a negative status with a message (NUL-terminated,
// truncated to errLen) in err; none throws. All are called from one thread at a time (the process
// group's communication thread), so MPI is initialised with MPI_THREAD_SERIALIZED.
//
// Watchdog: a collective that has not completed after `timeoutSeconds` returns
// ALEXNET_MPI_TIMEOUT, naming in err the lost ranks. Every collective first tells each peer "I
// reached collective number k" with a small non-blocking message on a private communicator; the
// ranks whose message for k has not arrived are the lost ones (killed, stopped, or stuck
// elsewhere). When every message came, a rank stopped or died during the transfer: the watchdog then
// holds a roll call (alexnet_mpi_roll_call, for min(timeout, 10 s)) and names the ranks that do not
// answer; the other survivors, stuck in the same transfer, time out at about the same moment and
// answer. MPI itself has no timeouts: without this a stopped peer hangs everyone.
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
// A roll call: sends each peer a small message (on the private communicator, with tags of its own)
// and waits up to `seconds` for theirs; missing[0..min(*count, capacity)) <- the peers whose
// message did not come, *count <- how many. The n-th roll call of each rank answers the n-th of the
// others: every rank that wants to know calls it, and a rank that does not call it is named. What
// never completed is cancelled (receives) or left to complete by itself (sends).
ALEXNET_MPI_EXPORT int alexnet_mpi_roll_call(double seconds, int* missing, size_t capacity, size_t* count, char* err,
                                             size_t errLen);
// MPI_Finalize; never after a timeout (the lost peer would never join it): abort instead.
ALEXNET_MPI_EXPORT int alexnet_mpi_finalize(char* err, size_t errLen);
// MPI_Abort(MPI_COMM_WORLD, status): the launcher ends every rank. Does not return on success.
ALEXNET_MPI_EXPORT void alexnet_mpi_abort(int status);
// "Open MPI v4.1.4, ..." (MPI_Get_library_version), for `alexnet info`.
ALEXNET_MPI_EXPORT int alexnet_mpi_version(char* out, size_t outLen);
}
