// Devices and their streams. A device ("cpu", "cpu:1", "cuda:0") owns one backend instance, one
// caching allocator and one stream: an ordered queue of work executed by a dedicated host thread
// that calls the backend. Submitting returns at once while the queue is within its bound (see
// Stream); waiting for results is explicit (fence(), downloads).
// "cuda:0/1" is a second device on the same GPU: its own stream, handles and block cache, so two
// columns of the network can run concurrently on one GPU (and "cpu:0/1" likewise on the CPU).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "alexnet/backend.hpp"

namespace alexnet {

enum class DeviceKind { Cpu, Cuda };

// Size-bucketed cache of device blocks. Blocks freed by tensors go back to the cache, so a
// training step in steady state never calls the backend's allocate (cudaMalloc / malloc).
class CachingAllocator final : public BlockSource {
 public:
  // Device memory (Backend::allocate) or host staging memory (Backend::allocateHost).
  enum class Memory { Device, Host };
  explicit CachingAllocator(Backend& backend, Memory memory = Memory::Device)
      : backend_(backend), memory_(memory) {}
  ~CachingAllocator() override;
  void* allocate(size_t bytes) override;
  void release(void* ptr, size_t bytes) override;
  void emptyCache();
  struct Stats {
    uint64_t systemAllocations = 0;  // calls into the backend's allocate (or allocateHost)
    uint64_t bytesInUse = 0;
    uint64_t bytesCached = 0;
  };
  Stats stats() const;
  static size_t roundUp(size_t bytes);

 private:
  void* systemAllocate(size_t bytes);
  void systemFree(void* ptr, size_t bytes);
  Backend& backend_;
  Memory memory_;
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  Stats stats_;
};

class Storage;
using StorageRef = std::shared_ptr<Storage>;

// Back-pressure: the work queued on a stream (including the job running) writes at most
// kMaxQueuedBytes bytes of storage in total and holds at most kMaxQueuedJobs jobs. A submission
// beyond either bound waits until the stream has worked the queue down (one job larger than the
// byte bound is admitted once the stream is idle). So a script that submits without ever awaiting
// holds a bounded amount of memory in pending outputs. Submissions from the stream's own thread
// never wait (they could deadlock), and jobs only ever wait for work queued before them (on their
// own stream or, for copies, on another), so a waiting submitter is always released.
class Stream {
 public:
  static constexpr size_t kMaxQueuedBytes = size_t(256) << 20;  // 256 MiB
  static constexpr size_t kMaxQueuedJobs = 1024;

  using Job = std::function<void(Backend&)>;
  explicit Stream(Backend& backend, std::string name);
  ~Stream();  // shutdown()
  // Work that produces no tensor: its failure is kept for the next fence().
  void submit(Job job);
  // Work that reads `reads` and writes `writes` (a block updated in place is in both). It runs only
  // if no block it reads is poisoned; otherwise, or if it throws, every block it writes is poisoned
  // with that error (the first poison met, or its own), and the error goes nowhere else: it
  // surfaces where those blocks, or blocks computed from them, are read. When it succeeds, the
  // blocks it writes are valid again. Its weight against kMaxQueuedBytes is the bytes it writes.
  void submit(Job job, std::vector<StorageRef> reads, std::vector<StorageRef> writes);
  // Runs the queued work to the end and joins the thread. Work submitted afterwards runs at once
  // on the submitting thread, so nothing waits forever on a stream that has shut down.
  void shutdown();
  // A future that becomes ready when all work submitted before it has finished on the device. It
  // holds the first error since the last fence of work submitted without outputs, or of the
  // backend's own synchronisation (then the stream's error is cleared); errors of work with
  // outputs are in those outputs instead.
  std::shared_future<void> fence();

 private:
  struct Entry {
    Job job;
    size_t bytes;
  };
  void enqueue(Job job, size_t bytes);
  void run();
  void runJob(Job& job);
  Backend& backend_;
  std::string name_;
  std::mutex mutex_;
  std::condition_variable wake_;     // the stream thread: work arrived or stopping
  std::condition_variable drained_;  // submitters: queued work finished
  std::deque<Entry> queue_;
  size_t queuedJobs_ = 0;   // queued or running
  size_t queuedBytes_ = 0;  // what they write
  std::exception_ptr pendingError_;
  bool stopping_ = false;
  bool ended_ = false;       // the thread has left run(): submit() runs jobs itself
  std::mutex inlineMutex_;   // orders jobs run by submit() after the end
  std::thread thread_;
};

class Device {
 public:
  // Parses "cpu", "cpu:N", "cuda", "cuda:N", optionally followed by "/L" for another stream of the
  // same device ("cuda:0/1"; "/0" is the device itself), and returns the process-wide device
  // (created on first use). Throws Error INVALID_ARGUMENT for a malformed name and CUDA_UNAVAILABLE when CUDA cannot
  // be used here (the message says what was looked for and how to install it).
  static Device& get(const std::string& name);
  // Human-readable account of the CUDA backend: "available: N device(s)" or why not.
  static std::string cudaStatus();
  static int cudaDeviceCount();  // 0 when unavailable
  // Waits until every device's stream is idle (errors are left for their own waiters). Called at
  // process exit so no kernel is still running while libraries tear down.
  static void drainAll();
  // drainAll(), then ends every device's stream thread. Called at process exit; the devices
  // themselves stay (tensors that were never freed still refer to them).
  static void shutdownAll();
  static std::string describeCuda(int index);
  // The host threads each CPU device's compute uses (OpenMP and oneDNN), for the devices that exist
  // and those made later; work submitted after the call uses the new count. 1..kMaxThreads, else
  // INVALID_ARGUMENT. numThreads() is the count set, or the default (OMP_NUM_THREADS, else the cores).
  static constexpr int kMaxThreads = 1024;
  static void setNumThreads(int count);
  static int numThreads();

  const std::string& name() const { return name_; }
  DeviceKind kind() const { return kind_; }
  int index() const { return index_; }  // the GPU ordinal (or the CPU device's number)
  int lane() const { return lane_; }    // which stream of that device: 0, 1, ...
  Stream& stream() { return *stream_; }
  CachingAllocator& allocator() { return *allocator_; }
  // Page-locked staging blocks of a CUDA device (unused on CPU devices).
  CachingAllocator& hostAllocator() { return *hostAllocator_; }
  // A host buffer for an upload to or a download from this device: a cached page-locked block on
  // CUDA, so the transfer is asynchronous DMA; plain memory on a CPU device, whose memory is host
  // memory already. The block returns to the cache when the last reference goes.
  std::shared_ptr<uint8_t> stagingBuffer(size_t bytes);
  // Blocks the calling thread until the stream is idle; rethrows what fence() holds.
  void synchronize();
  // Queues the switch between strict FP32 (false) and TF32 tensor-core math (true, CUDA only):
  // work submitted after it uses the new mode. Throws INVALID_ARGUMENT where there is no TF32.
  void setTensorFloat32(bool enable);
  bool tensorFloat32() const { return tf32_; }
  // Queues the switch to algorithms that give the same bits on every run (true) or to the fastest
  // ones, which may add in a different order from run to run (false, the default; CUDA only: the
  // CPU backend is always deterministic). Work submitted after it uses the new choice.
  void setDeterministic(bool enable);
  bool deterministic() const { return deterministic_; }
  // Whether the backend computes in bfloat16 on this machine (Backend::bf16Supported); when not,
  // `reason` says why. Ops on bfloat16 tensors check this before queuing anything.
  bool bf16Supported(std::string* reason = nullptr) const { return backend_->bf16Supported(reason); }
  // The same for float16 (Backend::fp16Supported): FLOAT16_UNSUPPORTED from ops where it is false.
  bool fp16Supported(std::string* reason = nullptr) const { return backend_->fp16Supported(reason); }

  Device(std::string name, DeviceKind kind, int index, int lane, std::unique_ptr<Backend> backend,
         std::function<void(Backend*)> destroyBackend = nullptr);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

 private:
  static Device& resolve(const std::string& name);  // get() without the per-thread cache

  std::string name_;
  DeviceKind kind_;
  int index_;
  int lane_;
  std::unique_ptr<Backend> backend_;
  std::function<void(Backend*)> destroyBackend_;
  std::unique_ptr<CachingAllocator> allocator_;
  std::unique_ptr<CachingAllocator> hostAllocator_;
  std::unique_ptr<Stream> stream_;
  bool tf32_ = false;
  bool deterministic_ = false;
};

}  // namespace alexnet
