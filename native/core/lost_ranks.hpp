// How a collective that timed out names the rank it lost, in the cases where the collective itself
// cannot: a roll call. MPI's watchdog knows which ranks never reached a collective (their arrival
// message is missing), but when every rank reached it and the transfer stalled, or when NCCL gave
// up (NCCL never says which peer it waits for), the survivors ask each other "still there?" over
// MPI and name the ranks that do not answer. This header holds the decisions and the messages, apart
// from MPI and NCCL, so that they are checked on any host (native/core/test/lost_ranks_check.cpp,
// run by npm test); the MPI module and the process group include it. Only the standard library.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace alexnet::lost_ranks {

// How long a roll call waits for the peers' answers. The survivors of a stalled collective are
// stuck in the same transfer and time out at about the same moment (within the time one took to
// reach it after the other), so each answers the others' roll call while holding its own; the
// group's timeout bounds that skew, and 10 s keeps a long timeout from doubling the time to the
// error. A timeout that is not positive (or NaN) gets no window at all: the answers already there.
inline double rollCallSeconds(double timeoutSeconds) {
  if (!(timeoutSeconds > 0)) return 0;
  return std::min(timeoutSeconds, 10.0);
}

// "rank 1" or "ranks 1, 3".
inline std::string rankList(const std::vector<int>& ranks) {
  std::string out = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) out += (i ? ", " : "") + std::to_string(ranks[i]);
  return out;
}

// The end of MPI's timeout message for ranks whose arrival never came.
inline std::string neverReached(const std::vector<int>& missing) {
  return "lost " + rankList(missing) + " (never reached it: killed, stopped or stuck)";
}

// The end of MPI's timeout message when every rank reached the collective: the ranks that did not
// answer the roll call held after it (`missing`) are the lost ones.
inline std::string stalledTransfer(const std::vector<int>& missing, double rollCallWindow) {
  if (!missing.empty())
    return "lost " + rankList(missing) +
           " (reached it, then stopped answering: killed, stopped or stuck during the transfer)";
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", rollCallWindow);
  return std::string("every rank reached it and answered a roll call within ") + seconds +
         " s, yet the transfer stalled (a fault in MPI or the network, or a rank too slow)";
}

// What the roll call after an NCCL failure gave the process group.
struct RollCallOutcome {
  enum class Kind {
    Held,         // held: `missing` are the ranks that did not answer (possibly none)
    MpiLost,      // the communication thread had failed already: `detail` is its RANK_LOST message
    NotAnswered,  // the communication thread did not take it in time (busy with an earlier transfer)
    Failed,       // MPI failed during it: `detail` says how
  };
  Kind kind = Kind::Held;
  std::vector<int> missing;
  std::string detail;
};

// RANK_LOST's message after an NCCL collective gave up: NCCL's own text, then who is lost as far as
// the roll call over MPI could tell.
inline std::string ncclLost(const std::string& ncclText, const RollCallOutcome& outcome, double rollCallWindow) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", rollCallWindow);
  using Kind = RollCallOutcome::Kind;
  switch (outcome.kind) {
    case Kind::Held:
      if (!outcome.missing.empty())
        return ncclText + "; lost " + rankList(outcome.missing) + " (did not answer a roll call over MPI within " +
               seconds + " s: killed, stopped or stuck)";
      return ncclText + "; every rank answered a roll call over MPI within " + seconds +
             " s (the NCCL transfer itself stalled: a fault in NCCL or the network?)";
    case Kind::MpiLost:
      return ncclText + "; over MPI: " + outcome.detail;
    case Kind::NotAnswered:
      return ncclText + "; no roll call over MPI could name the rank: " + outcome.detail;
    case Kind::Failed:
      return ncclText + "; the roll call over MPI failed: " + outcome.detail;
  }
  return ncclText;
}

}  // namespace alexnet::lost_ranks
