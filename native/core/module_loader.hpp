// Modules loaded on first use (libalexnet_cuda.so, libalexnet_mpi.so, libalexnet_nccl.so): each is
// looked for beside the binary that contains the core (the addon, or a C++ program), or where an
// environment variable says, opened once, and its entry points looked up by name. A module that
// cannot be opened, or lacks an entry point, stays unusable with the reason in `error`, so that the
// core still loads and can say why the feature is off.
#pragma once

#include <dlfcn.h>

#include <string>

namespace alexnet {

struct LoadedModule {
  void* handle = nullptr;  // null while unusable
  std::string path;
  std::string error;  // why it is unusable

  // Opens `fileName` beside the core's binary, or at $envVar when that is set.
  void open(const char* envVar, const char* fileName);

  // Looks `name` up into fn; the first missing entry point is recorded in `error`.
  template <typename F>
  void bind(F& fn, const char* name) {
    if (!handle) return;
    fn = reinterpret_cast<F>(dlsym(handle, name));
    if (!fn && error.empty()) error = path + " does not export " + name + " (stale build?)";
  }

  // After the binds: a module that lacks an entry point is closed and stays unusable.
  void finish();
};

// A module's entry points are listed once, as X(field, symbol); these expand such a list into the
// struct's fields and into the binds. Each field's type comes from the module's own header
// (decltype of the symbol), so a signature change cannot go unnoticed.
#define ALEXNET_MODULE_FIELD(field, symbol) decltype(&symbol) field = nullptr;
#define ALEXNET_MODULE_BIND(field, symbol) bind(field, #symbol);
// struct Module: a LoadedModule with a field per entry point and the bindAll() that loadOnce calls.
#define ALEXNET_DEFINE_MODULE(ENTRY_POINTS)                      \
  struct Module : LoadedModule {                                 \
    ENTRY_POINTS(ALEXNET_MODULE_FIELD)                           \
    void bindAll() { ENTRY_POINTS(ALEXNET_MODULE_BIND) }         \
  };

// The process-wide instance of M (a LoadedModule with a bindAll()), opened on first use and never
// destroyed (work at exit may still call it).
template <typename M>
M& loadOnce(const char* envVar, const char* fileName) {
  static M* loaded = [envVar, fileName] {
    auto* m = new M();
    m->open(envVar, fileName);
    m->bindAll();
    m->finish();
    return m;
  }();
  return *loaded;
}

}  // namespace alexnet
