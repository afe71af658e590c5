// Devices, synchronisation, allocator statistics and error-class registration.
#include "addon.hpp"

namespace alexnet::addon {
namespace {

using Info = Napi::CallbackInfo;

Napi::Value synchronize(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    Device& device = Device::get(stringArg(info, 0, "device"));
    return FenceWorker::start(info.Env(), device.stream().fence(), [](Napi::Env env) { return env.Undefined(); });
  });
}

Napi::Value setErrorClass(const Info& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "errorClass must be a constructor");
  addonData(info.Env()).errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value cudaInfo(const Info& info) {
  return guarded(info, [&] {
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("status", Napi::String::New(env, Device::cudaStatus()));
    int count = Device::cudaDeviceCount();
    result.Set("count", Napi::Number::New(env, count));
    Napi::Array names = Napi::Array::New(env, count);
    for (int i = 0; i < count; ++i) names.Set(uint32_t(i), Napi::String::New(env, Device::describeCuda(i)));
    result.Set("devices", names);
    return Napi::Value(result);
  });
}

Napi::Value allocatorStats(const Info& info) {
  return guarded(info, [&] {
    Napi::Env env = info.Env();
    Device& device = Device::get(stringArg(info, 0, "device"));
    auto toObject = [env](const CachingAllocator::Stats& stats) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("systemAllocations", Napi::Number::New(env, double(stats.systemAllocations)));
      o.Set("bytesInUse", Napi::Number::New(env, double(stats.bytesInUse)));
      o.Set("bytesCached", Napi::Number::New(env, double(stats.bytesCached)));
      return o;
    };
    Napi::Object result = toObject(device.allocator().stats());
    result.Set("staging", toObject(device.hostAllocator().stats()));
    return Napi::Value(result);
  });
}

Napi::Value emptyCache(const Info& info) {
  return guarded(info, [&] {
    Device& device = Device::get(stringArg(info, 0, "device"));
    device.synchronize();
    device.allocator().emptyCache();
    device.hostAllocator().emptyCache();
    return info.Env().Undefined();
  });
}

Napi::Value setTensorFloat32(const Info& info) {
  return guarded(info, [&] {
    Device::get(stringArg(info, 0, "device")).setTensorFloat32(boolArg(info, 1, "enable"));
    return info.Env().Undefined();
  });
}

Napi::Value setDeterministic(const Info& info) {
  return guarded(info, [&] {
    Device::get(stringArg(info, 0, "device")).setDeterministic(boolArg(info, 1, "enable"));
    return info.Env().Undefined();
  });
}

Napi::Value deterministic(const Info& info) {
  return guarded(info, [&] {
    return Napi::Value(Napi::Boolean::New(info.Env(), Device::get(stringArg(info, 0, "device")).deterministic()));
  });
}

Napi::Value tensorFloat32(const Info& info) {
  return guarded(info, [&] {
    return Napi::Value(Napi::Boolean::New(info.Env(), Device::get(stringArg(info, 0, "device")).tensorFloat32()));
  });
}

Napi::Value setNumThreads(const Info& info) {
  return guarded(info, [&] {
    Device::setNumThreads(intArg(info, 0, "threads"));
    return info.Env().Undefined();
  });
}

Napi::Value numThreads(const Info& info) {
  return guarded(info, [&] { return Napi::Value(Napi::Number::New(info.Env(), Device::numThreads())); });
}

Napi::Value checkDevice(const Info& info) {
  return guarded(info, [&] {
    return Napi::Value(Napi::String::New(info.Env(), Device::get(stringArg(info, 0, "device")).name()));
  });
}

}  // namespace

void initRuntime(Napi::Env env, Napi::Object exports) {
  exportFunctions(env, exports, {
      {"synchronize", synchronize}, {"setErrorClass", setErrorClass}, {"cudaInfo", cudaInfo},
      {"allocatorStats", allocatorStats}, {"emptyCache", emptyCache}, {"setNumThreads", setNumThreads},
      {"numThreads", numThreads}, {"checkDevice", checkDevice}, {"setTensorFloat32", setTensorFloat32},
      {"tensorFloat32", tensorFloat32}, {"setDeterministic", setDeterministic}, {"deterministic", deterministic},
  });
}

}  // namespace alexnet::addon
