#include "alexnet/distributed.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "alexnet/error.hpp"
#include "lost_ranks.hpp"
#include "mpi_loader.hpp"
#include "nccl_loader.hpp"

namespace alexnet::dist {
namespace {

// A group of one process: nothing to move.
class LocalCommunicator final : public Communicator {
 public:
  const char* name() const override { return "none"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allReduceSum(float*, size_t) override {}
  void allGather(const float* send, float* recv, const std::vector<size_t>& counts) override {
    std::memcpy(recv, send, counts[0] * sizeof(float));
  }
  void reduceScatterSum(const float* send, float* recv, const std::vector<size_t>& counts) override {
    std::memcpy(recv, send, counts[0] * sizeof(float));
  }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  std::vector<int> rollCall(double) override { return {}; }
  void finalize() override {}
  void abort(int) override {}  // a single process has nobody to stop; it exits by itself
};

Device& checkTensors(const std::vector<Tensor>& tensors, const char* what) {
  if (tensors.empty()) invalidArgument(std::string(what) + " needs at least one tensor");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    const std::string name = "tensors[" + std::to_string(i) + "]";
    if (!t.defined()) invalidArgument(name + " is undefined");
    if (t.dtype() != DType::Float32)
      invalidArgument(name + " must be float32, got " + dtypeName(t.dtype()));
    if (&t.device() != &tensors[0].device())
      invalidArgument(name + " is on " + t.device().name() + " but tensors[0] is on " + tensors[0].device().name() +
                      ": one collective covers the tensors of one device");
  }
  return tensors[0].device();
}

std::vector<StorageRef> storagesOf(const std::vector<Tensor>& tensors) {
  std::vector<StorageRef> out;
  for (const Tensor& t : tensors) out.push_back(t.storage());
  return out;
}

std::shared_future<void> readyFuture() {
  std::promise<void> p;
  p.set_value();
  return p.get_future().share();
}

class DoneCollective final : public Collective {
 public:
  void wait() override {}
  std::shared_future<void> done() const override { return readyFuture(); }
};

// Over the group's communicator in host memory: the tensors are copied into one buffer on their
// stream (a download from a GPU), reduced there on the communication thread, and copied back by the
// wait. The tensors themselves are not touched in between.
class HostCollective final : public Collective {
 public:
  struct State {
    std::vector<Tensor> tensors;
    std::vector<float> buffer;
    std::promise<void> gathered;
    std::exception_ptr inputError;  // a poisoned input: the outputs are poisoned with it
    std::shared_future<void> done;
  };

  HostCollective(ProcessGroup& group, const std::vector<Tensor>& tensors, ReduceOp op, int root)
      : state_(std::make_shared<State>()), device_(tensors[0].device()) {
    auto s = state_;
    s->tensors = tensors;
    size_t count = 0;
    for (const Tensor& t : tensors) count += static_cast<size_t>(t.numel());
    s->buffer.resize(count);
    std::shared_future<void> gathered = s->gathered.get_future().share();
    device_.stream().submit([s](Backend& b) {
      try {
        size_t offset = 0;
        for (const Tensor& t : s->tensors) {
          if (auto e = t.storage()->poison(); e && !s->inputError) s->inputError = e;
          if (t.device().kind() == DeviceKind::Cpu) std::memcpy(s->buffer.data() + offset, t.f32(), t.bytes());
          else b.copyToHost(s->buffer.data() + offset, t.f32(), t.bytes());
          offset += static_cast<size_t>(t.numel());
        }
      } catch (...) {
        if (!s->inputError) s->inputError = std::current_exception();
      }
      s->gathered.set_value();
    });
    const int size = group.size();
    // Every rank takes part even with a poisoned input, so the ranks stay in step.
    s->done = group.post([s, gathered, op, root, size](Communicator& comm) {
      gathered.wait();
      if (root < 0) {
        comm.allReduceSum(s->buffer.data(), s->buffer.size());
        if (op == ReduceOp::Mean) {
          const float n = static_cast<float>(size);
          for (float& v : s->buffer) v /= n;
        }
      } else {
        comm.broadcast(s->buffer.data(), s->buffer.size() * sizeof(float), root);
      }
      if (s->inputError) std::rethrow_exception(s->inputError);
    });
  }

  void wait() override {
    auto s = state_;
    device_.stream().submit(
        [s](Backend& b) {
          s->done.get();
          size_t offset = 0;
          for (const Tensor& t : s->tensors) {
            if (t.device().kind() == DeviceKind::Cpu) std::memcpy(t.f32(), s->buffer.data() + offset, t.bytes());
            else b.copyFromHost(t.f32(), s->buffer.data() + offset, t.bytes());
            offset += static_cast<size_t>(t.numel());
          }
        },
        {}, storagesOf(s->tensors));
  }

  std::shared_future<void> done() const override { return state_->done; }

 private:
  std::shared_ptr<State> state_;
  Device& device_;
};

// NCCL on the GPU: started on the device's stream thread (NCCL queues the transfer on a CUDA stream
// of its own after the work queued so far), waited for by an event on the device's CUDA stream.
class NcclCollective final : public Collective {
 public:
  struct State {
    std::vector<Tensor> tensors;
    std::vector<void*> pending;
    std::promise<void> waited;
    std::shared_future<void> done;
  };
  NcclCollective(ProcessGroup& group, void* comm, const std::vector<Tensor>& tensors, ReduceOp op, int root)
      : state_(std::make_shared<State>()), device_(tensors[0].device()), group_(group) {
    auto s = state_;
    s->tensors = tensors;
    s->done = s->waited.get_future().share();
    device_.stream().submit(
        [s, comm, op, root](Backend& b) {
          for (const Tensor& t : s->tensors)
            s->pending.push_back(nccl_loader::start(comm, t.f32(), static_cast<size_t>(t.numel()),
                                                    op == ReduceOp::Mean, root, b.nativeStream()));
        },
        storagesOf(tensors), storagesOf(tensors));
  }
  void wait() override {
    auto s = state_;
    ProcessGroup* group = &group_;  // outlives the waits: its shutdown synchronizes the NCCL devices
    device_.stream().submit(
        [s, group](Backend& b) {
          // Every pending transfer is waited for (and freed) even after one failed; the first
          // failure (RANK_LOST from the watchdog, with the lost ranks named by a roll call over
          // MPI, or NCCL_ERROR) is the collective's.
          std::exception_ptr failed;
          for (void* p : s->pending) {
            try {
              nccl_loader::wait(p, b.nativeStream());
            } catch (...) {
              if (!failed) failed = std::current_exception();
            }
          }
          s->pending.clear();
          if (!failed) return s->waited.set_value();
          failed = group->namingLostRanks(failed);
          s->waited.set_exception(failed);
          std::rethrow_exception(failed);
        },
        {}, storagesOf(s->tensors));
  }
  std::shared_future<void> done() const override { return state_->done; }

 private:
  std::shared_ptr<State> state_;
  Device& device_;
  ProcessGroup& group_;
};

// The geometry of an all-gather or reduce-scatter along one dimension: the tensors as [outer,
// total columns], rank q owning `inner[q]` of the columns of every row (its slices along the
// dimension times the elements below it).
struct Split {
  size_t outer = 1;
  std::vector<size_t> inner, offset;
  size_t total = 0;
};

Split checkSplit(const Tensor& whole, const Tensor& part, int dim, const std::vector<int64_t>& counts, int rank,
                 int size, const char* what, const char* wholeName, const char* partName) {
  checkTensors({whole, part}, what);
  const Shape& ws = whole.shape();
  const Shape& ps = part.shape();
  const std::string op(what);
  if (dim < 0 || dim >= static_cast<int>(ws.size()))
    invalidArgument(op + ": dim must be in [0, " + std::to_string(ws.size()) + ") for " + wholeName + " " +
                    shapeString(ws) + ", got " + std::to_string(dim));
  if (counts.size() != static_cast<size_t>(size))
    invalidArgument(op + ": counts must have one entry per rank (" + std::to_string(size) + "), got " +
                    std::to_string(counts.size()));
  int64_t sum = 0;
  for (size_t q = 0; q < counts.size(); ++q) {
    if (counts[q] < 0) invalidArgument(op + ": counts[" + std::to_string(q) + "] is negative");
    sum += counts[q];
  }
  Shape want = ws;
  want[static_cast<size_t>(dim)] = counts[static_cast<size_t>(rank)];
  if (ws[static_cast<size_t>(dim)] != sum)
    invalidArgument(op + ": " + wholeName + " " + shapeString(ws) + " must have the sum of counts (" + std::to_string(sum) +
                    ") along dim " + std::to_string(dim));
  if (ps != want)
    invalidArgument(op + ": " + partName + " must have shape " + shapeString(want) + " (rank " + std::to_string(rank) +
                    "'s counts along dim " + std::to_string(dim) + "), got " + shapeString(ps));
  if (whole.storage() == part.storage())
    invalidArgument(op + ": " + wholeName + " and " + partName + " must not share storage");
  Split s;
  size_t below = 1;
  for (size_t i = 0; i < ws.size(); ++i) {
    if (static_cast<int>(i) < dim) s.outer *= static_cast<size_t>(ws[i]);
    if (static_cast<int>(i) > dim) below *= static_cast<size_t>(ws[i]);
  }
  for (int64_t c : counts) {
    s.offset.push_back(s.total);
    s.inner.push_back(static_cast<size_t>(c) * below);
    s.total += static_cast<size_t>(c) * below;
  }
  return s;
}

// Rank-major blocks [outer, inner[q]] (`packed`) to and from the columns of [outer, total] (`whole`).
void packColumns(const Split& s, const float* whole, float* packed) {
  size_t at = 0;
  for (size_t q = 0; q < s.inner.size(); ++q)
    for (size_t o = 0; o < s.outer; ++o, at += s.inner[q])
      std::memcpy(packed + at, whole + o * s.total + s.offset[q], s.inner[q] * sizeof(float));
}
void unpackColumns(const Split& s, const float* packed, float* whole) {
  size_t at = 0;
  for (size_t q = 0; q < s.inner.size(); ++q)
    for (size_t o = 0; o < s.outer; ++o, at += s.inner[q])
      std::memcpy(whole + o * s.total + s.offset[q], packed + at, s.inner[q] * sizeof(float));
}

void download(Backend& b, const Tensor& t, float* to) {
  if (t.device().kind() == DeviceKind::Cpu) std::memcpy(to, t.f32(), t.bytes());
  else b.copyToHost(to, t.f32(), t.bytes());
}
void upload(Backend& b, const float* from, const Tensor& t) {
  if (t.device().kind() == DeviceKind::Cpu) std::memcpy(t.f32(), from, t.bytes());
  else b.copyFromHost(t.f32(), from, t.bytes());
}

// All-gather or reduce-scatter over the group's communicator in host memory, like HostCollective:
// the input is downloaded (and, for a reduce-scatter, its columns packed into rank-major blocks) on
// its stream, exchanged on the communication thread, and the wait writes the output (unpacking a
// gather's blocks into their columns).
class HostExchange final : public Collective {
 public:
  enum class Kind { AllGather, ReduceScatter };
  struct State {
    Tensor input, output;
    Split split;
    std::vector<float> send, recv;
    std::promise<void> staged;
    std::exception_ptr inputError;
    std::shared_future<void> done;
  };

  HostExchange(ProcessGroup& group, const Tensor& input, const Tensor& output, Split split, Kind kind, ReduceOp op)
      : state_(std::make_shared<State>()), device_(input.device()) {
    auto s = state_;
    s->input = input;
    s->output = output;
    s->split = std::move(split);
    const int rank = group.rank(), size = group.size();
    const size_t own = s->split.outer * s->split.inner[static_cast<size_t>(rank)];
    s->send.resize(kind == Kind::AllGather ? own : s->split.outer * s->split.total);
    s->recv.resize(kind == Kind::AllGather ? s->split.outer * s->split.total : own);
    std::shared_future<void> staged = s->staged.get_future().share();
    device_.stream().submit([s, kind](Backend& b) {
      try {
        if (auto e = s->input.storage()->poison()) s->inputError = e;
        if (kind == Kind::AllGather) {
          download(b, s->input, s->send.data());
        } else {
          std::vector<float> whole(s->send.size());
          download(b, s->input, whole.data());
          packColumns(s->split, whole.data(), s->send.data());
        }
      } catch (...) {
        if (!s->inputError) s->inputError = std::current_exception();
      }
      s->staged.set_value();
    });
    // Every rank takes part even with a poisoned input, so the ranks stay in step.
    s->done = group.post([s, staged, kind, op, size](Communicator& comm) {
      staged.wait();
      std::vector<size_t> counts;
      for (size_t n : s->split.inner) counts.push_back(n * s->split.outer);
      if (kind == Kind::AllGather) {
        comm.allGather(s->send.data(), s->recv.data(), counts);
      } else {
        comm.reduceScatterSum(s->send.data(), s->recv.data(), counts);
        if (op == ReduceOp::Mean)
          for (float& v : s->recv) v /= static_cast<float>(size);
      }
      if (s->inputError) std::rethrow_exception(s->inputError);
    });
    kind_ = kind;
  }

  void wait() override {
    auto s = state_;
    const Kind kind = kind_;
    device_.stream().submit(
        [s, kind](Backend& b) {
          s->done.get();
          if (kind == Kind::ReduceScatter || s->split.outer == 1) {
            upload(b, s->recv.data(), s->output);
          } else {
            std::vector<float> whole(s->recv.size());
            unpackColumns(s->split, s->recv.data(), whole.data());
            upload(b, whole.data(), s->output);
          }
        },
        {}, {s->output.storage()});
  }

  std::shared_future<void> done() const override { return state_->done; }

 private:
  std::shared_ptr<State> state_;
  Device& device_;
  Kind kind_ = Kind::AllGather;
};

// An all-gather or reduce-scatter with NCCL on the communicator's stream, like NcclCollective.
class NcclExchange final : public Collective {
 public:
  struct State {
    Tensor input, output;
    void* pending = nullptr;
    std::promise<void> waited;
    std::shared_future<void> done;
  };
  NcclExchange(ProcessGroup& group, void* comm, const Tensor& input, const Tensor& output, Split split,
               HostExchange::Kind kind, ReduceOp op)
      : state_(std::make_shared<State>()), device_(input.device()), group_(group) {
    auto s = state_;
    s->input = input;
    s->output = output;
    s->done = s->waited.get_future().share();
    device_.stream().submit(
        [s, comm, split, kind, op](Backend& b) {
          s->pending = kind == HostExchange::Kind::AllGather
              ? nccl_loader::startAllGather(comm, s->input.f32(), s->output.f32(), split.outer, split.inner, b.nativeStream())
              : nccl_loader::startReduceScatter(comm, s->input.f32(), s->output.f32(), split.outer, split.inner,
                                                op == ReduceOp::Mean, b.nativeStream());
        },
        {input.storage()}, {output.storage()});
  }
  void wait() override {
    auto s = state_;
    ProcessGroup* group = &group_;  // as NcclCollective's
    device_.stream().submit(
        [s, group](Backend& b) {
          try {
            if (s->pending) nccl_loader::wait(s->pending, b.nativeStream());
            s->pending = nullptr;
            s->waited.set_value();
          } catch (...) {
            s->pending = nullptr;
            std::exception_ptr failed = group->namingLostRanks(std::current_exception());
            s->waited.set_exception(failed);
            std::rethrow_exception(failed);
          }
        },
        {}, {s->output.storage()});
  }
  std::shared_future<void> done() const override { return state_->done; }

 private:
  std::shared_ptr<State> state_;
  Device& device_;
  ProcessGroup& group_;
};

std::mutex& groupMutex() {
  static auto* m = new std::mutex();
  return *m;
}
std::shared_ptr<ProcessGroup>& theGroup() {
  static auto* g = new std::shared_ptr<ProcessGroup>();
  return *g;
}

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  return (*end == '\0' && n >= 0 && n < (1 << 24)) ? static_cast<int>(n) : fallback;
}

}  // namespace

struct ProcessGroup::Impl {
  std::unique_ptr<Communicator> comm;
  std::mutex mutex;
  std::condition_variable wake;
  struct Entry {
    std::function<void(Communicator&)> job;
    std::shared_ptr<std::promise<void>> promise;
  };
  std::deque<Entry> queue;
  bool stopping = false, ended = false, abortAtShutdown = false;
  std::exception_ptr lost;  // RANK_LOST or an MPI failure: every later collective fails with it
  std::thread thread;
  std::mutex shutdownMutex;
  std::map<Device*, void*> ncclComms;  // per CUDA device, created on first use
  // The roll call after an NCCL collective gave up, held once for the group: every NCCL collective
  // that fails with the lost rank (several buckets of gradients, on several devices) waits for the
  // same one, until the same deadline, so the ranks' roll calls stay in step and the error comes in
  // bounded time.
  struct LostRollCall {
    ProcessGroup::RollCall call;
    std::shared_ptr<std::atomic<bool>> abandoned;
    std::chrono::steady_clock::time_point deadline;
  };
  std::mutex lostRollCallMutex;
  std::shared_ptr<LostRollCall> lostRollCall;

  void run() {
    for (;;) {
      Entry entry;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        entry = std::move(queue.front());
        queue.pop_front();
      }
      if (lost) {
        entry.promise->set_exception(lost);
        continue;
      }
      try {
        entry.job(*comm);
        entry.promise->set_value();
      } catch (const Error& e) {
        if (e.code() == "RANK_LOST" || e.code() == "MPI_ERROR") lost = std::current_exception();
        entry.promise->set_exception(std::current_exception());
      } catch (...) {
        entry.promise->set_exception(std::current_exception());
      }
    }
  }
};

ProcessGroup::ProcessGroup(std::unique_ptr<Communicator> comm, int localRank, const GroupOptions& options)
    : impl_(std::make_unique<Impl>()), localRank_(localRank), timeoutSeconds_(options.timeoutSeconds) {
  rank_ = comm->rank();
  size_ = comm->size();
  impl_->comm = std::move(comm);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

ProcessGroup::~ProcessGroup() { shutdown(); }

std::shared_future<void> ProcessGroup::post(std::function<void(Communicator&)> job) {
  auto promise = std::make_shared<std::promise<void>>();
  std::shared_future<void> future = promise->get_future().share();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->ended) {
      promise->set_exception(std::make_exception_ptr(
          Error("INVALID_ARGUMENT", "the process group has shut down: no more collectives")));
      return future;
    }
    impl_->queue.push_back({std::move(job), promise});
  }
  impl_->wake.notify_one();
  return future;
}

void ProcessGroup::abortAtShutdown() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->abortAtShutdown = true;
}

void ProcessGroup::shutdown() {
  std::lock_guard<std::mutex> once(impl_->shutdownMutex);
  if (!impl_->thread.joinable()) return;
  Impl* impl = impl_.get();
  for (auto& [device, comm] : impl->ncclComms) {
    device->synchronize();
    nccl_loader::destroy(comm);
  }
  impl->ncclComms.clear();
  bool abort;
  {
    std::lock_guard<std::mutex> lock(impl->mutex);
    abort = impl->abortAtShutdown;
  }
  // A failed rank ends the job at once, even while a collective of its thread waits for peers that
  // wait for nothing more from it (MPI_Abort is the one call made beside that thread's).
  if (abort) impl->comm->abort(1);
  std::shared_future<void> last = post([](Communicator& comm) { comm.finalize(); });
  {
    std::lock_guard<std::mutex> lock(impl->mutex);
    impl->ended = true;
  }
  // After a lost rank the job above is refused (run() fails it): the whole job must end instead.
  try {
    last.get();
  } catch (...) {
    if (impl->lost) impl->comm->abort(1);
  }
  {
    std::lock_guard<std::mutex> lock(impl->mutex);
    impl->stopping = true;
  }
  impl->wake.notify_all();
  impl->thread.join();
}

ProcessGroup::RollCall ProcessGroup::rollCall(double seconds, std::shared_ptr<std::atomic<bool>> abandoned) {
  auto missing = std::make_shared<std::vector<int>>();
  std::shared_future<void> done = post([missing, seconds, abandoned](Communicator& comm) {
    if (abandoned && *abandoned) return;  // its caller stopped waiting: hold no roll call the peers would not match
    *missing = comm.rollCall(seconds);
  });
  return {done, missing};
}

// NCCL's RANK_LOST names no rank. The stream thread that waited for the collective cannot call MPI
// (only the communication thread may), so it posts the roll call there and waits for it, bounded: the
// NCCL watchdog's timeout, then the roll call's window (lost_ranks::rollCallSeconds, at most 10 s)
// and kPickUpSeconds for the thread to take it, within 60 s at the default timeout of 30 s.
std::exception_ptr ProcessGroup::namingLostRanks(std::exception_ptr failure) noexcept {
  constexpr double kPickUpSeconds = 5;
  try {
    std::string text, call, hint;
    try {
      std::rethrow_exception(failure);
    } catch (const Error& e) {
      if (e.code() != "RANK_LOST" || size_ == 1) return failure;
      text = e.what();
      call = e.call();
      hint = e.hint();
    } catch (...) {
      return failure;
    }
    const double window = lost_ranks::rollCallSeconds(timeoutSeconds_);
    std::shared_ptr<Impl::LostRollCall> held;
    {
      std::lock_guard<std::mutex> lock(impl_->lostRollCallMutex);
      if (!impl_->lostRollCall) {
        auto fresh = std::make_shared<Impl::LostRollCall>();
        fresh->abandoned = std::make_shared<std::atomic<bool>>(false);
        fresh->deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(window + kPickUpSeconds));
        fresh->call = rollCall(window, fresh->abandoned);
        impl_->lostRollCall = fresh;
      }
      held = impl_->lostRollCall;
    }
    lost_ranks::RollCallOutcome outcome;
    using Kind = lost_ranks::RollCallOutcome::Kind;
    if (held->call.done.wait_until(held->deadline) != std::future_status::ready) {
      *held->abandoned = true;
      outcome.kind = Kind::NotAnswered;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", window + kPickUpSeconds);
      outcome.detail = std::string("the communication thread did not take it within ") + seconds +
                       " s (an earlier transfer holds it)";
    } else {
      try {
        held->call.done.get();
        outcome.missing = *held->call.missing;
      } catch (const Error& e) {
        outcome.kind = e.code() == "RANK_LOST" ? Kind::MpiLost : Kind::Failed;
        outcome.detail = e.what();
      } catch (const std::exception& e) {
        outcome.kind = Kind::Failed;
        outcome.detail = e.what();
      }
    }
    return std::make_exception_ptr(Error("RANK_LOST", lost_ranks::ncclLost(text, outcome, window), call, hint));
  } catch (...) {
    return failure;  // naming the rank is a courtesy: never lose the error itself over it
  }
}

std::string ProcessGroup::transport(DeviceKind kind) const {
  if (size_ == 1) return "none";
  if (kind == DeviceKind::Cpu) return "mpi";
  return nccl_loader::available(nullptr) ? "nccl" : "mpi (staged through host memory)";
}

std::shared_ptr<Collective> ProcessGroup::allReduce(const std::vector<Tensor>& tensors, ReduceOp op) {
  Device& device = checkTensors(tensors, "allReduce");
  if (size_ == 1) return std::make_shared<DoneCollective>();
  if (device.kind() == DeviceKind::Cuda && nccl_loader::available(nullptr)) {
    void* comm = ncclCommunicator(device);
    return std::make_shared<NcclCollective>(*this, comm, tensors, op, -1);
  }
  return std::make_shared<HostCollective>(*this, tensors, op, -1);
}

void* ProcessGroup::ncclCommunicator(Device& device) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->ncclComms.find(&device);
    if (it != impl_->ncclComms.end()) return it->second;
  }
  // The unique id goes from rank 0 to every rank over MPI (once per device).
  auto id = std::make_shared<std::vector<char>>(128);
  const int rank = rank_;
  post([id, rank](Communicator& c) {
    if (rank == 0) nccl_loader::uniqueId(id->data(), id->size());
    c.broadcast(id->data(), id->size(), 0);
  }).get();
  void* comm = nccl_loader::create(device.index(), rank_, size_, id->data(), id->size(), timeoutSeconds_);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->ncclComms[&device] = comm;
  return comm;
}

std::shared_ptr<Collective> ProcessGroup::allGather(const Tensor& input, const Tensor& output, int dim,
                                                    const std::vector<int64_t>& counts) {
  Split split = checkSplit(output, input, dim, counts, rank_, size_, "allGather", "output", "input");
  Device& device = input.device();
  if (size_ > 1 && device.kind() == DeviceKind::Cuda && nccl_loader::available(nullptr))
    return std::make_shared<NcclExchange>(*this, ncclCommunicator(device), input, output, std::move(split),
                                          HostExchange::Kind::AllGather, ReduceOp::Sum);
  return std::make_shared<HostExchange>(*this, input, output, std::move(split), HostExchange::Kind::AllGather, ReduceOp::Sum);
}

std::shared_ptr<Collective> ProcessGroup::reduceScatter(const Tensor& input, const Tensor& output, int dim,
                                                        const std::vector<int64_t>& counts, ReduceOp op) {
  Split split = checkSplit(input, output, dim, counts, rank_, size_, "reduceScatter", "input", "output");
  Device& device = input.device();
  if (size_ > 1 && device.kind() == DeviceKind::Cuda && nccl_loader::available(nullptr))
    return std::make_shared<NcclExchange>(*this, ncclCommunicator(device), input, output, std::move(split),
                                          HostExchange::Kind::ReduceScatter, op);
  return std::make_shared<HostExchange>(*this, input, output, std::move(split), HostExchange::Kind::ReduceScatter, op);
}

std::shared_ptr<Collective> ProcessGroup::broadcast(const std::vector<Tensor>& tensors, int root) {
  checkTensors(tensors, "broadcast");
  if (root < 0 || root >= size_)
    invalidArgument("root must be a rank in [0, " + std::to_string(size_) + "), got " + std::to_string(root));
  if (size_ == 1) return std::make_shared<DoneCollective>();
  // Broadcasts happen at start and on resume only: staged through the host on every device kind.
  return std::make_shared<HostCollective>(*this, tensors, ReduceOp::Sum, root);
}

std::shared_future<void> ProcessGroup::barrier() {
  if (size_ == 1) return readyFuture();
  return post([](Communicator& c) { c.barrier(); });
}

std::shared_ptr<ProcessGroup> ProcessGroup::fromEnvironment(const GroupOptions& options) {
  std::lock_guard<std::mutex> lock(groupMutex());
  std::shared_ptr<ProcessGroup>& group = theGroup();
  if (group) return group;
  if (!(options.timeoutSeconds > 0)) invalidArgument("timeoutSeconds must be positive");
  const int size = envInt("OMPI_COMM_WORLD_SIZE", 1);
  const int localRank = envInt("OMPI_COMM_WORLD_LOCAL_RANK", 0);
  std::unique_ptr<Communicator> comm;
  if (size <= 1) comm = std::make_unique<LocalCommunicator>();
  else comm = mpi_loader::create(options.timeoutSeconds);
  const int envRank = envInt("OMPI_COMM_WORLD_RANK", comm->rank());
  if (comm->size() != size || comm->rank() != envRank)
    throw Error("MPI_ERROR", "MPI reports rank " + std::to_string(comm->rank()) + " of " + std::to_string(comm->size()) +
                                 " but the launcher's environment says " + std::to_string(envRank) + " of " +
                                 std::to_string(size), "MPI_Comm_rank");
  group = std::make_shared<ProcessGroup>(std::move(comm), localRank, options);
  // At exit (registered after the devices' own hook, so it runs before it): finalize, or end the
  // job after a lost rank.
  std::atexit([] {
    std::shared_ptr<ProcessGroup> g;
    {
      std::lock_guard<std::mutex> l(groupMutex());
      g = theGroup();
    }
    if (g) g->shutdown();
  });
  return group;
}

std::shared_ptr<ProcessGroup> ProcessGroup::current() {
  std::lock_guard<std::mutex> lock(groupMutex());
  return theGroup();
}

std::string ProcessGroup::mpiStatus() { return mpi_loader::status(); }
std::string ProcessGroup::ncclStatus() { return nccl_loader::status(); }
void ProcessGroup::requireNccl() { nccl_loader::require(); }

}  // namespace alexnet::dist
