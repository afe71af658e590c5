#include "mpi_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include "../mpi/module.hpp"
#include "alexnet/error.hpp"

namespace alexnet::mpi_loader {
namespace {

constexpr const char* kInstallHint =
    "Data parallelism over processes needs Open MPI (Debian/Ubuntu: apt install libopenmpi-dev "
    "openmpi-bin) when the addon is built, so that libalexnet_mpi.so is built beside it "
    "(npm run build prints whether it was).";

struct Module {
  void* handle = nullptr;
  std::string path, error;
  decltype(&alexnet_mpi_init) init = nullptr;
  decltype(&alexnet_mpi_allreduce_sum_f32) allReduce = nullptr;
  decltype(&alexnet_mpi_broadcast) broadcast = nullptr;
  decltype(&alexnet_mpi_barrier) barrier = nullptr;
  decltype(&alexnet_mpi_finalize) finalize = nullptr;
  decltype(&alexnet_mpi_abort) abort = nullptr;
  decltype(&alexnet_mpi_version) version = nullptr;
};

// Beside the binary that contains this code (the addon, or a C++ program); ALEXNET_MPI_MODULE
// overrides the path.
std::string defaultModulePath() {
  if (const char* env = std::getenv("ALEXNET_MPI_MODULE")) return env;
  Dl_info info{};
  std::string dir = ".";
  if (dladdr(reinterpret_cast<void*>(&defaultModulePath), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    auto slash = self.rfind('/');
    if (slash != std::string::npos) dir = self.substr(0, slash);
  }
  return dir + "/libalexnet_mpi.so";
}

template <typename F>
void bind(Module& m, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(m.handle, name));
  if (!fn && m.error.empty()) m.error = m.path + " does not export " + name + " (stale build?)";
}

Module& module() {
  static Module* loaded = [] {
    auto* m = new Module();  // never destroyed: used at exit
    m->path = defaultModulePath();
    m->handle = dlopen(m->path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!m->handle) {
      const char* why = dlerror();
      m->error = std::string("could not load ") + m->path + ": " + (why ? why : "unknown error");
      return m;
    }
    bind(*m, m->init, "alexnet_mpi_init");
    bind(*m, m->allReduce, "alexnet_mpi_allreduce_sum_f32");
    bind(*m, m->broadcast, "alexnet_mpi_broadcast");
    bind(*m, m->barrier, "alexnet_mpi_barrier");
    bind(*m, m->finalize, "alexnet_mpi_finalize");
    bind(*m, m->abort, "alexnet_mpi_abort");
    bind(*m, m->version, "alexnet_mpi_version");
    if (!m->error.empty()) m->handle = nullptr;
    return m;
  }();
  return *loaded;
}

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
  void broadcast(void* data, size_t bytes, int root) override {
    char err[1024] = {0};
    if (int s = m_.broadcast(data, bytes, root, timeout_, err, sizeof err)) raise(s, err, "MPI_Ibcast");
  }
  void barrier() override {
    char err[1024] = {0};
    if (int s = m_.barrier(timeout_, err, sizeof err)) raise(s, err, "MPI_Ibarrier");
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
