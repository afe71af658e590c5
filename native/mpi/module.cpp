// libalexnet_mpi.so: collectives on host memory over MPI, with a watchdog (see module.hpp).
#include "module.hpp"

#include <dlfcn.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

MPI_Comm arrivals = MPI_COMM_NULL;  // a private duplicate of MPI_COMM_WORLD for the arrival messages
int worldRank = 0, worldSize = 1;
long long sequence = 0;             // collectives started by this rank
bool initialisedHere = false;

int fail(char* err, size_t errLen, const std::string& message, int status = ALEXNET_MPI_ERROR) {
  if (err && errLen > 0) std::snprintf(err, errLen, "%s", message.c_str());
  return status;
}

std::string mpiError(const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(call) + " failed: " + text;
}

// Posts the arrival messages of collective `seq`, then waits for `request` (the collective) and the
// arrivals of every peer; on timeout names the peers whose arrival never came.
int awaitCollective(MPI_Request request, const char* what, double timeoutSeconds, char* err, size_t errLen) {
  const long long seq = ++sequence;
  const int tag = static_cast<int>(seq % 30000);  // within the tag range MPI guarantees (32767)
  std::vector<MPI_Request> requests;
  std::vector<long long> sent(static_cast<size_t>(worldSize), seq), received(static_cast<size_t>(worldSize), -1);
  std::vector<int> peers;
  for (int p = 0; p < worldSize; ++p) {
    if (p == worldRank) continue;
    peers.push_back(p);
    MPI_Request r;
    MPI_Irecv(&received[static_cast<size_t>(p)], 1, MPI_LONG_LONG, p, tag, arrivals, &r);
    requests.push_back(r);
  }
  for (int p : peers) {
    MPI_Request r;
    MPI_Isend(&sent[static_cast<size_t>(p)], 1, MPI_LONG_LONG, p, tag, arrivals, &r);
    requests.push_back(r);
  }
  requests.push_back(request);
  const auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::microseconds(0);
  std::vector<int> doneFlags(requests.size(), 0);
  for (;;) {
    int all = 1;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (doneFlags[i]) continue;
      int flag = 0;
      const int rc = MPI_Test(&requests[i], &flag, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) return fail(err, errLen, mpiError(what, rc));
      doneFlags[i] = flag;
      all &= flag;
    }
    if (all) return 0;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > timeoutSeconds) {
      std::string lost;
      for (size_t i = 0; i < peers.size(); ++i)
        if (!doneFlags[i]) lost += (lost.empty() ? "" : ", ") + std::to_string(peers[i]);
      std::string message = "rank " + std::to_string(worldRank) + ": " + what + " (collective #" +
                            std::to_string(seq) + ") did not complete within " +
                            std::to_string(static_cast<int>(timeoutSeconds)) + " s: ";
      message += lost.empty() ? "every rank reached it but the transfer stalled (a rank died during it?)"
                              : "lost rank " + lost + " (never reached it: killed, stopped or stuck)";
      return fail(err, errLen, message, ALEXNET_MPI_TIMEOUT);
    }
    // Spin briefly (MPI makes progress only inside its calls), then back off to leave the cores to
    // the computation that runs meanwhile.
    if (pause < std::chrono::microseconds(200)) pause += std::chrono::microseconds(10);
    if (waited < 0.001) std::this_thread::yield();
    else std::this_thread::sleep_for(pause);
  }
}

// The int counts and displacements of the v-collectives, one block per rank; false when the
// total does not fit in an int.
bool blockLayout(const size_t* counts, std::vector<int>& sizes, std::vector<int>& offsets) {
  size_t total = 0;
  for (int q = 0; q < worldSize; ++q) {
    const size_t n = counts[q];
    if (n > static_cast<size_t>(INT_MAX) || total > static_cast<size_t>(INT_MAX) - n) return false;
    sizes.push_back(static_cast<int>(n));
    offsets.push_back(static_cast<int>(total));
    total += n;
  }
  return true;
}

// MPI counts are int: a large buffer goes in pieces of at most INT_MAX / 2 elements, one
// collective after the other; an empty buffer still takes part once (every rank must call).
// post(offset, n, &request) starts one piece and returns its MPI status.
template <typename Post>
int inPieces(size_t count, const char* call, const char* what, double timeoutSeconds, char* err, size_t errLen,
             Post post) {
  const size_t piece = INT_MAX / 2;
  size_t done = 0;
  do {
    const int n = static_cast<int>(std::min(piece, count - done));
    MPI_Request request;
    const int rc = post(done, n, &request);
    if (rc != MPI_SUCCESS) return fail(err, errLen, mpiError(call, rc));
    const int status = awaitCollective(request, what, timeoutSeconds, err, errLen);
    if (status != 0) return status;
    done += static_cast<size_t>(n);
  } while (done < count);
  return 0;
}

}  // namespace

extern "C" {

int alexnet_mpi_init(int* rank, int* size, char* err, size_t errLen) {
  // Open MPI loads its components with dlopen and they resolve symbols of libmpi globally: make
  // libmpi's symbols global although this module was loaded privately.
  dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return fail(err, errLen, mpiError("MPI_Init_thread", rc));
    initialisedHere = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
  MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
  // Errors come back as statuses (which become alexnet errors) instead of aborting the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (arrivals == MPI_COMM_NULL) {
    const int rc = MPI_Comm_dup(MPI_COMM_WORLD, &arrivals);
    if (rc != MPI_SUCCESS) return fail(err, errLen, mpiError("MPI_Comm_dup", rc));
    MPI_Comm_set_errhandler(arrivals, MPI_ERRORS_RETURN);
  }
  *rank = worldRank;
  *size = worldSize;
  return 0;
}

int alexnet_mpi_allreduce_sum_f32(float* data, size_t count, double timeoutSeconds, char* err, size_t errLen) {
  return inPieces(count, "MPI_Iallreduce", "all-reduce", timeoutSeconds, err, errLen,
                  [&](size_t offset, int n, MPI_Request* request) {
                    return MPI_Iallreduce(MPI_IN_PLACE, data + offset, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
                  });
}

int alexnet_mpi_allgather_f32(const float* send, float* recv, const size_t* counts, double timeoutSeconds,
                              char* err, size_t errLen) {
  std::vector<int> sizes, offsets;
  if (!blockLayout(counts, sizes, offsets)) return fail(err, errLen, "all-gather of 2^31 floats or more (MPI counts are int)");
  MPI_Request request;
  const int rc = MPI_Iallgatherv(send, sizes[static_cast<size_t>(worldRank)], MPI_FLOAT, recv, sizes.data(), offsets.data(),
                                 MPI_FLOAT, MPI_COMM_WORLD, &request);
  if (rc != MPI_SUCCESS) return fail(err, errLen, mpiError("MPI_Iallgatherv", rc));
  return awaitCollective(request, "all-gather", timeoutSeconds, err, errLen);
}

int alexnet_mpi_reduce_scatter_sum_f32(const float* send, float* recv, const size_t* counts, double timeoutSeconds,
                                       char* err, size_t errLen) {
  std::vector<int> sizes, offsets;
  if (!blockLayout(counts, sizes, offsets)) return fail(err, errLen, "reduce-scatter of 2^31 floats or more (MPI counts are int)");
  MPI_Request request;
  const int rc = MPI_Ireduce_scatter(send, recv, sizes.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &request);
  if (rc != MPI_SUCCESS) return fail(err, errLen, mpiError("MPI_Ireduce_scatter", rc));
  return awaitCollective(request, "reduce-scatter", timeoutSeconds, err, errLen);
}

int alexnet_mpi_broadcast(void* data, size_t bytes, int root, double timeoutSeconds, char* err, size_t errLen) {
  return inPieces(bytes, "MPI_Ibcast", "broadcast", timeoutSeconds, err, errLen,
                  [&](size_t offset, int n, MPI_Request* request) {
                    return MPI_Ibcast(static_cast<char*>(data) + offset, n, MPI_BYTE, root, MPI_COMM_WORLD, request);
                  });
}

int alexnet_mpi_barrier(double timeoutSeconds, char* err, size_t errLen) {
  MPI_Request request;
  const int rc = MPI_Ibarrier(MPI_COMM_WORLD, &request);
  if (rc != MPI_SUCCESS) return fail(err, errLen, mpiError("MPI_Ibarrier", rc));
  return awaitCollective(request, "barrier", timeoutSeconds, err, errLen);
}

int alexnet_mpi_finalize(char* err, size_t errLen) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized || !initialisedHere) return 0;
  if (arrivals != MPI_COMM_NULL) MPI_Comm_free(&arrivals);
  const int rc = MPI_Finalize();
  return rc == MPI_SUCCESS ? 0 : fail(err, errLen, mpiError("MPI_Finalize", rc));
}

void alexnet_mpi_abort(int status) { MPI_Abort(MPI_COMM_WORLD, status); }

int alexnet_mpi_version(char* out, size_t outLen) {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string line(text, static_cast<size_t>(std::max(length, 0)));
  line = line.substr(0, line.find_first_of("\r\n,"));
  std::snprintf(out, outLen, "%s", line.c_str());
  return 0;
}

}  // extern "C"
