// The backend's side of kernels/label_check.hpp: the device record that kernels write bad labels
// to, its page-locked host copy, and the error they become. Used from the stream's thread only.
#pragma once

#include <cuda_runtime.h>

#include "kernels/label_check.hpp"

namespace alexnet::cuda {

class LabelErrors {
 public:
  LabelErrors() = default;
  LabelErrors(const LabelErrors&) = delete;
  LabelErrors& operator=(const LabelErrors&) = delete;
  ~LabelErrors();

  // Allocates the record on the current device and its host copy; the record is cleared on
  // `stream`, the stream of the kernels that write it.
  void create(cudaStream_t stream);
  // For a kernel about to check labels: the record and a fresh launch number.
  kernels::LabelCheck next(kernels::LabelOp op);
  // Call before synchronising `stream`: queues the record's copy to the host if a kernel has
  // checked labels since the last fetch.
  void fetch(cudaStream_t stream);
  // Call after the synchronisation: if the fetched record holds an error, clears the record
  // (queued on `stream`) and throws it as INVALID_ARGUMENT.
  void report(cudaStream_t stream);

 private:
  kernels::LabelErrorRecord* device_ = nullptr;
  kernels::LabelErrorRecord* host_ = nullptr;  // page-locked
  unsigned int launches_ = 0;
  bool checkedSinceFetch_ = false;
  bool fetched_ = false;
};

}  // namespace alexnet::cuda
