#include "alexnet/device.hpp"
#include "alexnet/error.hpp"

namespace alexnet {

// Blocks are bucketed by size rounded up to 512 bytes below 1 MiB and to 64 KiB above, so the
// same layer shapes reuse the same blocks step after step.
size_t CachingAllocator::roundUp(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t quantum = bytes < (1u << 20) ? 512 : (64u << 10);
  return (bytes + quantum - 1) / quantum * quantum;
}

void* CachingAllocator::systemAllocate(size_t bytes) {
  return memory_ == Memory::Device ? backend_.allocate(bytes) : backend_.allocateHost(bytes);
}

void CachingAllocator::systemFree(void* ptr, size_t bytes) {
  if (memory_ == Memory::Device) backend_.deallocate(ptr, bytes);
  else backend_.deallocateHost(ptr, bytes);
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = roundUp(bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      stats_.bytesCached -= size;
      stats_.bytesInUse += size;
      return ptr;
    }
  }
  void* ptr = nullptr;
  try {
    ptr = systemAllocate(size);
  } catch (const Error& e) {
    if (e.code() != "OUT_OF_MEMORY") throw;
    // Give the cached blocks back to the system and try once more before failing.
    emptyCache();
    ptr = systemAllocate(size);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.systemAllocations++;
  stats_.bytesInUse += size;
  return ptr;
}

void CachingAllocator::release(void* ptr, size_t bytes) {
  const size_t size = roundUp(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  free_[size].push_back(ptr);
  stats_.bytesInUse -= size;
  stats_.bytesCached += size;
}

void CachingAllocator::emptyCache() {
  std::unordered_map<size_t, std::vector<void*>> blocks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks.swap(free_);
    stats_.bytesCached = 0;
  }
  for (auto& [size, ptrs] : blocks)
    for (void* ptr : ptrs) systemFree(ptr, size);
}

CachingAllocator::Stats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

CachingAllocator::~CachingAllocator() {
  try {
    emptyCache();
  } catch (...) {
    // Destruction happens at teardown; a failing free must not take the process down.
  }
}

}  // namespace alexnet
