// libalexnet_mpi.so: collectives on host memory over MPI, with a watchdog (see module.hpp).
#include "module.hpp"

#include "../core/lost_ranks.hpp"

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

namespace lost_ranks = alexnet::lost_ranks;

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

// Spins briefly between looks (MPI makes progress only inside its calls), then backs off to leave
// the cores to the computation that runs meanwhile.
class Backoff {
 public:
  void operator()(double waitedSeconds) {
    if (pause_ < std::chrono::microseconds(200)) pause_ += std::chrono::microseconds(10);
    if (waitedSeconds < 0.001) std::this_thread::yield();
    else std::this_thread::sleep_for(pause_);
  }

 private:
  std::chrono::microseconds pause_{0};
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Gives up on the requests not done: a receive is cancelled (and waited for, so that its buffer is
// free again), a send is freed (MPI completes it in the background). False when a cancelled
// receive did not settle within a second: its buffer must then never be freed.
bool abandon(std::vector<MPI_Request>& requests, const std::vector<int>& done, const std::vector<bool>& isReceive) {
  bool settled = true;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (done[i] || requests[i] == MPI_REQUEST_NULL) continue;
    if (!isReceive[i]) {
      MPI_Request_free(&requests[i]);
      continue;
    }
    MPI_Cancel(&requests[i]);
    const auto start = std::chrono::steady_clock::now();
    Backoff backoff;
    int flag = 0;
    while (MPI_Test(&requests[i], &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && !flag && secondsSince(start) < 1.0)
      backoff(secondsSince(start));
    if (!flag) {
      MPI_Request_free(&requests[i]);
      settled = false;
    }
  }
  return settled;
}

// Roll calls. The n-th roll call of every rank answers the n-th of the others: its tag is
// kRollCallFirstTag + n mod kRollCallTags, above the arrival tags (seq mod 30000) and within the
// 32767 MPI guarantees. A rank holds one only after a collective failed, and the job ends after such
// a failure, so the counts stay in step.
constexpr int kRollCallFirstTag = 30000;
constexpr int kRollCallTags = 2767;
long long rollCalls = 0;
// What a rank sends: MPI may read it after the roll call gave up on the send, so it lives as long
// as the process.
int rollCallAnswer = 0;

// Sends each peer this rank's answer and, when `wait`, waits up to `seconds` for theirs; `missing`
// <- the peers whose answer did not come. Without `wait` it only answers (a rank that named its lost
// peers otherwise still answers the survivors stuck in another collective).
int holdRollCall(double seconds, bool wait, std::vector<int>& missing, char* err, size_t errLen) {
  missing.clear();
  const int tag = kRollCallFirstTag + static_cast<int>(rollCalls++ % kRollCallTags);
  rollCallAnswer = worldRank;
  std::vector<int> peers;
  for (int p = 0; p < worldSize; ++p)
    if (p != worldRank) peers.push_back(p);
  // The answers land here; freed unless a cancelled receive never settled (then MPI may still write).
  auto* inbox = new int[peers.size() + 1];
  std::vector<MPI_Request> requests;
  std::vector<bool> isReceive;
  int failed = MPI_SUCCESS;
  for (size_t i = 0; i < peers.size() && wait && failed == MPI_SUCCESS; ++i) {
    MPI_Request r = MPI_REQUEST_NULL;
    failed = MPI_Irecv(&inbox[i], 1, MPI_INT, peers[i], tag, arrivals, &r);
    requests.push_back(r);
    isReceive.push_back(true);
  }
  std::vector<int> done(requests.size(), 0);
  if (failed != MPI_SUCCESS) {
    if (abandon(requests, done, isReceive)) delete[] inbox;
    return fail(err, errLen, mpiError("MPI_Irecv (roll call)", failed));
  }
  // An answer that cannot be sent (a peer that died and whose connection failed) does not stop the
  // others: that peer does not answer either.
  for (int p : peers) {
    MPI_Request r = MPI_REQUEST_NULL;
    const bool sent = MPI_Isend(&rollCallAnswer, 1, MPI_INT, p, tag, arrivals, &r) == MPI_SUCCESS;
    requests.push_back(sent ? r : MPI_REQUEST_NULL);
    isReceive.push_back(false);
    done.push_back(sent ? 0 : 1);
  }
  // A request whose test failed is left to MPI (it may still hold the inbox, which is then kept).
  bool keepInbox = false;
  const auto start = std::chrono::steady_clock::now();
  Backoff backoff;
  for (;;) {
    bool received = true;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (done[i] || requests[i] == MPI_REQUEST_NULL) continue;
      if (MPI_Test(&requests[i], &done[i], MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        done[i] = 0;
        requests[i] = MPI_REQUEST_NULL;
        keepInbox = true;
      }
      if (isReceive[i] && !done[i]) received = false;
    }
    const double waited = secondsSince(start);
    if (received || waited >= seconds) break;
    backoff(waited);
  }
  for (size_t i = 0; i < peers.size() && wait; ++i)
    if (!done[i]) missing.push_back(peers[i]);
  if (abandon(requests, done, isReceive) && !keepInbox) delete[] inbox;
  return 0;
}

// Posts the arrival messages of the next collective, then the collective itself (post(&request)
// returns its MPI status; `call` names it), and waits for it and the arrivals of every peer. The
// arrivals go first: a rank that stops while the collective is being set up (MPI may copy a large
// buffer then) has announced it. On timeout names the peers whose arrival never came, or, when every
// arrival came, the peers that do not answer a roll call.
template <typename Post>
int runCollective(const char* call, const char* what, double timeoutSeconds, char* err, size_t errLen, Post post) {
  const long long seq = ++sequence;
  const int tag = static_cast<int>(seq % 30000);  // below the roll-call tags
  std::vector<MPI_Request> requests;
  std::vector<bool> isReceive;
  // The arrival messages' buffers: kept (leaked) after a timeout whose receives did not settle.
  auto* mail = new std::vector<long long>(2 * static_cast<size_t>(worldSize), -1);
  std::vector<int> peers;
  for (int p = 0; p < worldSize; ++p) {
    if (p == worldRank) continue;
    peers.push_back(p);
    MPI_Request r;
    MPI_Irecv(&(*mail)[static_cast<size_t>(p)], 1, MPI_LONG_LONG, p, tag, arrivals, &r);
    requests.push_back(r);
    isReceive.push_back(true);
  }
  for (int p : peers) {
    long long& sent = (*mail)[static_cast<size_t>(worldSize + p)];
    sent = seq;
    MPI_Request r;
    MPI_Isend(&sent, 1, MPI_LONG_LONG, p, tag, arrivals, &r);
    requests.push_back(r);
    isReceive.push_back(false);
  }
  MPI_Request request = MPI_REQUEST_NULL;
  if (const int rc = post(&request); rc != MPI_SUCCESS) {
    std::vector<int> none(requests.size(), 0);
    if (abandon(requests, none, isReceive)) delete mail;
    return fail(err, errLen, mpiError(call, rc));
  }
  requests.push_back(request);
  isReceive.push_back(false);
  const auto start = std::chrono::steady_clock::now();
  Backoff backoff;
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
    if (all) {
      delete mail;
      return 0;
    }
    const double waited = secondsSince(start);
    if (waited > timeoutSeconds) {
      std::vector<int> lost;
      for (size_t i = 0; i < peers.size(); ++i)
        if (!doneFlags[i]) lost.push_back(peers[i]);
      std::string message = "rank " + std::to_string(worldRank) + ": " + what + " (collective #" +
                            std::to_string(seq) + ") did not complete within " +
                            std::to_string(static_cast<int>(timeoutSeconds)) + " s: ";
      std::vector<int> silent;
      char rollCallErr[512] = {0};
      if (!lost.empty()) {
        holdRollCall(0, false, silent, rollCallErr, sizeof rollCallErr);
        message += lost_ranks::neverReached(lost);
      } else {
        // Every rank reached the collective: the survivors are stuck in the same transfer, time
        // out at about the same moment and answer each other's roll call; the rank that stopped
        // (or died) during the transfer does not.
        const double window = lost_ranks::rollCallSeconds(timeoutSeconds);
        if (holdRollCall(window, true, silent, rollCallErr, sizeof rollCallErr) != 0)
          message += std::string("every rank reached it but the transfer stalled; the roll call after it failed: ") +
                     rollCallErr;
        else
          message += lost_ranks::stalledTransfer(silent, window);
      }
      // The collective itself cannot be cancelled; the arrivals can. The job ends after this.
      requests.pop_back();
      doneFlags.pop_back();
      isReceive.pop_back();
      if (abandon(requests, doneFlags, isReceive)) delete mail;
      return fail(err, errLen, message, ALEXNET_MPI_TIMEOUT);
    }
    backoff(waited);
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
    const int status = runCollective(call, what, timeoutSeconds, err, errLen,
                                     [&](MPI_Request* request) { return post(done, n, request); });
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
  return runCollective("MPI_Iallgatherv", "all-gather", timeoutSeconds, err, errLen, [&](MPI_Request* request) {
    return MPI_Iallgatherv(send, sizes[static_cast<size_t>(worldRank)], MPI_FLOAT, recv, sizes.data(), offsets.data(),
                           MPI_FLOAT, MPI_COMM_WORLD, request);
  });
}

int alexnet_mpi_reduce_scatter_sum_f32(const float* send, float* recv, const size_t* counts, double timeoutSeconds,
                                       char* err, size_t errLen) {
  std::vector<int> sizes, offsets;
  if (!blockLayout(counts, sizes, offsets)) return fail(err, errLen, "reduce-scatter of 2^31 floats or more (MPI counts are int)");
  return runCollective("MPI_Ireduce_scatter", "reduce-scatter", timeoutSeconds, err, errLen, [&](MPI_Request* request) {
    return MPI_Ireduce_scatter(send, recv, sizes.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
  });
}

int alexnet_mpi_broadcast(void* data, size_t bytes, int root, double timeoutSeconds, char* err, size_t errLen) {
  return inPieces(bytes, "MPI_Ibcast", "broadcast", timeoutSeconds, err, errLen,
                  [&](size_t offset, int n, MPI_Request* request) {
                    return MPI_Ibcast(static_cast<char*>(data) + offset, n, MPI_BYTE, root, MPI_COMM_WORLD, request);
                  });
}

int alexnet_mpi_barrier(double timeoutSeconds, char* err, size_t errLen) {
  return runCollective("MPI_Ibarrier", "barrier", timeoutSeconds, err, errLen,
                       [](MPI_Request* request) { return MPI_Ibarrier(MPI_COMM_WORLD, request); });
}

int alexnet_mpi_roll_call(double seconds, int* missing, size_t capacity, size_t* count, char* err, size_t errLen) {
  if (count) *count = 0;
  if (!(seconds >= 0) || seconds > 1e7)
    return fail(err, errLen, "roll call: seconds must be in [0, 1e7], got " + std::to_string(seconds));
  if (arrivals == MPI_COMM_NULL) return fail(err, errLen, "roll call before alexnet_mpi_init");
  std::vector<int> silent;
  if (int status = holdRollCall(seconds, true, silent, err, errLen)) return status;
  for (size_t i = 0; i < silent.size() && i < capacity; ++i) missing[i] = silent[i];
  if (count) *count = silent.size();
  return 0;
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
