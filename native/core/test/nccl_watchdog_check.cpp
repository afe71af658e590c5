// Checks the NCCL watchdog's decisions (nccl_watchdog.hpp) on the host, without NCCL or a GPU: a
// scripted sequence of looks at a collective, a fake clock that the watchdog's sleeps advance, and
// a counted abort. Run by test/58.distributed.nccl_watchdog.test.ts:
//   c++ -std=c++17 -Wall -Inative native/core/test/nccl_watchdog_check.cpp && ./a.out
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/nccl_watchdog.hpp"
#include "core/test/check_report.hpp"

using namespace alexnet::nccl_watchdog;
using alexnet::check::contains;
using alexnet::check::report;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// A wait driven by `looks` (the last one repeats), on a clock that only the sleeps move.
struct Run {
  Decision decision;
  int aborts = 0;
  size_t lookCount = 0;
  Clock::duration elapsed{};
  std::vector<Clock::duration> sleeps;
};

Run run(double timeout, const std::vector<Look>& looks) {
  Run r;
  const Clock::time_point start{};  // the epoch: any fixed point will do
  Clock::time_point now = start;
  Watchdog dog("NCCL all-reduce", timeout, start);
  r.decision = waitFor(
      dog, [&] { return looks[std::min(r.lookCount++, looks.size() - 1)]; }, [&] { return now; },
      [&](Clock::duration t) {
        r.sleeps.push_back(t);
        now += t;
      },
      [&] { ++r.aborts; });
  r.elapsed = now - start;
  return r;
}

Look pending() { return Look{false, kInProgress, {}}; }
Look running() { return Look{false, kSuccess, {}}; }
Look finished() { return Look{true, kSuccess, {}}; }
Look failed(int result) { return Look{false, result, {}}; }

}  // namespace

int main() {
  {
    Run r = run(3, {finished()});
    report("a finished collective: Finished at the first look, nothing aborted",
           r.decision.verdict == Verdict::Finished && r.aborts == 0 && r.lookCount == 1 && statusOf(r.decision.verdict) == 0);
  }
  {
    Run r = run(3, {pending(), running(), running(), running(), finished()});
    bool doubling = r.sleeps.size() == 4 && r.sleeps[0] == Watchdog::kFirstSleep;
    for (size_t i = 1; doubling && i < r.sleeps.size(); ++i) doubling = r.sleeps[i] == 2 * r.sleeps[i - 1];
    report("in progress, then finished: polls back off by doubling, then Finished",
           r.decision.verdict == Verdict::Finished && r.aborts == 0 && doubling);
  }
  {
    Run r = run(1, {running()});
    bool capped = !r.sleeps.empty();
    for (auto s : r.sleeps) capped = capped && s <= Watchdog::kMaxSleep && s > Clock::duration::zero();
    report("polls never sleep longer than kMaxSleep", capped && r.sleeps.back() <= Watchdog::kMaxSleep);
  }
  {
    Run r = run(3, {running()});
    report("a collective that never finishes: RANK_LOST (AbortLost) exactly at the timeout",
           r.decision.verdict == Verdict::AbortLost && statusOf(r.decision.verdict) == kLostStatus && r.elapsed == seconds(3));
    report("... the communicator is aborted once", r.aborts == 1);
    report("... the message names the collective, the timeout and the setting",
           contains(r.decision.message, "NCCL all-reduce did not finish within 3 s") &&
               contains(r.decision.message, "ALEXNET_DIST_TIMEOUT") && contains(r.decision.message, "aborted"));
  }
  {
    Run r = run(2.5, {pending()});
    report("forming a communicator that a rank never joins (in progress for ever): AbortLost at 2.5 s",
           r.decision.verdict == Verdict::AbortLost && r.elapsed == milliseconds(2500) && r.aborts == 1 &&
               contains(r.decision.message, "within 2.5 s"));
  }
  {
    Run r = run(30, {running(), running(), failed(kRemoteError)});
    report("a peer's failure (ncclRemoteError) mid-wait: AbortLost at once, not at the timeout",
           r.decision.verdict == Verdict::AbortLost && r.aborts == 1 && r.elapsed < seconds(1) &&
               contains(r.decision.message, "a rank is lost") && contains(r.decision.message, "remote error"));
  }
  {
    Run r = run(30, {failed(kSystemError)});
    report("a broken connection (ncclSystemError): AbortLost", r.decision.verdict == Verdict::AbortLost && r.aborts == 1);
  }
  for (int result : std::vector<int>{kInternalError, kInvalidUsage, kInvalidArgument, kUnhandledCudaError, 42}) {
    Run r = run(30, {failed(result)});
    report("a local NCCL failure (" + std::string(resultName(result)) + "): NCCL_ERROR (AbortFailed)",
           r.decision.verdict == Verdict::AbortFailed && statusOf(r.decision.verdict) == kFailedStatus && r.aborts == 1);
  }
  {
    Run r = run(30, {Look{true, kRemoteError, {}}});
    report("an asynchronous error wins over a fired completion event", r.decision.verdict == Verdict::AbortLost && r.aborts == 1);
  }
  {
    Run r = run(30, {Look{true, kInProgress, {}}, finished()});
    report("the event fired while NCCL is still settling: keep waiting, then Finished",
           r.decision.verdict == Verdict::Finished && r.lookCount == 2);
  }
  {
    Run r = run(30, {Look{false, kSuccess, "cudaEventQuery: an illegal memory access was encountered"}});
    report("a CUDA error from the event query: AbortFailed with its message",
           r.decision.verdict == Verdict::AbortFailed && r.aborts == 1 && contains(r.decision.message, "illegal memory access"));
  }
  {
    Run zero = run(0, {running()});
    Run nan = run(std::nan(""), {running()});
    Run negative = run(-1, {finished()});
    report("a timeout of 0 or NaN looks once and gives up; a finished collective still finishes",
           zero.decision.verdict == Verdict::AbortLost && zero.lookCount == 1 && nan.decision.verdict == Verdict::AbortLost &&
               nan.lookCount == 1 && negative.decision.verdict == Verdict::Finished);
  }
  {
    const Clock::time_point start = Clock::now();
    Watchdog dog("NCCL all-gather", 1e300, start);
    report("an enormous timeout does not overflow the deadline", dog.deadline() > start + std::chrono::hours(24 * 365));
  }
  return alexnet::check::finish("all checks passed");
}
