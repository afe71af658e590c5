// The batch producer: worker threads that load, prepare and augment the images of an epoch into
// [N, C, H, W] float batches, a bounded number of batches ahead of the consumer.
//
// Work is handed out in position order, a few images at a time, so the batches complete roughly
// in order; each image writes its own rows, and every random draw depends only on (seed, epoch,
// position) (sampling.hpp), so the output does not depend on the number of workers or on timing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "alexnet/data/augment.hpp"
#include "alexnet/data/sampling.hpp"
#include "alexnet/data/source.hpp"

namespace alexnet::data {

enum class CropMode : int32_t { Random = 0, Centre = 1, TenCrop = 2 };

struct PipelineConfig {
  std::shared_ptr<const ImageSource> source;
  int batchSize = 128;
  int workers = 1;
  int prefetch = 2;  // batches prepared ahead of the one the consumer waits for
  int size = 256;    // prepared square (shorter side resized to this, centre cropped)
  int channels = 3;
  int cropHeight = 224, cropWidth = 224;
  CropMode crop = CropMode::Random;
  bool randomFlip = true;
  bool shuffle = true;
  bool dropLast = true;
  bool skipBad = false;  // undecodable images are left out of their batch and counted
  float scale = 1.0f;    // output = scale * pixel - mean + offset
  MeanMode mean = MeanMode::None;
  std::vector<float> meanData;  // [channels] or [channels, size, size], output units
  float pcaStd = 0.0f;          // standard deviation of the alphas; 0 disables colour noise
  float eigvec[9] = {};         // eigenvector k in column k
  float eigval[3] = {};         // lambda in output units
  uint64_t seed = 0;
};

// Batch buffers are recycled: a fresh allocation of tens of megabytes costs page faults and
// zeroing on every batch (measured here: ~0.3 ms per 224x224 image, a sixth of the budget).
class BufferPool {
 public:
  BufferPool(size_t floats, size_t keep) : floats_(floats), keep_(keep) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  float* acquire();            // nullptr when out of memory
  void release(float* buffer);  // back to the pool, or freed beyond `keep` spare buffers

 private:
  std::mutex m_;
  std::vector<float*> free_;
  size_t floats_, keep_;
};

struct Batch {
  int64_t index = 0;   // batch number in the epoch
  int32_t images = 0;  // images in it (fewer than batchSize when skipped or last)
  int32_t crops = 1;
  int32_t skipped = 0;
  float* data = nullptr;  // images * crops * C * H * W floats, owned until release()
  size_t floats = 0;
  std::shared_ptr<BufferPool> pool;  // where data goes back
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;

  Batch() = default;
  Batch(Batch&& other) noexcept { *this = std::move(other); }
  Batch& operator=(Batch&& other) noexcept;
  ~Batch() { if (data) pool->release(data); }
  // Hands the buffer to the caller, who gives it back with pool->release() when done.
  float* release() {
    float* p = data;
    data = nullptr;
    return p;
  }
};

struct PipelineStats {
  int64_t images = 0, batches = 0, skipped = 0;
  double busySeconds = 0;  // time during which at least one worker was working
};

class Pipeline {
 public:
  explicit Pipeline(PipelineConfig config);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  const PipelineConfig& config() const { return config_; }
  int64_t batchesPerEpoch() const { return batches_; }
  int64_t imagesPerEpoch() const { return images_; }
  int crops() const { return config_.crop == CropMode::TenCrop ? 10 : 1; }

  // Starts producing `epoch` from batch `startBatch` and abandons any earlier epoch. Returns the
  // generation that poll() must name.
  uint64_t start(int64_t epoch, int64_t startBatch);

  enum class Status { Ready, Pending, End, Stale, Closed };
  // Non-blocking. Ready: the next batch was moved into `out` (a batch whose preparation failed
  // rethrows its error instead). Pending: if `wake` is set it is called once, from some thread,
  // when polling again can make progress (it must not call back into the pipeline). Stale: a later
  // start() superseded `generation`.
  Status poll(uint64_t generation, Batch& out, std::function<void()> wake);
  // Blocking, for C++ callers: false at the end of the epoch.
  bool next(uint64_t generation, Batch& out);

  // Stops and joins the workers; idempotent. A pending wake is called.
  void close();
  PipelineStats stats() const;

  // The batch layout (for tests and debugging).
  Draws draws(int64_t epoch, int64_t position) const;
  std::vector<int64_t> order(int64_t epoch) const;

 private:
  struct Slot;
  void work(int worker);
  bool hasTask() const;
  void produce(int64_t position, int64_t epoch, int64_t index, float* out, Scratch& scratch) const;
  void finish(Slot& slot) const;
  void busyChange(int delta);

  PipelineConfig config_;
  int64_t batches_ = 0, images_ = 0;
  size_t floatsPerImage_ = 0;
  std::shared_ptr<BufferPool> pool_;

  std::mutex closeMutex_;  // held for all of close(), so a second caller returns after the join
  mutable std::mutex m_;
  std::condition_variable workCv_, readyCv_;
  std::vector<std::thread> threads_;
  bool closed_ = false, stopping_ = false;  // stopping_: workers exit
  uint64_t generation_ = 0;
  bool active_ = false;
  int64_t epoch_ = 0;
  std::shared_ptr<const std::vector<int64_t>> order_;
  int64_t consume_ = 0;  // next batch to hand out
  int64_t nextPosition_ = 0;
  std::map<int64_t, std::shared_ptr<Slot>> slots_;
  std::function<void()> wake_;

  PipelineStats stats_;
  int busy_ = 0;
  std::chrono::steady_clock::time_point busySince_;
};

}  // namespace alexnet::data
