// A parallel loop over image indices for the one-off passes (statistics, cache building).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace alexnet::data {

// Calls body(i, worker) for every i in [0, n) on `workers` threads (worker in [0, workers)).
// After the first exception no new indices start; the exception of the smallest failing index
// seen is rethrown once all threads have stopped.
template <typename Body>
void parallelFor(int64_t n, int workers, Body&& body) {
  workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(workers, n)));
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
  for (int w = 1; w < workers; ++w) threads.emplace_back(run, w);
  run(0);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace alexnet::data
