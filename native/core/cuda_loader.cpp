#include "cuda_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "../cuda/module.hpp"
#include "alexnet/error.hpp"

namespace alexnet::cuda_loader {
namespace {

// Function types come from the module's own header, so a signature change cannot go unnoticed.
using DeviceCountFn = decltype(&alexnet_cuda_device_count);
using CreateFn = decltype(&alexnet_cuda_create_backend);
using DestroyFn = decltype(&alexnet_cuda_destroy_backend);
using DescribeFn = decltype(&alexnet_cuda_describe);

constexpr const char* kInstallHint =
    "The CUDA backend needs an NVIDIA GPU with its driver, cuDNN 9 and cuBLAS "
    "(pip install nvidia-cudnn-cu13 nvidia-cublas, or CUDNN_ROOT/CUBLAS_ROOT at build time), and "
    "an addon built with nvcc (npm run build prints which backends it built).";

struct Module {
  void* handle = nullptr;
  std::string path;
  std::string error;  // why it is unusable, when handle is null
  DeviceCountFn deviceCount = nullptr;
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  DescribeFn describe = nullptr;
};

// The module sits next to the binary that contains this code (the addon, or a C++ program's
// executable); ALEXNET_CUDA_MODULE overrides the path.
std::string defaultModulePath() {
  if (const char* env = std::getenv("ALEXNET_CUDA_MODULE")) return env;
  Dl_info info{};
  std::string dir = ".";
  if (dladdr(reinterpret_cast<void*>(&defaultModulePath), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    auto slash = self.rfind('/');
    if (slash != std::string::npos) dir = self.substr(0, slash);
  }
  return dir + "/libalexnet_cuda.so";
}

Module& module() {
  static Module* loaded = [] {
    auto* m = new Module();  // never destroyed: backends may outlive static teardown
    m->path = defaultModulePath();
    m->handle = dlopen(m->path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!m->handle) {
      const char* why = dlerror();
      m->error = std::string("could not load ") + m->path + ": " + (why ? why : "unknown error");
      return m;
    }
    m->deviceCount = reinterpret_cast<DeviceCountFn>(dlsym(m->handle, "alexnet_cuda_device_count"));
    m->create = reinterpret_cast<CreateFn>(dlsym(m->handle, "alexnet_cuda_create_backend"));
    m->destroy = reinterpret_cast<DestroyFn>(dlsym(m->handle, "alexnet_cuda_destroy_backend"));
    m->describe = reinterpret_cast<DescribeFn>(dlsym(m->handle, "alexnet_cuda_describe"));
    if (!m->deviceCount || !m->create || !m->destroy) {
      m->error = m->path + " does not export the alexnet_cuda_* entry points (stale build?)";
      dlclose(m->handle);
      m->handle = nullptr;
    }
    return m;
  }();
  return *loaded;
}

}  // namespace

int deviceCount(std::string* why) {
  Module& m = module();
  if (!m.handle) {
    if (why) *why = m.error;
    return 0;
  }
  char err[512] = {0};
  int count = m.deviceCount(err, sizeof err);
  if (count <= 0) {
    if (why) *why = count < 0 ? std::string("CUDA runtime: ") + err : "no CUDA device found";
    return 0;
  }
  return count;
}

Backend* createBackend(int index) {
  std::string why;
  int count = deviceCount(&why);
  if (count == 0) throw Error("CUDA_UNAVAILABLE", "CUDA is unavailable: " + why, "dlopen", kInstallHint);
  if (index < 0 || index >= count)
    throw Error("INVALID_ARGUMENT", "cuda:" + std::to_string(index) + " does not exist (" +
                                        std::to_string(count) + " CUDA device(s) found)");
  char err[512] = {0};
  Backend* backend = module().create(index, err, sizeof err);
  if (!backend)
    throw Error("CUDA_UNAVAILABLE", std::string("could not start cuda:") + std::to_string(index) +
                                        ": " + err, "alexnet_cuda_create_backend", kInstallHint);
  return backend;
}

void destroyBackend(Backend* backend) {
  if (backend && module().destroy) module().destroy(backend);
}

std::string describe(int index) {
  Module& m = module();
  if (!m.handle || !m.describe) return "";
  char out[512] = {0};
  m.describe(index, out, sizeof out);
  return out;
}

}  // namespace alexnet::cuda_loader
