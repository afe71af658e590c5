#include "label_errors.hpp"

#include <cstring>

#include "alexnet/error.hpp"
#include "check.hpp"

namespace alexnet::cuda {

LabelErrors::~LabelErrors() {
  if (device_ != nullptr) ignoreStatus(cudaFree(device_));
  if (host_ != nullptr) ignoreStatus(cudaFreeHost(host_));
}

void LabelErrors::create(cudaStream_t stream) {
  void* device = nullptr;
  check(cudaMalloc(&device, sizeof(kernels::LabelErrorRecord)), "cudaMalloc");
  device_ = static_cast<kernels::LabelErrorRecord*>(device);
  // On the kernels' own stream: a plain cudaMemset runs on the legacy default stream, which a
  // non-blocking stream does not wait for, so a first loss kernel could read the record uncleared.
  check(cudaMemsetAsync(device_, 0xFF, sizeof(kernels::LabelErrorRecord), stream), "cudaMemsetAsync");
  void* host = nullptr;
  check(cudaHostAlloc(&host, sizeof(kernels::LabelErrorRecord), cudaHostAllocDefault),
        "cudaHostAlloc");
  host_ = static_cast<kernels::LabelErrorRecord*>(host);
  std::memset(host_, 0xFF, sizeof(kernels::LabelErrorRecord));
}

kernels::LabelCheck LabelErrors::next(kernels::LabelOp op) {
  launches_ = launches_ + 1 == kernels::kNoLaunch ? 0 : launches_ + 1;
  checkedSinceFetch_ = true;
  return kernels::LabelCheck{device_, launches_, op};
}

void LabelErrors::fetch(cudaStream_t stream) {
  if (!checkedSinceFetch_) return;
  check(cudaMemcpyAsync(host_, device_, sizeof(kernels::LabelErrorRecord), cudaMemcpyDeviceToHost,
                        stream),
        "cudaMemcpyAsync");
  checkedSinceFetch_ = false;
  fetched_ = true;
}

void LabelErrors::report(cudaStream_t stream) {
  if (!fetched_) return;
  fetched_ = false;
  if (!kernels::hasLabelError(*host_)) return;
  const kernels::LabelErrorRecord found = *host_;
  std::memset(host_, 0xFF, sizeof(kernels::LabelErrorRecord));
  // Later kernels on the stream see a cleared record; the error is reported once.
  check(cudaMemsetAsync(device_, 0xFF, sizeof(kernels::LabelErrorRecord), stream),
        "cudaMemsetAsync");
  throw Error("INVALID_ARGUMENT", kernels::labelErrorMessage(found), kernels::labelOpName(found.op));
}

}  // namespace alexnet::cuda
