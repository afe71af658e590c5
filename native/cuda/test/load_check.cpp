// dlopens libalexnet_cuda.so the way the core does and calls its entry points. Without a GPU each
// must report an error in words, not crash; with a GPU it creates and destroys a backend.
// Also checks that an alexnet::Error thrown inside the module is caught by type outside it.
#include <dlfcn.h>

#include <cstdio>

#include "alexnet/error.hpp"
#include "module_entries.hpp"

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "libalexnet_cuda.so";
  CudaModuleEntries module;
  void* lib = module.open(path);
  if (lib == nullptr) return 1;
  int failures = 0;
  const auto [count, create, destroy, describe, setTf32] = module;
  char err[512] = {0};
  const int devices = count(err, sizeof err);
  std::printf("alexnet_cuda_device_count = %d%s%s\n", devices, devices < 0 ? ": " : "", err);
  if (devices < 0 && err[0] == '\0') ++failures;
  for (int d = 0; d < (devices > 0 ? devices : 1); ++d) {
    char text[512] = {0};
    const int rc = describe(d, text, sizeof text);
    std::printf("alexnet_cuda_describe(%d) = %d: %s\n", d, rc, text);
    err[0] = '\0';
    alexnet::Backend* backend = create(d, err, sizeof err);
    std::printf("alexnet_cuda_create_backend(%d) = %s%s\n", d, backend ? backend->name() : "null: ",
                backend ? "" : err);
    if ((backend == nullptr) != (devices <= 0)) ++failures;
    if (backend == nullptr && err[0] == '\0') ++failures;
    destroy(backend);
  }
  try {
    setTf32(nullptr, 1);  // not a backend of the module: throws
    ++failures;
  } catch (const alexnet::Error& e) {
    std::printf("alexnet::Error caught across the module boundary: %s: %s\n", e.code().c_str(),
                e.what());
  }
  if (dlsym(lib, "cudaMalloc") != nullptr) {
    std::printf("the static CUDA runtime leaks out of the module\n");
    ++failures;
  }
  dlclose(lib);
  std::printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
