// The batch-producing thread pool.
#include "alexnet/data/pipeline.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "alexnet/data/errors.hpp"
#include "alexnet/data/parallel.hpp"
#include "alexnet/data/sampling.hpp"

namespace alexnet::data {

BufferPool::~BufferPool() {
  for (void* p : free_) std::free(p);
}

void* BufferPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (!free_.empty()) {
      void* p = free_.back();
      free_.pop_back();
      return p;
    }
  }
  return std::malloc(std::max<size_t>(1, bytes_));
}

void BufferPool::release(void* buffer) {
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
    if (buffer) pool->release(buffer);
    index = other.index;
    images = other.images;
    crops = other.crops;
    skipped = other.skipped;
    data = other.data;
    floats = other.floats;
    params = other.params;
    paramFloats = other.paramFloats;
    pixels = other.pixels;
    pixelBytes = other.pixelBytes;
    buffer = other.release();
    pool = std::move(other.pool);
    labels = std::move(other.labels);
    indices = std::move(other.indices);
  }
  return *this;
}

struct Pipeline::Slot {
  std::shared_ptr<BufferPool> pool;
  int64_t begin = 0, end = 0;  // positions in the epoch
  void* buffer = nullptr;
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;
  std::vector<uint8_t> bad;
  int64_t remaining = 0;
  int64_t skipped = 0;
  int64_t errorPosition = INT64_MAX;
  std::exception_ptr error;
  bool ready = false;
  ~Slot() {
    if (buffer) pool->release(buffer);
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
  if (c.workers > kMaxWorkers)
    invalidArgument("workers must be at most " + std::to_string(kMaxWorkers) + ", got " + std::to_string(c.workers));
  if (c.channels != 1 && c.channels != 3) invalidArgument("channels must be 1 or 3");
  if (c.shardCount < 1 || c.shardIndex < 0 || c.shardIndex >= c.shardCount)
    invalidArgument("shardIndex must be in [0, shardCount) and shardCount >= 1, got " +
                    std::to_string(c.shardIndex) + " of " + std::to_string(c.shardCount));
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
int chunkFor(const PipelineConfig& c, size_t outputValuesPerImage) {
  const size_t work = static_cast<size_t>(c.size) * c.size * c.channels + outputValuesPerImage;
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
  // Raw batches: the params of the whole batch first (float-aligned), then the pixels.
  const size_t bufferBytes = std::max<size_t>(
      1, config_.output == OutputMode::Raw
             ? (paramFloatsPerImage() * sizeof(float) + pixelBytesPerImage()) * static_cast<size_t>(b)
             : floatsPerImage_ * static_cast<size_t>(b) * sizeof(float));
  // Spare buffers kept: those in flight ahead of the consumer plus a few the consumer holds, but
  // at most about 1 GiB of them (a ten-crop batch of 128 images is 770 MB).
  const size_t keep = std::min(static_cast<size_t>(config_.prefetch) + 3, std::max<size_t>(2, (size_t(1) << 30) / bufferBytes));
  pool_ = std::make_shared<BufferPool>(bufferBytes, keep);
  threads_.reserve(static_cast<size_t>(config_.workers));
  try {
    for (int w = 0; w < config_.workers; ++w)
      threads_.push_back(startThread([this, w] { work(w); }, "data loader", w, config_.workers));
  } catch (...) {
    close();  // joins the threads that did start: a joinable std::thread left behind would abort
    throw;
  }
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

std::pair<int64_t, int64_t> Pipeline::shardOf(int64_t b) const {
  const int64_t begin = b * config_.batchSize;
  const int64_t n = std::min<int64_t>(config_.batchSize, images_ - begin);
  return {begin + n * config_.shardIndex / config_.shardCount,
          begin + n * (config_.shardIndex + 1) / config_.shardCount};
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
  const int chunk = chunkFor(config_, config_.output == OutputMode::Raw ? 0 : floatsPerImage_);
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
    const auto [shardBegin, shardEnd] = shardOf(b);
    nextPosition_ = std::max(nextPosition_, shardBegin);  // other processes' rows are skipped
    std::shared_ptr<Slot>& entry = slots_[b];
    if (!entry) {
      entry = std::make_shared<Slot>();
      Slot& s = *entry;
      s.pool = pool_;
      s.begin = shardBegin;
      s.end = shardEnd;
      s.remaining = s.end - s.begin;
      s.buffer = pool_->acquire();
      if (!s.buffer) {
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
    // At the end of this process's share the next batch begins (an empty share completes at once).
    nextPosition_ = p1 < slot->end ? p1 : (b + 1) * config_.batchSize;
    const uint64_t generation = generation_;
    const int64_t epoch = epoch_;
    busyChange(+1);
    lock.unlock();

    failures.clear();
    if (slot->buffer) {
      for (int64_t p = p0; p < p1; ++p) {
        try {
          produce(p, epoch, slot->indices[static_cast<size_t>(p - slot->begin)], slot->buffer,
                  static_cast<size_t>(p - slot->begin), scratch);
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

float* Pipeline::floatsOf(void* buffer, size_t k) const {
  return static_cast<float*>(buffer) + k * floatsPerImage_;
}
float* Pipeline::paramsOf(void* buffer, size_t k) const {
  return static_cast<float*>(buffer) + k * paramFloatsPerImage();
}
uint8_t* Pipeline::pixelsOf(void* buffer, size_t k) const {
  const size_t paramBytes = static_cast<size_t>(config_.batchSize) * paramFloatsPerImage() * sizeof(float);
  return static_cast<uint8_t*>(buffer) + paramBytes + k * pixelBytesPerImage();
}

// Image k of a batch: the crop windows and the colour offset come from the same draws in both
// output modes; float output crops on the host, raw output records them for the device.
void Pipeline::produce(int64_t position, int64_t epoch, int64_t index, void* buffer, size_t k,
                       Scratch& scratch) const {
  const PipelineConfig& c = config_;
  const ImageView img = prepareImage(*c.source, index, c.size, c.channels, scratch);
  const int h = c.cropHeight, w = c.cropWidth;
  CropWindow windows[10];
  int rows = 1;
  float offset[4] = {0, 0, 0, 0};
  bool colour = false;
  if (c.crop == CropMode::TenCrop) {
    tenCropWindows(c.size, h, w, windows);
    rows = 10;
  } else {
    const Draws d = draws(epoch, position);
    windows[0] = {d.cropY, d.cropX, d.flip};
    colour = c.pcaStd != 0.0f;
    if (colour) colourOffset(c.eigvec, c.eigval, d.alpha, c.channels, offset);
  }
  if (c.output == OutputMode::Raw) {
    std::memcpy(pixelsOf(buffer, k), img.data, pixelBytesPerImage());
    float* p = paramsOf(buffer, k);
    for (int r = 0; r < rows; ++r, p += 3 + c.channels) {
      p[0] = static_cast<float>(windows[r].y);
      p[1] = static_cast<float>(windows[r].x);
      p[2] = windows[r].flip ? 1.0f : 0.0f;
      for (int ch = 0; ch < c.channels; ++ch) p[3 + ch] = offset[ch];
    }
    return;
  }
  const Normalisation norm{c.scale, c.mean, c.meanData.empty() ? nullptr : c.meanData.data()};
  float* out = floatsOf(buffer, k);
  for (int r = 0; r < rows; ++r)
    writeCrop(img, norm, colour ? offset : nullptr, windows[r], h, w, out + static_cast<size_t>(r) * c.channels * h * w);
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

void Pipeline::moveImage(void* buffer, size_t from, size_t to) const {
  if (config_.output == OutputMode::Raw) {
    std::memmove(paramsOf(buffer, to), paramsOf(buffer, from), paramFloatsPerImage() * sizeof(float));
    std::memmove(pixelsOf(buffer, to), pixelsOf(buffer, from), pixelBytesPerImage());
  } else {
    std::memmove(floatsOf(buffer, to), floatsOf(buffer, from), floatsPerImage_ * sizeof(float));
  }
}

// Moves the rows of skipped images out, so a batch holds only images that were prepared.
void Pipeline::finish(Slot& s) const {
  size_t kept = 0;
  for (size_t k = 0; k < s.bad.size(); ++k) {
    if (s.bad[k]) continue;
    if (kept != k) {
      if (s.buffer) moveImage(s.buffer, k, kept);
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
  if (out.buffer) out.pool->release(out.buffer);
  out.pool = pool_;
  out.buffer = slot->buffer;
  slot->buffer = nullptr;
  const size_t images = slot->indices.size();
  if (config_.output == OutputMode::Raw) {
    out.data = nullptr;
    out.floats = 0;
    out.params = paramsOf(out.buffer, 0);
    out.paramFloats = images * paramFloatsPerImage();
    out.pixels = pixelsOf(out.buffer, 0);
    out.pixelBytes = images * pixelBytesPerImage();
  } else {
    out.data = floatsOf(out.buffer, 0);
    out.floats = images * floatsPerImage_;
    out.params = nullptr;
    out.paramFloats = 0;
    out.pixels = nullptr;
    out.pixelBytes = 0;
  }
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
