#include "module_loader.hpp"

#include <cstdlib>

namespace alexnet {

namespace {

// The directory of the binary this code is linked into.
std::string coreDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&coreDirectory), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    auto slash = self.rfind('/');
    if (slash != std::string::npos) return self.substr(0, slash);
  }
  return ".";
}

}  // namespace

void LoadedModule::open(const char* envVar, const char* fileName) {
  const char* override = std::getenv(envVar);
  path = override ? override : coreDirectory() + "/" + fileName;
  handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    error = std::string("could not load ") + path + ": " + (why ? why : "unknown error");
  }
}

void LoadedModule::finish() {
  if (handle && !error.empty()) {
    dlclose(handle);
    handle = nullptr;
  }
}

}  // namespace alexnet
