// How copies from one GPU to another travel, decided once per ordered pair of devices on their
// first copy: directly (peer-to-peer over NVLink or PCIe) when peer access can be enabled, else
// staged through host memory. Nothing is enabled at start, so a process that uses one GPU touches
// no other, and a peer that cannot be reached (another job's exclusive-process GPU, MIG, too many
// peers) makes copies slower, never impossible. Free of CUDA types so that it runs in host tests.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace alexnet::cuda {

enum class PeerRoute { Direct, Staged };

class PeerRoutes {
 public:
  // The route from `source` to `device`. The first call for a pair runs `tryEnable(reason)`, which
  // returns true when direct access works (already enabled counts) or false, with `reason` set,
  // when it does not; later calls return the remembered answer. Thread-safe: streams of several
  // devices may ask at once, and each pair is tried once.
  template <class TryEnable>
  PeerRoute route(int device, int source, TryEnable&& tryEnable) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto key = std::make_pair(device, source);
    auto found = routes_.find(key);
    if (found != routes_.end()) return found->second.route;
    Entry entry;
    entry.route = tryEnable(entry.reason) ? PeerRoute::Direct : PeerRoute::Staged;
    routes_.emplace(key, entry);
    return entry.route;
  }

  // Why a pair is staged ("" when it is direct or not decided yet), for messages and tests.
  std::string reason(int device, int source) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = routes_.find(std::make_pair(device, source));
    return found == routes_.end() ? std::string() : found->second.reason;
  }

 private:
  struct Entry {
    PeerRoute route = PeerRoute::Staged;
    std::string reason;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<int, int>, Entry> routes_;
};

// The process-wide table: peer access belongs to the device's context, which every stream of
// that device in this process shares.
PeerRoutes& peerRoutes();

}  // namespace alexnet::cuda
