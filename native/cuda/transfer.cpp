// Host staging memory, deferred release of what queued copies still read, and ordering between
// streams with events: the pieces that let uploads, downloads and device-to-device copies run
// asynchronously on the GPU instead of blocking the stream's host thread.
#include <string>
#include <vector>

#include "alexnet/error.hpp"
#include "cuda_backend.hpp"
#include "peer_access.hpp"

namespace alexnet::cuda {

PeerRoutes& peerRoutes() {
  static PeerRoutes routes;
  return routes;
}

namespace {

// Enables access from the current device (`device`) to `source`'s memory. Any failure means
// "stage through the host", never an error of the copy: the copy still has a way to go.
bool tryEnablePeerAccess(int device, int source, std::string& reason) {
  int possible = 0;
  cudaError_t status = cudaDeviceCanAccessPeer(&possible, device, source);
  if (status == cudaSuccess && !possible) {
    reason = "cuda:" + std::to_string(device) + " cannot access cuda:" + std::to_string(source) +
             " directly";
    return false;
  }
  if (status == cudaSuccess) status = cudaDeviceEnablePeerAccess(source, 0);
  if (status == cudaSuccess) return true;
  (void)cudaGetLastError();  // handled here: not the next launch's failure
  if (status == cudaErrorPeerAccessAlreadyEnabled) return true;
  reason = std::string("peer access failed: ") + cudaGetErrorName(status);
  return false;
}

}  // namespace

void CudaBackend::setBlockSource(BlockSource* source) {
  // The stream is idle here (the device sets its cache before any work and clears it after its
  // stream has stopped), so blocks can go back to whichever cache they came from.
  bind();
  // Every grow-only buffer (cuda_backend.hpp): one left holding a block would give it back to a
  // cache that is gone by then (the device clears its cache, then destroys it, then the backend).
  workspace_.release(stream_.get());
  staging_.release(stream_.get());
  scratch_.release(stream_.get());
  labelScratch_.release(stream_.get());
  blocks_ = source;
}

void* CudaBackend::allocateHost(size_t bytes) {
  bind();  // the staging cache may call from any thread
  void* ptr = nullptr;
  // Portable: page-locked for every GPU, so a staging block can feed a copy to any of them.
  const cudaError_t status = cudaHostAlloc(&ptr, bytes == 0 ? 1 : bytes, cudaHostAllocPortable);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw Error("OUT_OF_MEMORY",
                "cudaHostAlloc of " + std::to_string(bytes) + " bytes of page-locked host memory failed",
                "cudaHostAlloc", "free host memory, or call emptyCache() to return cached staging blocks");
  }
  check(status, "cudaHostAlloc");
  return ptr;
}

void CudaBackend::deallocateHost(void* ptr, size_t /*bytes*/) {
  if (ptr == nullptr) return;
  bind();  // the staging cache may call from any thread, which must not create a context elsewhere
  check(cudaFreeHost(ptr), "cudaFreeHost");
}

void CudaBackend::releaseFinished() {
  while (!retained_.empty()) {
    const cudaError_t status = cudaEventQuery(retained_.front().done);
    if (status == cudaErrorNotReady) {
      // Not a failure, but the runtime keeps it as this thread's last error: clear it, or the
      // next kernel launch check would report "device not ready" as its own failure.
      (void)cudaGetLastError();
      return;
    }
    check(status, "cudaEventQuery");  // a failed stream: keep the resources, report the error
    events_->give(retained_.front().done);
    retained_.pop_front();
  }
}

void CudaBackend::releaseAll() {
  for (const Retained& r : retained_) events_->give(r.done);
  retained_.clear();
}

void CudaBackend::retainUntilDone(std::shared_ptr<void> resource) {
  if (!resource) return;
  bind();
  releaseFinished();
  cudaEvent_t done = events_->take();
  const cudaError_t status = cudaEventRecord(done, stream_.get());
  if (status != cudaSuccess) events_->give(done);
  check(status, "cudaEventRecord");
  retained_.push_back({done, std::move(resource)});
}

std::shared_ptr<void> CudaBackend::recordEvent() {
  bind();
  cudaEvent_t event = events_->take();
  // The waiting stream's job drops the last reference, which hands the event back to this pool.
  std::shared_ptr<void> owned(static_cast<void*>(event), [pool = events_](void* e) {
    pool->give(static_cast<cudaEvent_t>(e));
  });
  check(cudaEventRecord(event, stream_.get()), "cudaEventRecord");
  return owned;
}

void CudaBackend::waitEvent(const std::shared_ptr<void>& event) {
  if (!event) return;
  bind();
  check(cudaStreamWaitEvent(stream_.get(), static_cast<cudaEvent_t>(event.get()), 0),
        "cudaStreamWaitEvent");
}

void CudaBackend::copyFromPeer(void* dst, const void* src, int srcDevice, size_t bytes) {
  if (bytes == 0) return;
  bind();
  if (srcDevice == device_) {
    // Another stream of this GPU: an ordinary on-device copy.
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_.get()),
          "cudaMemcpyAsync");
    return;
  }
  const PeerRoute route = peerRoutes().route(device_, srcDevice, [&](std::string& reason) {
    return tryEnablePeerAccess(device_, srcDevice, reason);
  });
  if (route == PeerRoute::Direct) {
    check(cudaMemcpyPeerAsync(dst, device_, src, srcDevice, bytes, stream_.get()),
          "cudaMemcpyPeerAsync");
    return;
  }
  // Staged: the source's data is ready once this stream has passed the caller's waitEvent(), so
  // wait for it here, read it on the host, and upload it (from pageable memory the upload has
  // taken the bytes when cudaMemcpyAsync returns, so `staged` may go at once).
  check(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
  std::vector<unsigned char> staged(bytes);
  check(cudaMemcpy(staged.data(), src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy");
  check(cudaMemcpyAsync(dst, staged.data(), bytes, cudaMemcpyHostToDevice, stream_.get()),
        "cudaMemcpyAsync");
}

}  // namespace alexnet::cuda
