// The export list of the native module. Everything here is thin: conversion and validation of
// arguments; numerics live in the core and its backends.
#include "addon.hpp"

namespace alexnet::addon {

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Object init(Napi::Env env, Napi::Object exports) {
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
