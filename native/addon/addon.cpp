// The export list of the native module. Everything here is thin: conversion and validation of
// arguments; numerics live in the core and its backends.
#include <cstdlib>
#include <mutex>

#include "addon.hpp"

namespace alexnet::addon {

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// Queued work must finish before the process tears down the libraries it runs in (a oneDNN kernel
// on an OpenMP thread during static destruction crashes the exit). At exit (process.exit() or the
// end of main) the stream threads are also ended. An environment's cleanup (a worker thread that
// ends) only drains: devices are shared by every thread of the process and outlive any one of them.
void drainDevices(void*) { Device::drainAll(); }

void exportFunctions(Napi::Env env, Napi::Object exports, std::initializer_list<NamedBinding> functions) {
  for (const NamedBinding& f : functions) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit([] { Device::shutdownAll(); }); });
  env.SetInstanceData(new AddonData());
  initTensor(env, exports);
  initOps(env, exports);
  initRuntime(env, exports);
  initDistributed(env, exports);
#ifdef ALEXNET_HAVE_DATA
  initData(env, exports);
#endif
  // Last, so that an init that failed part way (its environment terminating) leaves no hook for a
  // retry to register twice.
  napi_add_env_cleanup_hook(env, drainDevices, nullptr);
  return exports;
}

}  // namespace alexnet::addon

// A worker thread terminated while it loads the addon makes Node-API calls fail. The error is
// thrown into JavaScript when that is still possible; letting it escape would abort the process.
static Napi::Object InitAlexnetAddon(Napi::Env env, Napi::Object exports) {
  try {
    return alexnet::addon::init(env, exports);
  } catch (const Napi::Error& e) {
    if (!e.IsEmpty()) napi_throw(env, e.Value());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return exports;
}

NODE_API_MODULE(alexnet_addon, InitAlexnetAddon)
