#include "alexnet/device.hpp"
#include "alexnet/error.hpp"
#include "alexnet/tensor.hpp"

namespace alexnet {

Stream::Stream(Backend& backend, std::string name) : backend_(backend), name_(std::move(name)) {
  thread_ = std::thread([this] { run(); });
}

Stream::~Stream() { shutdown(); }

void Stream::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  drained_.notify_all();
  // A job that shuts its own stream down (exit() called from a stream job) cannot join itself.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Stream::enqueue(Job job, size_t bytes) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ended_ && std::this_thread::get_id() != thread_.get_id()) {
      drained_.wait(lock, [&] {
        if (stopping_ || ended_ || queuedJobs_ == 0) return true;
        return queuedJobs_ < kMaxQueuedJobs && queuedBytes_ + bytes <= kMaxQueuedBytes;
      });
    }
    if (!ended_) {
      queue_.push_back({std::move(job), bytes});
      ++queuedJobs_;
      queuedBytes_ += bytes;
      wake_.notify_one();
      return;
    }
  }
  std::lock_guard<std::mutex> lock(inlineMutex_);
  runJob(job);
}

void Stream::submit(Job job) { enqueue(std::move(job), 0); }

void Stream::submit(Job job, std::vector<StorageRef> reads, std::vector<StorageRef> writes) {
  size_t bytes = 0;
  for (const StorageRef& s : writes) bytes += s->bytes();
  enqueue(
      [job = std::move(job), reads = std::move(reads), writes = std::move(writes)](Backend& backend) {
        std::exception_ptr error;
        for (const StorageRef& s : reads) {
          error = s->poison();
          if (error) break;
        }
        if (!error) {
          try {
            job(backend);
          } catch (...) {
            error = std::current_exception();
          }
        }
        // On success this clears what an earlier failed writer left: the block is valid again.
        for (const StorageRef& s : writes) s->setPoison(error);
      },
      bytes);
}

std::shared_future<void> Stream::fence() {
  auto promise = std::make_shared<std::promise<void>>();
  std::shared_future<void> future = promise->get_future().share();
  submit([this, promise](Backend& backend) {
    try {
      backend.synchronize();
    } catch (...) {
      if (!pendingError_) pendingError_ = std::current_exception();
    }
    // Jobs run on this thread only, so pendingError_ needs no lock here.
    if (pendingError_) {
      promise->set_exception(pendingError_);
      pendingError_ = nullptr;
    } else {
      promise->set_value();
    }
  });
  return future;
}

void Stream::run() {
  for (;;) {
    Entry entry;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {  // stopping and drained: later submissions run on their own thread
        ended_ = true;
        drained_.notify_all();
        return;
      }
      entry = std::move(queue_.front());
      queue_.pop_front();
    }
    runJob(entry.job);
    // Drop what the job holds (its blocks go back to the cache) before admitting more work.
    entry.job = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --queuedJobs_;
      queuedBytes_ -= entry.bytes;
    }
    drained_.notify_all();
  }
}

void Stream::runJob(Job& job) {
  try {
    job(backend_);
  } catch (...) {
    // Keep the first failure for the next fence; later work still runs (on possibly wrong data)
    // so that every waiter is woken and nothing hangs.
    if (!pendingError_) pendingError_ = std::current_exception();
  }
}

}  // namespace alexnet
