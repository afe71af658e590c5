// The batch-producing thread pool.
#include "alexnet/data/pipeline.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "alexnet/data/errors.hpp"
#include "alexnet/data/sampling.hpp"

namespace alexnet::data {

BufferPool::~BufferPool() {
  for (float* p : free_) std::free(p);
}

float* BufferPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (!free_.empty()) {
      float* p = free_.back();
      free_.pop_back();
      return p;
    }
  }
  return static_cast<float*>(std::malloc(std::max<size_t>(1, floats_) * sizeof(float)));
}

void BufferPool::release(float* buffer) {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (free_.size() < keep_) {
      free_.push_back(buffer);
      return;
    }
  }
  std::free(buffer);
}

Batch& Batch::operator=(Batch&& other) noexcept {
  if (this != &other) {
    if (data) pool->release(data);
    index = other.index;
    images = other.images;
    crops = other.crops;
    skipped = other.skipped;
    data = other.release();
    floats = other.floats;
    pool = std::move(other.pool);
    labels = std::move(other.labels);
    indices = std::move(other.indices);
  }
  return *this;
}

struct Pipeline::Slot {
  std::shared_ptr<BufferPool> pool;
  int64_t begin = 0, end = 0;  // positions in the epoch
  float* data = nullptr;
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;
  std::vector<uint8_t> bad;
  int64_t remaining = 0;
  int64_t skipped = 0;
  int64_t errorPosition = INT64_MAX;
  std::exception_ptr error;
  bool ready = false;
  ~Slot() {
    if (data) pool->release(data);
  }
};

namespace {

bool skippable(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    return err.code() == "BAD_FILE" || err.code() == "IO_ERROR";
  } catch (...) {
    return false;
  }
}

void validate(const PipelineConfig& c) {
  if (!c.source) invalidArgument("source is required");
  if (c.batchSize < 1 || c.workers < 1 || c.prefetch < 0) invalidArgument("batchSize and workers must be >= 1, prefetch >= 0");
  if (c.channels != 1 && c.channels != 3) invalidArgument("channels must be 1 or 3");
  if (c.size < 1 || c.cropHeight < 1 || c.cropWidth < 1 || c.cropHeight > c.size || c.cropWidth > c.size)
    invalidArgument("crop " + std::to_string(c.cropHeight) + "x" + std::to_string(c.cropWidth) +
                    " must fit in the prepared size " + std::to_string(c.size));
  const size_t pixels = static_cast<size_t>(c.size) * c.size * c.channels;
  if ((c.mean == MeanMode::PerChannel && c.meanData.size() != static_cast<size_t>(c.channels)) ||
      (c.mean == MeanMode::PerPixel && c.meanData.size() != pixels))
    invalidArgument("mean has " + std::to_string(c.meanData.size()) + " values, expected " +
                    std::to_string(c.mean == MeanMode::PerChannel ? c.channels : pixels));
}

// Images per task: enough that a task of small images is not dominated by locking.
int chunkFor(const PipelineConfig& c, size_t floatsPerImage) {
  const size_t work = static_cast<size_t>(c.size) * c.size * c.channels + floatsPerImage;
  return static_cast<int>(std::clamp<size_t>(size_t(1) << 18, work, size_t(64) * work) / work);
}

}  // namespace

Pipeline::Pipeline(PipelineConfig config) : config_(std::move(config)) {
  validate(config_);
  const int64_t n = config_.source->size();
  const int64_t b = config_.batchSize;
  batches_ = config_.dropLast ? n / b : (n + b - 1) / b;
  images_ = config_.dropLast ? batches_ * b : n;
  floatsPerImage_ = static_cast<size_t>(crops()) * config_.channels * config_.cropHeight * config_.cropWidth;
  // Spare buffers kept: those in flight ahead of the consumer plus a few the consumer holds, but
  // at most about 1 GiB of them (a ten-crop batch of 128 images is 770 MB).
  const size_t bufferBytes = std::max<size_t>(1, floatsPerImage_ * static_cast<size_t>(b) * sizeof(float));
  const size_t keep = std::min(static_cast<size_t>(config_.prefetch) + 3, std::max<size_t>(2, (size_t(1) << 30) / bufferBytes));
  pool_ = std::make_shared<BufferPool>(floatsPerImage_ * static_cast<size_t>(b), keep);
  for (int w = 0; w < config_.workers; ++w) threads_.emplace_back([this, w] { work(w); });
}

Pipeline::~Pipeline() { close(); }

uint64_t Pipeline::start(int64_t epoch, int64_t startBatch) {
  if (startBatch < 0 || startBatch > batches_)
    invalidArgument("startBatch must be in [0, " + std::to_string(batches_) + "], got " + std::to_string(startBatch));
  auto order = std::make_shared<const std::vector<int64_t>>(
      epochOrder(config_.source->size(), config_.seed, epoch, config_.shuffle));
  std::function<void()> wake;
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(m_);
    if (closed_) invalidArgument("the loader is closed");
    generation = ++generation_;
    active_ = true;
    epoch_ = epoch;
    order_ = std::move(order);
    consume_ = startBatch;
    nextPosition_ = startBatch * config_.batchSize;
    slots_.clear();
    wake = std::move(wake_);
    wake_ = nullptr;
  }
  workCv_.notify_all();
  readyCv_.notify_all();
  if (wake) wake();
  return generation;
}

bool Pipeline::hasTask() const {
  return active_ && nextPosition_ < images_ && nextPosition_ / config_.batchSize <= consume_ + config_.prefetch;
}

void Pipeline::busyChange(int delta) {
  const auto now = std::chrono::steady_clock::now();
  if (busy_ == 0 && delta > 0) busySince_ = now;
  busy_ += delta;
  if (busy_ == 0) stats_.busySeconds += std::chrono::duration<double>(now - busySince_).count();
}

void Pipeline::work(int) {
  Scratch scratch;
  const int chunk = chunkFor(config_, floatsPerImage_);
  struct Failure {
    int64_t position;
    std::exception_ptr error;
  };
  std::vector<Failure> failures;
  std::unique_lock<std::mutex> lock(m_);
  for (;;) {
    workCv_.wait(lock, [&] { return stopping_ || hasTask(); });
    if (stopping_) return;
    const int64_t b = nextPosition_ / config_.batchSize;
    std::shared_ptr<Slot>& entry = slots_[b];
    if (!entry) {
      entry = std::make_shared<Slot>();
      Slot& s = *entry;
      s.pool = pool_;
      s.begin = b * config_.batchSize;
      s.end = std::min(s.begin + config_.batchSize, images_);
      s.remaining = s.end - s.begin;
      s.data = pool_->acquire();
      if (!s.data) {
        s.error = std::make_exception_ptr(Error("OUT_OF_MEMORY", "no host memory for a batch", "malloc"));
        s.errorPosition = s.begin;
      }
      s.bad.assign(static_cast<size_t>(s.end - s.begin), 0);
      for (int64_t p = s.begin; p < s.end; ++p) {
        const int64_t index = (*order_)[static_cast<size_t>(p)];
        s.indices.push_back(index);
        s.labels.push_back(config_.source->label(index));
      }
    }
    std::shared_ptr<Slot> slot = entry;
    const int64_t p0 = nextPosition_, p1 = std::min(slot->end, p0 + chunk);
    nextPosition_ = p1;
    const uint64_t generation = generation_;
    const int64_t epoch = epoch_;
    busyChange(+1);
    lock.unlock();

    failures.clear();
    if (slot->data) {
      for (int64_t p = p0; p < p1; ++p) {
        try {
          produce(p, epoch, slot->indices[static_cast<size_t>(p - slot->begin)],
                  slot->data + static_cast<size_t>(p - slot->begin) * floatsPerImage_, scratch);
        } catch (...) {
          failures.push_back({p, std::current_exception()});
        }
      }
    }

    lock.lock();
    busyChange(-1);
    if (generation != generation_) continue;  // the epoch was abandoned meanwhile
    for (Failure& f : failures) {
      if (config_.skipBad && skippable(f.error)) {
        slot->bad[static_cast<size_t>(f.position - slot->begin)] = 1;
      } else if (f.position < slot->errorPosition) {
        slot->errorPosition = f.position;
        slot->error = f.error;
      }
    }
    slot->remaining -= p1 - p0;
    if (slot->remaining > 0) continue;
    lock.unlock();
    finish(*slot);
    lock.lock();
    if (generation != generation_) continue;
    slot->ready = true;
    stats_.images += static_cast<int64_t>(slot->indices.size());
    stats_.skipped += slot->skipped;
    if (b == consume_) {
      readyCv_.notify_all();
      std::function<void()> wake = std::move(wake_);
      wake_ = nullptr;
      if (wake) {
        lock.unlock();
        wake();
        lock.lock();
      }
    }
  }
}

void Pipeline::produce(int64_t position, int64_t epoch, int64_t index, float* out, Scratch& scratch) const {
  const PipelineConfig& c = config_;
  const ImageView img = prepareImage(*c.source, index, c.size, c.channels, scratch);
  const Normalisation norm{c.scale, c.mean, c.meanData.empty() ? nullptr : c.meanData.data()};
  const int h = c.cropHeight, w = c.cropWidth;
  if (c.crop == CropMode::TenCrop) {
    CropWindow windows[10];
    tenCropWindows(c.size, h, w, windows);
    for (int k = 0; k < 10; ++k)
      writeCrop(img, norm, nullptr, windows[k], h, w, out + static_cast<size_t>(k) * c.channels * h * w);
    return;
  }
  const Draws d = draws(epoch, position);
  float offset[4] = {0, 0, 0, 0};
  if (c.pcaStd != 0.0f) colourOffset(c.eigvec, c.eigval, d.alpha, c.channels, offset);
  writeCrop(img, norm, c.pcaStd != 0.0f ? offset : nullptr, {d.cropY, d.cropX, d.flip}, h, w, out);
}

Draws Pipeline::draws(int64_t epoch, int64_t position) const {
  const PipelineConfig& c = config_;
  const bool random = c.crop == CropMode::Random;
  Draws d = drawAugmentation(c.seed, epoch, position, random ? c.size - c.cropHeight : 0,
                             random ? c.size - c.cropWidth : 0, c.randomFlip && c.crop != CropMode::TenCrop,
                             c.crop == CropMode::TenCrop ? 0.0f : c.pcaStd, c.channels);
  if (!random) {
    d.cropY = (c.size - c.cropHeight) / 2;
    d.cropX = (c.size - c.cropWidth) / 2;
  }
  return d;
}

// Moves the rows of skipped images out, so a batch holds only images that were prepared.
void Pipeline::finish(Slot& s) const {
  size_t kept = 0;
  for (size_t k = 0; k < s.bad.size(); ++k) {
    if (s.bad[k]) continue;
    if (kept != k) {
      if (s.data) std::memmove(s.data + kept * floatsPerImage_, s.data + k * floatsPerImage_, floatsPerImage_ * sizeof(float));
      s.labels[kept] = s.labels[k];
      s.indices[kept] = s.indices[k];
    }
    ++kept;
  }
  s.skipped = static_cast<int64_t>(s.bad.size() - kept);
  s.labels.resize(kept);
  s.indices.resize(kept);
}

Pipeline::Status Pipeline::poll(uint64_t generation, Batch& out, std::function<void()> wake) {
  std::shared_ptr<Slot> slot;
  int64_t index;
  {
    std::lock_guard<std::mutex> lock(m_);
    if (closed_) return Status::Closed;
    if (generation != generation_) return Status::Stale;
    if (consume_ >= batches_) return Status::End;
    auto it = slots_.find(consume_);
    if (it == slots_.end() || !it->second->ready) {
      if (wake) wake_ = std::move(wake);
      return Status::Pending;
    }
    slot = std::move(it->second);
    slots_.erase(it);
    index = consume_++;
    ++stats_.batches;
  }
  workCv_.notify_all();
  if (slot->error) std::rethrow_exception(slot->error);
  out.index = index;
  out.images = static_cast<int32_t>(slot->indices.size());
  out.crops = crops();
  out.skipped = static_cast<int32_t>(slot->skipped);
  out.floats = slot->indices.size() * floatsPerImage_;
  if (out.data) out.pool->release(out.data);
  out.pool = pool_;
  out.data = slot->data;
  slot->data = nullptr;
  out.labels = std::move(slot->labels);
  out.indices = std::move(slot->indices);
  return Status::Ready;
}

bool Pipeline::next(uint64_t generation, Batch& out) {
  for (;;) {
    Status s = poll(generation, out, nullptr);
    if (s == Status::Ready) return true;
    if (s != Status::Pending) return false;
    std::unique_lock<std::mutex> lock(m_);
    readyCv_.wait(lock, [&] {
      if (closed_ || generation != generation_ || consume_ >= batches_) return true;
      auto it = slots_.find(consume_);
      return it != slots_.end() && it->second->ready;
    });
  }
}

void Pipeline::close() {
  std::lock_guard<std::mutex> closing(closeMutex_);
  std::function<void()> wake;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(m_);
    closed_ = true;
    stopping_ = true;
    wake = std::move(wake_);
    wake_ = nullptr;
    threads.swap(threads_);
  }
  workCv_.notify_all();
  readyCv_.notify_all();
  for (auto& t : threads)
    if (t.get_id() != std::this_thread::get_id()) t.join();
    else t.detach();
  {
    std::lock_guard<std::mutex> lock(m_);
    slots_.clear();
  }
  if (wake) wake();
}

PipelineStats Pipeline::stats() const {
  std::lock_guard<std::mutex> lock(m_);
  PipelineStats s = stats_;
  if (busy_ > 0) s.busySeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - busySince_).count();
  return s;
}

std::vector<int64_t> Pipeline::order(int64_t epoch) const {
  return epochOrder(config_.source->size(), config_.seed, epoch, config_.shuffle);
}

}  // namespace alexnet::data
