#include "mpi_loader.hpp"

#include <algorithm>
#include <vector>

#include "../mpi/module.hpp"
#include "alexnet/error.hpp"
#include "module_loader.hpp"

namespace alexnet::mpi_loader {
namespace {

constexpr const char* kInstallHint =
    "Data parallelism over processes needs Open MPI (Debian/Ubuntu: apt install libopenmpi-dev "
    "openmpi-bin) when the addon is built, so that libalexnet_mpi.so is built beside it "
    "(npm run build prints whether it was).";

#define ALEXNET_MPI_ENTRY_POINTS(X)                    \
  X(init, alexnet_mpi_init)                            \
  X(allReduce, alexnet_mpi_allreduce_sum_f32)          \
  X(allGather, alexnet_mpi_allgather_f32)              \
  X(reduceScatter, alexnet_mpi_reduce_scatter_sum_f32) \
  X(broadcast, alexnet_mpi_broadcast)                  \
  X(barrier, alexnet_mpi_barrier)                      \
  X(rollCall, alexnet_mpi_roll_call)                   \
  X(finalize, alexnet_mpi_finalize)                    \
  X(abort, alexnet_mpi_abort)                          \
  X(version, alexnet_mpi_version)

ALEXNET_DEFINE_MODULE(ALEXNET_MPI_ENTRY_POINTS)

Module& module() { return loadOnce<Module>("ALEXNET_MPI_MODULE", "libalexnet_mpi.so"); }

// A failed status: RANK_LOST after the watchdog's timeout, MPI_ERROR otherwise.
[[noreturn]] void raise(int status, const char* err, const char* call) {
  if (status == ALEXNET_MPI_TIMEOUT)
    throw Error("RANK_LOST", err, call,
                "the job cannot continue without every rank: it is ended; resume from the last checkpoint "
                "(the timeout is ALEXNET_DIST_TIMEOUT seconds)");
  throw Error("MPI_ERROR", err, call);
}

class MpiCommunicator final : public dist::Communicator {
 public:
  MpiCommunicator(Module& m, double timeout) : m_(m), timeout_(timeout) {
    char err[1024] = {0};
    if (int s = m_.init(&rank_, &size_, err, sizeof err)) raise(s, err, "MPI_Init_thread");
  }
  const char* name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allReduceSum(float* data, size_t count) override {
    char err[1024] = {0};
    if (int s = m_.allReduce(data, count, timeout_, err, sizeof err)) raise(s, err, "MPI_Iallreduce");
  }
  void allGather(const float* send, float* recv, const std::vector<size_t>& counts) override {
    char err[1024] = {0};
    if (int s = m_.allGather(send, recv, counts.data(), timeout_, err, sizeof err)) raise(s, err, "MPI_Iallgatherv");
  }
  void reduceScatterSum(const float* send, float* recv, const std::vector<size_t>& counts) override {
    char err[1024] = {0};
    if (int s = m_.reduceScatter(send, recv, counts.data(), timeout_, err, sizeof err)) raise(s, err, "MPI_Ireduce_scatter");
  }
  void broadcast(void* data, size_t bytes, int root) override {
    char err[1024] = {0};
    if (int s = m_.broadcast(data, bytes, root, timeout_, err, sizeof err)) raise(s, err, "MPI_Ibcast");
  }
  void barrier() override {
    char err[1024] = {0};
    if (int s = m_.barrier(timeout_, err, sizeof err)) raise(s, err, "MPI_Ibarrier");
  }
  std::vector<int> rollCall(double seconds) override {
    char err[1024] = {0};
    std::vector<int> missing(static_cast<size_t>(size_));
    size_t count = 0;
    if (int s = m_.rollCall(seconds, missing.data(), missing.size(), &count, err, sizeof err)) raise(s, err, "roll call");
    missing.resize(std::min(count, missing.size()));
    return missing;
  }
  void finalize() override {
    char err[1024] = {0};
    if (int s = m_.finalize(err, sizeof err)) raise(s, err, "MPI_Finalize");
  }
  void abort(int status) override { m_.abort(status); }

 private:
  Module& m_;
  double timeout_;
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<dist::Communicator> create(double timeoutSeconds) {
  Module& m = module();
  if (!m.handle)
    throw Error("MPI_UNAVAILABLE", "MPI is unavailable: " + m.error, "dlopen", kInstallHint);
  return std::make_unique<MpiCommunicator>(m, timeoutSeconds);
}

std::string status() {
  Module& m = module();
  if (!m.handle) return "unavailable: " + m.error;
  char out[256] = {0};
  m.version(out, sizeof out);
  return std::string("available: ") + out;
}

}  // namespace alexnet::mpi_loader
