// The batch producer: worker threads that load, prepare and augment the images of an epoch into
// [N, C, H, W] float batches, a bounded number of batches ahead of the consumer. In raw output
// mode they stop before the crop: a batch holds the prepared 8-bit images and the crop parameters
// (the same draws), and the device crops them (ops::cropImages) into the same floats.
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
// Float: network input [N, C, H, W] cropped and normalised on the host. Raw: the prepared images
// and one row of crop parameters per output row, for ops::cropImages on the device.
enum class OutputMode : int32_t { Float = 0, Raw = 1 };

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
  OutputMode output = OutputMode::Float;
  // Data parallelism: this process produces only its share of every batch, rows
  // [n * shardIndex / shardCount, n * (shardIndex + 1) / shardCount) of a batch of n images, with
  // the draws of those images' positions in the whole epoch (so the shards of all processes put
  // together are the batch one process would produce).
  int shardIndex = 0;
  int shardCount = 1;
};

// Batch buffers are recycled: a fresh allocation of tens of megabytes costs page faults and
// zeroing on every batch (measured here: ~0.3 ms per 224x224 image, a sixth of the budget).
class BufferPool {
 public:
  BufferPool(size_t bytes, size_t keep) : bytes_(bytes), keep_(keep) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  size_t bytes() const { return bytes_; }
  void* acquire();             // nullptr when out of memory; aligned for floats
  void release(void* buffer);  // back to the pool, or freed beyond `keep` spare buffers

 private:
  std::mutex m_;
  std::vector<void*> free_;
  size_t bytes_, keep_;
};

struct Batch {
  int64_t index = 0;   // batch number in the epoch
  int32_t images = 0;  // images in it (fewer than batchSize when skipped or last)
  int32_t crops = 1;
  int32_t skipped = 0;
  // Float output: images * crops * C * H * W floats.
  float* data = nullptr;
  size_t floats = 0;
  // Raw output: the prepared images, [images, size, size, C] bytes (NHWC), and the crop of every
  // output row, [images * crops, 3 + C] floats: top, left, flip (0/1), colour offset per channel.
  float* params = nullptr;
  size_t paramFloats = 0;
  uint8_t* pixels = nullptr;
  size_t pixelBytes = 0;
  void* buffer = nullptr;  // pool->bytes() bytes holding the above, owned until release()
  std::shared_ptr<BufferPool> pool;  // where the buffer goes back
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;

  Batch() = default;
  Batch(Batch&& other) noexcept { *this = std::move(other); }
  Batch& operator=(Batch&& other) noexcept;
  ~Batch() { if (buffer) pool->release(buffer); }
  // Hands the buffer to the caller, who gives it back with pool->release() when done; the views
  // (data, params, pixels) stay valid until then.
  void* release() {
    void* p = buffer;
    buffer = nullptr;
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
  // Raw output: floats of crop parameters per image, bytes of a prepared image.
  size_t paramFloatsPerImage() const { return static_cast<size_t>(crops()) * (3 + config_.channels); }
  size_t pixelBytesPerImage() const {
    return static_cast<size_t>(config_.size) * config_.size * config_.channels;
  }

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
  // This process's share [begin, end) of the positions of batch b (the whole batch unsharded).
  std::pair<int64_t, int64_t> shardOf(int64_t b) const;
  void produce(int64_t position, int64_t epoch, int64_t index, void* buffer, size_t k, Scratch& scratch) const;
  void moveImage(void* buffer, size_t from, size_t to) const;
  void finish(Slot& slot) const;
  // Where image k of a batch buffer goes: its float rows, or its params rows and pixels (raw).
  float* floatsOf(void* buffer, size_t k) const;
  float* paramsOf(void* buffer, size_t k) const;
  uint8_t* pixelsOf(void* buffer, size_t k) const;
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
