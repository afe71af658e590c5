#include "nccl_loader.hpp"

#include "../nccl/module.hpp"
#include "alexnet/error.hpp"
#include "module_loader.hpp"

namespace alexnet::nccl_loader {
namespace {

constexpr const char* kInstallHint =
    "NCCL reduces CUDA tensors between processes; it needs an NVIDIA GPU with its driver, NCCL "
    "(pip install nvidia-nccl-cu13, or NCCL_ROOT at build time) and an addon built with the CUDA "
    "backend (npm run build prints which modules it built).";

struct Module : LoadedModule {
  decltype(&alexnet_nccl_probe) probe = nullptr;
  decltype(&alexnet_nccl_unique_id) uniqueId = nullptr;
  decltype(&alexnet_nccl_create) create = nullptr;
  decltype(&alexnet_nccl_destroy) destroy = nullptr;
  decltype(&alexnet_nccl_start) start = nullptr;
  decltype(&alexnet_nccl_wait) wait = nullptr;
};

Module& module() {
  static Module* loaded = [] {
    auto* m = new Module();  // never destroyed: used at exit
    m->open("ALEXNET_NCCL_MODULE", "libalexnet_nccl.so");
    m->bind(m->probe, "alexnet_nccl_probe");
    m->bind(m->uniqueId, "alexnet_nccl_unique_id");
    m->bind(m->create, "alexnet_nccl_create");
    m->bind(m->destroy, "alexnet_nccl_destroy");
    m->bind(m->start, "alexnet_nccl_start");
    m->bind(m->wait, "alexnet_nccl_wait");
    m->finish();
    return m;
  }();
  return *loaded;
}

[[noreturn]] void raise(const char* err, const char* call) { throw Error("NCCL_ERROR", err, call); }

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
  if (module().uniqueId(id, idLen, err, sizeof err)) raise(err, "ncclGetUniqueId");
}

void* create(int device, int rank, int size, const char* id, size_t idLen) {
  char err[512] = {0};
  void* comm = nullptr;
  if (module().create(device, rank, size, id, idLen, &comm, err, sizeof err)) raise(err, "ncclCommInitRank");
  return comm;
}

void destroy(void* comm) {
  if (comm && module().destroy) module().destroy(comm);
}

void* start(void* comm, float* data, size_t count, bool mean, int root, void* stream) {
  char err[512] = {0};
  void* pending = nullptr;
  if (module().start(comm, data, count, mean ? 1 : 0, root, stream, &pending, err, sizeof err))
    raise(err, root >= 0 ? "ncclBroadcast" : "ncclAllReduce");
  return pending;
}

void wait(void* pending, void* stream) {
  char err[512] = {0};
  if (module().wait(pending, stream, err, sizeof err)) raise(err, "cudaStreamWaitEvent");
}

}  // namespace alexnet::nccl_loader
