// Data parallelism: a group of processes (ranks) and collectives on tensors between them.
//
// Transports sit behind the Communicator interface, beside the backends: MPI for host memory (CPU
// tensors, and CUDA tensors staged through the host where NCCL is absent) and NCCL for CUDA memory
// (its unique id exchanged over MPI). Each is a module loaded on first use (libalexnet_mpi.so,
// libalexnet_nccl.so), so the core loads where neither is installed; a group of one process needs
// neither and its collectives change nothing.
//
// Execution: a collective is queued like an op. start() returns at once; the transfer begins when
// the work queued so far on the tensors' stream has produced them, and runs beside the work queued
// after it (MPI on the group's communication thread, NCCL on a CUDA stream of its own). wait()
// queues the point from which later work on that stream sees the result. So gradients reduced in
// buckets during the backward pass overlap it. Every rank must start the same collectives in the
// same order.
//
// Failure: a collective that a peer never joins fails after the group's timeout with RANK_LOST
// naming the lost ranks; from then on every collective fails at once with the same error (the
// tensors it writes are poisoned), and the process must end: the group's shutdown() then aborts
// the whole job through the launcher instead of waiting for the lost peer.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "alexnet/tensor.hpp"

namespace alexnet::dist {

enum class ReduceOp { Sum, Mean };

// A transport between the ranks of one group. The host-memory collectives block until done (or
// throw RANK_LOST after `timeoutSeconds`); the group calls them from its communication thread only,
// one at a time, in the same order on every rank.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual const char* name() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void allReduceSum(float* data, size_t count) = 0;     // in place
  // recv <- the concatenation, in rank order, of every rank's send (counts[q] floats from rank q;
  // this rank's send holds counts[rank()]).
  virtual void allGather(const float* send, float* recv, const std::vector<size_t>& counts) = 0;
  // send holds size() blocks in rank order (counts[q] floats each); recv (counts[rank()] floats)
  // <- the sum over the ranks of their block rank(). The inverse of allGather's data movement.
  virtual void reduceScatterSum(const float* send, float* recv, const std::vector<size_t>& counts) = 0;
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // The ranks that do not answer a roll call within `seconds` (every rank that wants to know calls
  // it; the n-th call of each answers the n-th of the others). What names a lost rank where the
  // transfer cannot: a stalled MPI transfer, an NCCL collective that gave up. A group of one
  // process has nobody to miss.
  virtual std::vector<int> rollCall(double seconds) = 0;
  // The orderly end (MPI_Finalize), and the end after a lost rank (MPI_Abort: the launcher ends
  // every rank, the lost one included).
  virtual void finalize() = 0;
  virtual void abort(int status) = 0;
};

class ProcessGroup;

// A collective in flight. wait() may be called once per stream it covers; a collective that is
// never waited for still completes (the group keeps it alive).
class Collective {
 public:
  virtual ~Collective() = default;
  // Queues, on the stream of the tensors, the wait for the result: later work there sees it. If the
  // collective fails, the tensors it writes are poisoned with the error.
  virtual void wait() = 0;
  // Ready when the transfer is done (or holds its error); for callers that do not use the tensors.
  virtual std::shared_future<void> done() const = 0;
};

struct GroupOptions {
  // How long a collective may wait for the slowest rank before the group declares it lost.
  double timeoutSeconds = 30.0;
};

class ProcessGroup {
 public:
  // The group the launcher formed. With Open MPI's environment (OMPI_COMM_WORLD_SIZE > 1, as
  // mpirun sets it) MPI is initialised (MPI_UNAVAILABLE when the module or libmpi cannot be loaded,
  // with the install hint); otherwise a group of one. The same group on every later call.
  static std::shared_ptr<ProcessGroup> fromEnvironment(const GroupOptions& options = {});
  // The group formed so far, or null.
  static std::shared_ptr<ProcessGroup> current();
  // What each transport module reports: "available: Open MPI v4.1.4" or "unavailable: <why>".
  static std::string mpiStatus();
  static std::string ncclStatus();
  // Throws NCCL_UNAVAILABLE (what was looked for, how to install it) unless NCCL can be used here.
  static void requireNccl();

  int rank() const { return rank_; }
  int size() const { return size_; }
  int localRank() const { return localRank_; }  // the rank among those on this machine (the GPU to use)
  double timeoutSeconds() const { return timeoutSeconds_; }
  // Which transport moves tensors of `kind`: "none" (a group of one), "mpi", "mpi (staged through
  // host memory)" or "nccl".
  std::string transport(DeviceKind kind) const;

  // Float32 tensors on one device. Mean divides the sum by size(). Broadcast sends root's values.
  std::shared_ptr<Collective> allReduce(const std::vector<Tensor>& tensors, ReduceOp op);
  std::shared_ptr<Collective> broadcast(const std::vector<Tensor>& tensors, int root);
  // Along dimension `dim` of float32 tensors of one device (model parallelism): rank q holds
  // counts[q] slices along it, the whole tensor sum(counts); every other dimension is the same
  // everywhere. allGather: output (the whole) <- every rank's input concatenated along dim in rank
  // order. reduceScatter: output (this rank's counts[rank()] slices) <- the sum (or mean) over the
  // ranks of their input's (the whole's) slices [start, start + counts[rank()]) along dim, start
  // being the counts of the ranks before. Every rank passes the same counts. In a group of one
  // both copy input to output.
  std::shared_ptr<Collective> allGather(const Tensor& input, const Tensor& output, int dim,
                                        const std::vector<int64_t>& counts);
  std::shared_ptr<Collective> reduceScatter(const Tensor& input, const Tensor& output, int dim,
                                            const std::vector<int64_t>& counts, ReduceOp op);
  // Ready when every rank has reached the barrier (RANK_LOST otherwise).
  std::shared_future<void> barrier();

  // A group of any transport (tests, other launchers). The group calls every method of the
  // communicator from its communication thread.
  ProcessGroup(std::unique_ptr<Communicator> comm, int localRank, const GroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // Runs `job` on the communication thread after every job queued before it; its future holds its
  // error. A group that lost a rank fails every job with that error without running it.
  std::shared_future<void> post(std::function<void(Communicator&)> job);
  // A roll call (Communicator::rollCall) on the communication thread after the jobs queued before
  // it: `done` is ready when it was held, `missing` then holds the ranks that did not answer within
  // `seconds`; or `done` holds the group's error. A job whose `abandoned` flag is set by the time
  // its turn comes is skipped. Every rank that wants to know calls it.
  struct RollCall {
    std::shared_future<void> done;
    std::shared_ptr<const std::vector<int>> missing;
  };
  RollCall rollCall(double seconds, std::shared_ptr<std::atomic<bool>> abandoned = nullptr);
  // After a CUDA collective failed with RANK_LOST from NCCL (which names no rank): the same error
  // with the lost ranks named by a roll call over MPI (held once for the group, for at most
  // min(timeout, 10 s) plus 5 s for the communication thread to take it), or with the
  // communication thread's own RANK_LOST, which named them already. Any other error unchanged.
  // Called from a device's stream thread.
  std::exception_ptr namingLostRanks(std::exception_ptr failure) noexcept;
  // Finalizes (or aborts after a lost rank) and joins the communication thread; idempotent. Called
  // at process exit for the group fromEnvironment() formed.
  void shutdown();
  // This rank failed: at shutdown, end the whole job (MPI_Abort) instead of finalizing, since the
  // other ranks would otherwise wait for it until their timeout.
  void abortAtShutdown();

 private:
  struct Impl;
  // The NCCL communicator of a CUDA device, created (its id sent from rank 0 over MPI) on first use.
  void* ncclCommunicator(Device& device);
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1, localRank_ = 0;
  double timeoutSeconds_ = 30.0;
};

}  // namespace alexnet::dist
