#include "alexnet/device.hpp"
#include "alexnet/error.hpp"

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
  // A job that shuts its own stream down (exit() called from a stream job) cannot join itself.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Stream::submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ended_) {
      queue_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  std::lock_guard<std::mutex> lock(inlineMutex_);
  runJob(job);
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
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {  // stopping and drained
        ended_ = true;
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    runJob(job);
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
