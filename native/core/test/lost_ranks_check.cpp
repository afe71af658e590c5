// Checks how a roll call names the lost ranks (native/core/lost_ranks.hpp) on the host, without
// MPI, NCCL or a GPU: the roll call's window, and the messages of a stalled MPI transfer and of an
// NCCL collective that gave up, for every outcome of the roll call. Run by
// test/59.distributed.roll_call.test.ts:
//   c++ -std=c++17 -Wall -Inative native/core/test/lost_ranks_check.cpp && ./a.out
#include <cmath>
#include <cstdio>
#include <string>

#include "core/lost_ranks.hpp"
#include "core/test/check_report.hpp"

using namespace alexnet::lost_ranks;
using alexnet::check::contains;
using alexnet::check::report;

namespace {

const std::string kNccl =
    "NCCL all-reduce did not finish within 30 s (ALEXNET_DIST_TIMEOUT): a rank is lost or hung (NCCL does not say "
    "which); the communicator was aborted";

}  // namespace

int main() {
  report("the window is the timeout up to 10 s", rollCallSeconds(3) == 3 && rollCallSeconds(30) == 10 && rollCallSeconds(10) == 10);
  report("no window for a timeout of 0, a negative one or NaN",
         rollCallSeconds(0) == 0 && rollCallSeconds(-1) == 0 && rollCallSeconds(std::nan("")) == 0);
  report("one rank, or several in a list", rankList({1}) == "rank 1" && rankList({1, 3}) == "ranks 1, 3");
  report("ranks that never reached the collective",
         neverReached({2}) == "lost rank 2 (never reached it: killed, stopped or stuck)");
  {
    const std::string m = stalledTransfer({1}, 3);
    report("a stalled transfer names the rank that did not answer the roll call",
           contains(m, "lost rank 1 (reached it, then stopped answering") && contains(m, "during the transfer"));
    report("several silent ranks are all named", contains(stalledTransfer({1, 2}, 3), "lost ranks 1, 2 (reached it"));
    const std::string all = stalledTransfer({}, 2.5);
    report("every rank answered: says so, names no one, gives the window",
           contains(all, "every rank reached it and answered a roll call within 2.5 s") && !contains(all, "lost rank"));
  }
  using Kind = RollCallOutcome::Kind;
  {
    RollCallOutcome o;
    o.missing = {1};
    const std::string m = ncclLost(kNccl, o, 10);
    report("NCCL: NCCL's own text first, then the rank the roll call names",
           m.rfind(kNccl, 0) == 0 && contains(m, "; lost rank 1 (did not answer a roll call over MPI within 10 s"));
  }
  {
    const std::string m = ncclLost(kNccl, RollCallOutcome{}, 10);
    report("NCCL: every rank answered: NCCL's text, no rank named",
           m.rfind(kNccl, 0) == 0 && contains(m, "every rank answered a roll call over MPI within 10 s") &&
               !contains(m, "lost rank"));
  }
  {
    RollCallOutcome o{Kind::MpiLost, {}, "rank 0: barrier (collective #4) did not complete within 30 s: lost rank 1 (never reached it: killed, stopped or stuck)"};
    const std::string m = ncclLost(kNccl, o, 10);
    report("NCCL: the communication thread's own RANK_LOST is used as it is",
           m.rfind(kNccl, 0) == 0 && contains(m, "; over MPI: rank 0: barrier (collective #4)") && contains(m, "lost rank 1"));
  }
  {
    RollCallOutcome o{Kind::NotAnswered, {}, "the communication thread did not take it within 15 s"};
    const std::string m = ncclLost(kNccl, o, 10);
    report("NCCL: no roll call in time: says why, names no one",
           m.rfind(kNccl, 0) == 0 && contains(m, "no roll call over MPI could name the rank: the communication thread") &&
               !contains(m, "lost rank"));
  }
  {
    RollCallOutcome o{Kind::Failed, {}, "MPI_Irecv failed"};
    const std::string m = ncclLost(kNccl, o, 10);
    report("NCCL: a failed roll call: says how", m.rfind(kNccl, 0) == 0 && contains(m, "the roll call over MPI failed: MPI_Irecv failed"));
  }
  return alexnet::check::finish("all checks passed");
}
