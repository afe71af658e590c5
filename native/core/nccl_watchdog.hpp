// The watchdog of NCCL collectives: what to do after each look at a communicator and its work in
// flight. NCCL blocks for ever on a rank that died or hangs (its kernels spin on the GPU waiting for
// the peer), so the transport module uses non-blocking communicators and, instead of waiting on
// the GPU, polls: the collective's completion event and ncclCommGetAsyncError, until it finished,
// NCCL reported an error, or the group's timeout (ALEXNET_DIST_TIMEOUT) passed. On an error or a
// timeout the communicator is aborted (ncclCommAbort ends its kernels) and the caller raises what
// MPI raises for a lost rank: RANK_LOST, or NCCL_ERROR for a failure that is not a peer's. NCCL does
// not say which rank it waits for, so the message names none; the process group then names the
// lost ranks by a roll call over MPI (lost_ranks.hpp, ProcessGroup::namingLostRanks).
//
// The decisions live here, apart from NCCL and CUDA, so that they are checked on any host
// (native/core/test/nccl_watchdog_check.cpp, run by npm test); the module supplies the looks, the
// clock, the sleep and the abort. Only the standard library: the module compiles it too.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace alexnet::nccl_watchdog {

// ncclResult_t as nccl.h numbers it (the module static_asserts that they agree).
enum NcclResult : int {
  kSuccess = 0,
  kUnhandledCudaError = 1,
  kSystemError = 2,
  kInternalError = 3,
  kInvalidArgument = 4,
  kInvalidUsage = 5,
  kRemoteError = 6,
  kInProgress = 7,
};

// What the module's entry points return besides 0: a failure (NCCL_ERROR), or a rank that is lost
// or hung (RANK_LOST); the message is in their err buffer either way.
constexpr int kFailedStatus = -1;
constexpr int kLostStatus = -2;

using Clock = std::chrono::steady_clock;

// One look at what is being waited for.
struct Look {
  // The work is done (the completion event has fired; for a step that only needs NCCL to settle,
  // such as creating the communicator, the async state being kSuccess).
  bool finished = false;
  // ncclCommGetAsyncError: kSuccess, kInProgress (non-blocking work still under way) or an error.
  int asyncState = kSuccess;
  // An error outside NCCL (a CUDA error from the event query), or empty.
  std::string otherError;
};

enum class Verdict {
  Finished,     // done: nothing to abort
  KeepWaiting,  // look again after `sleep`
  AbortLost,    // abort the communicator; raise RANK_LOST (timeout, or a peer's failure)
  AbortFailed,  // abort the communicator; raise NCCL_ERROR (a local failure)
};

struct Decision {
  Verdict verdict = Verdict::KeepWaiting;
  Clock::duration sleep{};
  // For the abort verdicts: the error's message.
  std::string message;
};

// An error NCCL reports when a peer went away (a closed connection, a remote process that exited):
// a lost rank, as MPI would report it. Other errors are this process's own.
inline bool peerFailure(int result) { return result == kRemoteError || result == kSystemError; }

inline const char* resultName(int result) {
  switch (result) {
    case kSuccess: return "success";
    case kUnhandledCudaError: return "unhandled CUDA error";
    case kSystemError: return "system error (a connection to a peer failed)";
    case kInternalError: return "internal error";
    case kInvalidArgument: return "invalid argument";
    case kInvalidUsage: return "invalid usage";
    case kRemoteError: return "remote error (a peer failed or exited)";
    case kInProgress: return "in progress";
    default: return "unknown result";
  }
}

class Watchdog {
 public:
  // `what`: the collective, as messages name it ("NCCL all-reduce"). A timeout that is not positive
  // (or NaN) waits at most one look.
  Watchdog(std::string what, double timeoutSeconds, Clock::time_point start)
      : what_(std::move(what)), timeoutSeconds_(timeoutSeconds), deadline_(start + budget(timeoutSeconds)) {}

  // What to do after `look`, taken at `now`. Polls start every kFirstSleep and back off by doubling
  // to kMaxSleep (a small collective is seen at once; a long wait costs little CPU), and never sleep
  // past the deadline. An error wins over "finished": NCCL's async error means the result cannot be
  // trusted even when the event fired.
  Decision observe(const Look& look, Clock::time_point now) {
    Decision d;
    if (!look.otherError.empty()) {
      d.verdict = Verdict::AbortFailed;
      d.message = what_ + " failed: " + look.otherError;
      return d;
    }
    if (look.asyncState != kSuccess && look.asyncState != kInProgress) {
      const bool lost = peerFailure(look.asyncState);
      d.verdict = lost ? Verdict::AbortLost : Verdict::AbortFailed;
      d.message = what_ + " failed: NCCL " + resultName(look.asyncState) +
                  (lost ? ": a rank is lost; the communicator was aborted" : "; the communicator was aborted");
      return d;
    }
    if (look.finished && look.asyncState == kSuccess) {
      d.verdict = Verdict::Finished;
      return d;
    }
    if (now >= deadline_) {
      d.verdict = Verdict::AbortLost;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", timeoutSeconds_);
      d.message = what_ + " did not finish within " + seconds +
                  " s (ALEXNET_DIST_TIMEOUT): a rank is lost or hung (NCCL does not say which); the communicator "
                  "was aborted";
      return d;
    }
    d.sleep = std::min<Clock::duration>(next_, deadline_ - now);
    next_ = std::min<Clock::duration>(next_ * 2, kMaxSleep);
    return d;
  }

  Clock::time_point deadline() const { return deadline_; }

  static constexpr Clock::duration kFirstSleep = std::chrono::microseconds(20);
  static constexpr Clock::duration kMaxSleep = std::chrono::milliseconds(2);

 private:
  static Clock::duration budget(double seconds) {
    if (!(seconds > 0)) return Clock::duration::zero();
    // Beyond a century is for ever; keep the arithmetic from overflowing.
    const double capped = std::min(seconds, 3.0e9);
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(capped));
  }

  std::string what_;
  double timeoutSeconds_;
  Clock::time_point deadline_;
  Clock::duration next_ = kFirstSleep;
};

// The status an entry point returns for a verdict that ends the wait.
inline int statusOf(Verdict v) {
  return v == Verdict::Finished ? 0 : v == Verdict::AbortLost ? kLostStatus : kFailedStatus;
}

// Looks until the verdict is not KeepWaiting; on an abort verdict calls abort() once. Returns the
// final decision. `look()` -> Look, `now()` -> Clock::time_point, `sleep(duration)`, `abort()`.
template <class LookFn, class NowFn, class SleepFn, class AbortFn>
Decision waitFor(Watchdog& dog, LookFn look, NowFn now, SleepFn sleep, AbortFn abort) {
  for (;;) {
    Decision d = dog.observe(look(), now());
    if (d.verdict == Verdict::KeepWaiting) {
      sleep(d.sleep);
      continue;
    }
    if (d.verdict != Verdict::Finished) abort();
    return d;
  }
}

}  // namespace alexnet::nccl_watchdog
