// The export list of the native module. Everything here is thin: conversion and validation of
// arguments; numerics live in the core and its backends.
#include <cstdlib>
#include <mutex>

#include "addon.hpp"

namespace alexnet::addon {

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// Queued work must finish before the process tears down the libraries it runs in (a oneDNN kernel
// on an OpenMP thread during static destruction crashes the exit). atexit covers process.exit();
// the environment cleanup hook covers worker threads and normal shutdown.
void drainDevices(void*) { Device::drainAll(); }

Napi::Object init(Napi::Env env, Napi::Object exports) {
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit([] { Device::drainAll(); }); });
  napi_add_env_cleanup_hook(env, drainDevices, nullptr);
  env.SetInstanceData(new AddonData());
  initTensor(env, exports);
  initOps(env, exports);
  initRuntime(env, exports);
#ifdef ALEXNET_HAVE_DATA
  initData(env, exports);
#endif
  return exports;
}

}  // namespace alexnet::addon

static Napi::Object InitAlexnetAddon(Napi::Env env, Napi::Object exports) {
  return alexnet::addon::init(env, exports);
}

NODE_API_MODULE(alexnet_addon, InitAlexnetAddon)
