#include "nccl_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include "../nccl/module.hpp"
#include "alexnet/error.hpp"

namespace alexnet::nccl_loader {
namespace {

constexpr const char* kInstallHint =
    "NCCL reduces CUDA tensors between processes; it needs an NVIDIA GPU with its driver, NCCL "
    "(pip install nvidia-nccl-cu13, or NCCL_ROOT at build time) and an addon built with the CUDA "
    "backend (npm run build prints which modules it built).";

struct Module {
  void* handle = nullptr;
  std::string path, error;
  decltype(&alexnet_nccl_probe) probe = nullptr;
  decltype(&alexnet_nccl_unique_id) uniqueId = nullptr;
  decltype(&alexnet_nccl_create) create = nullptr;
  decltype(&alexnet_nccl_destroy) destroy = nullptr;
  decltype(&alexnet_nccl_start) start = nullptr;
  decltype(&alexnet_nccl_wait) wait = nullptr;
};

std::string defaultModulePath() {
  if (const char* env = std::getenv("ALEXNET_NCCL_MODULE")) return env;
  Dl_info info{};
  std::string dir = ".";
  if (dladdr(reinterpret_cast<void*>(&defaultModulePath), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    auto slash = self.rfind('/');
    if (slash != std::string::npos) dir = self.substr(0, slash);
  }
  return dir + "/libalexnet_nccl.so";
}

template <typename F>
void bind(Module& m, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(m.handle, name));
  if (!fn && m.error.empty()) m.error = m.path + " does not export " + name + " (stale build?)";
}

Module& module() {
  static Module* loaded = [] {
    auto* m = new Module();
    m->path = defaultModulePath();
    m->handle = dlopen(m->path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!m->handle) {
      const char* why = dlerror();
      m->error = std::string("could not load ") + m->path + ": " + (why ? why : "unknown error");
      return m;
    }
    bind(*m, m->probe, "alexnet_nccl_probe");
    bind(*m, m->uniqueId, "alexnet_nccl_unique_id");
    bind(*m, m->create, "alexnet_nccl_create");
    bind(*m, m->destroy, "alexnet_nccl_destroy");
    bind(*m, m->start, "alexnet_nccl_start");
    bind(*m, m->wait, "alexnet_nccl_wait");
    if (!m->error.empty()) m->handle = nullptr;
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
