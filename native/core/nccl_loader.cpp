#include "nccl_loader.hpp"

#include "../nccl/module.hpp"
#include "alexnet/error.hpp"
#include "module_loader.hpp"
#include "nccl_watchdog.hpp"

namespace alexnet::nccl_loader {
namespace {

constexpr const char* kInstallHint =
    "NCCL reduces CUDA tensors between processes; it needs an NVIDIA GPU with its driver, NCCL "
    "(pip install nvidia-nccl-cu13, or NCCL_ROOT at build time) and an addon built with the CUDA "
    "backend (npm run build prints which modules it built).";

#define ALEXNET_NCCL_ENTRY_POINTS(X)            \
  X(probe, alexnet_nccl_probe)                  \
  X(uniqueId, alexnet_nccl_unique_id)           \
  X(create, alexnet_nccl_create)                \
  X(destroy, alexnet_nccl_destroy)              \
  X(start, alexnet_nccl_start)                  \
  X(allGather, alexnet_nccl_all_gather)         \
  X(reduceScatter, alexnet_nccl_reduce_scatter) \
  X(wait, alexnet_nccl_wait)

ALEXNET_DEFINE_MODULE(ALEXNET_NCCL_ENTRY_POINTS)

Module& module() { return loadOnce<Module>("ALEXNET_NCCL_MODULE", "libalexnet_nccl.so"); }

// The module's failure as the error MPI raises for the same event: RANK_LOST for a rank that is
// lost or hung (the watchdog's timeout, or a peer's failure), NCCL_ERROR otherwise.
[[noreturn]] void raise(int status, const char* err, const char* call) {
  if (status == nccl_watchdog::kLostStatus)
    throw Error("RANK_LOST", err, call,
                "the job cannot continue without the rank: restart it (mpirun … alexnet train --resume) from the last "
                "checkpoint");
  throw Error("NCCL_ERROR", err, call);
}

}  // namespace

bool available(std::string* why) {
  Module& m = module();
  if (!m.handle) {
    if (why) *why = m.error;
    return false;
  }
  char out[512] = {0};
  if (m.probe(out, sizeof out) != 0) {
    if (why) *why = out;
    return false;
  }
  if (why) *why = out;
  return true;
}

std::string status() {
  std::string why;
  return available(&why) ? "available: " + why : "unavailable: " + why;
}

void require() {
  std::string why;
  if (!available(&why)) throw Error("NCCL_UNAVAILABLE", "NCCL is unavailable: " + why, "dlopen", kInstallHint);
}

void uniqueId(char* id, size_t idLen) {
  char err[512] = {0};
  if (int s = module().uniqueId(id, idLen, err, sizeof err)) raise(s, err, "ncclGetUniqueId");
}

void* create(int device, int rank, int size, const char* id, size_t idLen, double timeoutSeconds) {
  char err[512] = {0};
  void* comm = nullptr;
  if (int s = module().create(device, rank, size, id, idLen, timeoutSeconds, &comm, err, sizeof err))
    raise(s, err, "ncclCommInitRankConfig");
  return comm;
}

void destroy(void* comm) {
  if (comm && module().destroy) module().destroy(comm);
}

void* start(void* comm, float* data, size_t count, bool mean, int root, void* stream) {
  char err[512] = {0};
  void* pending = nullptr;
  if (int s = module().start(comm, data, count, mean ? 1 : 0, root, stream, &pending, err, sizeof err))
    raise(s, err, root >= 0 ? "ncclBroadcast" : "ncclAllReduce");
  return pending;
}

void* startAllGather(void* comm, const float* send, float* recv, size_t outer, const std::vector<size_t>& inner,
                     void* stream) {
  char err[512] = {0};
  void* pending = nullptr;
  if (int s = module().allGather(comm, send, recv, outer, inner.data(), stream, &pending, err, sizeof err))
    raise(s, err, "ncclAllGather");
  return pending;
}

void* startReduceScatter(void* comm, const float* send, float* recv, size_t outer, const std::vector<size_t>& inner,
                         bool mean, void* stream) {
  char err[512] = {0};
  void* pending = nullptr;
  if (int s = module().reduceScatter(comm, send, recv, outer, inner.data(), mean ? 1 : 0, stream, &pending, err,
                                     sizeof err))
    raise(s, err, "ncclReduceScatter");
  return pending;
}

void wait(void* pending, void* stream) {
  char err[512] = {0};
  if (int s = module().wait(pending, stream, err, sizeof err)) raise(s, err, "ncclCommGetAsyncError");
}

}  // namespace alexnet::nccl_loader
