// A parallel loop over image indices for the one-off passes (statistics, cache building).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "alexnet/data/errors.hpp"

namespace alexnet::data {

// The most threads one loader, statistics pass or cache build may use (lib/data checks it too).
constexpr int kMaxWorkers = 256;

// A thread running `body`, or RESOURCE_EXHAUSTED when the system refuses one (a process or
// memory limit): std::thread's own std::system_error says nothing of what to do about it.
template <typename Body>
std::thread startThread(Body&& body, const char* what, int index, int total) {
  try {
    return std::thread(std::forward<Body>(body));
  } catch (const std::system_error& e) {
    throw Error("RESOURCE_EXHAUSTED",
                std::string("cannot start ") + what + " thread " + std::to_string(index + 1) + " of " +
                    std::to_string(total) + ": " + e.what(),
                "pthread_create", "use fewer workers, or raise the limit on threads or memory (ulimit -u, ulimit -v)");
  }
}

// Calls body(i, worker) for every i in [0, n) on `workers` threads (worker in [0, workers),
// at most kMaxWorkers). After the first exception no new indices start; the exception of the
// smallest failing index seen is rethrown once all threads have stopped. If a thread cannot be
// started, the ones that were are stopped and joined, and RESOURCE_EXHAUSTED is thrown.
template <typename Body>
void parallelFor(int64_t n, int workers, Body&& body) {
  workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({int64_t(workers), n, int64_t(kMaxWorkers)})));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex m;
  int64_t errorIndex = n;
  std::exception_ptr error;
  auto run = [&](int worker) {
    for (int64_t i; !failed.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < n;) {
      try {
        body(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (i < errorIndex) {
          errorIndex = i;
          error = std::current_exception();
        }
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers));
  std::exception_ptr startError;
  try {
    for (int w = 1; w < workers; ++w) threads.push_back(startThread([&run, w] { run(w); }, "worker", w, workers));
  } catch (...) {
    startError = std::current_exception();
    failed = true;  // the threads already started finish their current index and return
  }
  if (!startError) run(0);
  for (auto& t : threads) t.join();
  if (startError) std::rethrow_exception(startError);
  if (error) std::rethrow_exception(error);
}

}  // namespace alexnet::data
