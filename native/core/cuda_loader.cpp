#include "cuda_loader.hpp"

#include <mutex>

#include "../cuda/module.hpp"
#include "alexnet/error.hpp"
#include "module_loader.hpp"

namespace alexnet::cuda_loader {
namespace {

constexpr const char* kInstallHint =
    "The CUDA backend needs an NVIDIA GPU with its driver, cuDNN 9 and cuBLAS "
    "(pip install nvidia-cudnn-cu13 nvidia-cublas, or CUDNN_ROOT/CUBLAS_ROOT at build time), and "
    "an addon built with nvcc (npm run build prints which backends it built).";

#define ALEXNET_CUDA_ENTRY_POINTS(X)               \
  X(deviceCount, alexnet_cuda_device_count)        \
  X(create, alexnet_cuda_create_backend)           \
  X(destroy, alexnet_cuda_destroy_backend)         \
  X(describe, alexnet_cuda_describe)

ALEXNET_DEFINE_MODULE(ALEXNET_CUDA_ENTRY_POINTS)

// The module sits next to the binary that contains the core (the addon, or a C++ program's
// executable); ALEXNET_CUDA_MODULE overrides the path.
Module& module() { return loadOnce<Module>("ALEXNET_CUDA_MODULE", "libalexnet_cuda.so"); }

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
