// Per-environment state of the addon (one per main thread or worker thread) and the helpers every
// binding file shares: unwrapping tensors, wrapping results, turning core errors into JS errors.
#pragma once

#include <napi.h>

#include <functional>
#include <future>

#include "alexnet/alexnet.hpp"

namespace alexnet::addon {

struct AddonData {
  Napi::FunctionReference tensorClass;
  Napi::FunctionReference errorClass;  // AlexNetError from lib/errors.ts, once registered
};

AddonData& addonData(Napi::Env env);

// JS value -> core tensor; throws a TypeError naming `param` if it is not a live tensor.
const Tensor& unwrapTensor(const Napi::Value& value, const char* param);
// Like unwrapTensor, but null/undefined give an undefined Tensor.
Tensor unwrapOptionalTensor(const Napi::Value& value, const char* param);
Napi::Value wrapTensor(Napi::Env env, Tensor tensor);

// Builds the JS error for a core error: an AlexNetError with code, call and hint. A synchronous
// INVALID_ARGUMENT becomes a TypeError (the TypeScript layer normally catches those first, with
// friendlier text); errors of queued work (from a stream, surfacing at an await) stay
// AlexNetErrors whatever their code.
Napi::Error makeError(Napi::Env env, const Error& error, bool fromStream = false);
Napi::Error makeError(Napi::Env env, const std::exception_ptr& error);

// Runs `body` and converts core errors into pending JS exceptions.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
  try {
    return body();
  } catch (const Error& e) {
    throw makeError(info.Env(), e);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw makeError(info.Env(), Error("OUT_OF_MEMORY", "host memory exhausted", "operator new"));
  } catch (const std::exception& e) {
    throw makeError(info.Env(), Error("INTERNAL", e.what()));
  }
}

// Waits for `ready` on a libuv pool thread (never on the JS thread), then settles a promise:
// rejected with the core error, or resolved with what `resolve` builds on the JS thread.
class FenceWorker : public Napi::AsyncWorker {
 public:
  using Resolve = std::function<Napi::Value(Napi::Env)>;
  FenceWorker(Napi::Env env, std::shared_future<void> ready, Resolve resolve)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        ready_(std::move(ready)), resolve_(std::move(resolve)) {}
  // Queues the worker (which deletes itself when done) and returns its promise.
  static Napi::Promise start(Napi::Env env, std::shared_future<void> ready, Resolve resolve) {
    auto* worker = new FenceWorker(env, std::move(ready), std::move(resolve));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }
  void Execute() override {
    try {
      ready_.get();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void OnOK() override {
    if (error_) deferred_.Reject(makeError(Env(), error_).Value());
    else deferred_.Resolve(resolve_(Env()));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_future<void> ready_;
  Resolve resolve_;
  std::exception_ptr error_;
};

// An integer within int32 (a RangeError beyond, a TypeError for a non-integer).
int intArg(const Napi::CallbackInfo& info, size_t i, const char* param);
double numberArg(const Napi::CallbackInfo& info, size_t i, const char* param);
// A number as float32: NaN and the infinities pass as they are; a finite number whose float32
// rounding is infinite is a RangeError naming `param` and the value.
float floatArg(const Napi::CallbackInfo& info, size_t i, const char* param);
bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* param);
std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* param);
Shape shapeArg(const Napi::CallbackInfo& info, size_t i, const char* param);
uint64_t seedArg(const Napi::CallbackInfo& info, size_t i, const char* param);

Napi::Object init(Napi::Env env, Napi::Object exports);
void initTensor(Napi::Env env, Napi::Object exports);
void initOps(Napi::Env env, Napi::Object exports);
void initRuntime(Napi::Env env, Napi::Object exports);
// The data pipeline's bindings (native/addon/data_binding.cpp), when native/data is built.
void initData(Napi::Env env, Napi::Object exports);

}  // namespace alexnet::addon
