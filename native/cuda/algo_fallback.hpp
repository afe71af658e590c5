// Running a convolution with the first of its ranked algorithms that works. cuDNN's ranking
// (heuristics, or timings of a search) does not promise that an algorithm runs: it may not support
// the geometry after all or fail to build its kernel (then it is dropped from the plan for good),
// or its workspace may not be had right now (then it is skipped this time only). The next one is
// tried, so a plan settles on the first that runs; failures that no other algorithm would avoid
// are thrown by the attempt itself. Free of CUDA types so that it runs in host tests.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "alexnet/error.hpp"

namespace alexnet::cuda {

// What one try gave.
struct Attempt {
  enum Kind { Ran, Skip, Drop } kind;
  std::string failure;
  static Attempt ran() { return {Ran, {}}; }
  // Could not run now (no memory for its workspace): try the next, keep this one for later calls.
  static Attempt skip(std::string why) { return {Skip, std::move(why)}; }
  // Cannot run this geometry: try the next, and never this one again.
  static Attempt drop(std::string why) { return {Drop, std::move(why)}; }
};

// Calls attempt(candidate) in order until one runs. When none does, throws OUT_OF_MEMORY if some
// were only skipped (memory may come back), else CUDNN_ERROR; both name the direction, how many
// algorithms were tried and the last failure.
template <class Candidate, class Try>
void runFirstWorking(std::vector<Candidate>& candidates, const char* direction, const char* call,
                     Try&& attempt) {
  std::string last = "no algorithm left to try";
  size_t tried = 0;
  bool skipped = false;
  for (size_t i = 0; i < candidates.size();) {
    Attempt result = attempt(candidates[i]);
    if (result.kind == Attempt::Ran) return;
    ++tried;
    last = std::move(result.failure);
    if (result.kind == Attempt::Skip) {
      skipped = true;
      ++i;
    } else {
      candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  const std::string message = std::string("no cuDNN convolution ") + direction +
                              " algorithm ran for this geometry (" + std::to_string(tried) +
                              " tried); the last failure: " + last;
  if (skipped)
    throw Error("OUT_OF_MEMORY", message, call,
                "use a smaller batch size or free tensors with dispose()");
  throw Error("CUDNN_ERROR", message, call);
}

}  // namespace alexnet::cuda
