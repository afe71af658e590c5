// The CUDA module's entry points, looked up by name in a dlopen'd libalexnet_cuda.so as the core
// looks them up, for the checks that load the module without the core.
#pragma once

#include <dlfcn.h>

#include <cstdio>

#include "module.hpp"

struct CudaModuleEntries {
  decltype(&alexnet_cuda_device_count) count = nullptr;
  decltype(&alexnet_cuda_create_backend) create = nullptr;
  decltype(&alexnet_cuda_destroy_backend) destroy = nullptr;
  decltype(&alexnet_cuda_describe) describe = nullptr;
  decltype(&alexnet_cuda_set_tf32) setTf32 = nullptr;

  // dlopens the module at `path` and looks its entry points up; prints why and returns null when
  // either fails.
  void* open(const char* path) {
    void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      std::printf("dlopen failed: %s\n", dlerror());
      return nullptr;
    }
    if (!lookUp(lib)) {
      std::printf("an entry point is missing\n");
      dlclose(lib);
      return nullptr;
    }
    return lib;
  }

  // Looks every entry point up in `lib`; false when one is missing.
  bool lookUp(void* lib) {
    count = reinterpret_cast<decltype(count)>(dlsym(lib, "alexnet_cuda_device_count"));
    create = reinterpret_cast<decltype(create)>(dlsym(lib, "alexnet_cuda_create_backend"));
    destroy = reinterpret_cast<decltype(destroy)>(dlsym(lib, "alexnet_cuda_destroy_backend"));
    describe = reinterpret_cast<decltype(describe)>(dlsym(lib, "alexnet_cuda_describe"));
    setTf32 = reinterpret_cast<decltype(setTf32)>(dlsym(lib, "alexnet_cuda_set_tf32"));
    return count && create && destroy && describe && setTf32;
  }
};
