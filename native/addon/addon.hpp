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
// The core tensor of a live JS tensor handle; null for anything else (no error).
const Tensor* peekTensor(const Napi::Value& value);
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

// An AsyncWorker that settles one promise on the JS thread when its work is done. Completion can
// run while the environment is being torn down (a worker thread terminated, or process.exit()
// called inside it, with the work still in flight): Node-API calls then fail, and a C++ exception
// escaping the completion callback aborts the whole process. So settling never throws: a failure
// to build the value rejects the promise instead, and a promise that cannot be settled at all is
// dropped, since no JavaScript is left to await it.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  Napi::Promise promise() const { return deferred_.Promise(); }
  // Queues the worker (which deletes itself when done) and returns its promise.
  static Napi::Promise queue(PromiseWorker* worker) {
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

 protected:
  explicit PromiseWorker(Napi::Env env)
      : Napi::AsyncWorker(env, "alexnet"), deferred_(Napi::Promise::Deferred::New(env)) {}
  // Runs on the libuv pool; any exception is kept and becomes the rejection.
  virtual void work() = 0;
  // Builds the resolved value on the JS thread.
  virtual Napi::Value result(Napi::Env env) = 0;

 private:
  void Execute() final {
    try {
      work();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void OnWorkComplete(Napi::Env env, napi_status status) final {
    if (status != napi_cancelled) {
      try {
        Napi::HandleScope scope(env);
        settle(env);
      } catch (...) {
        // The environment is going away (or out of memory): nobody can observe the promise.
      }
    }
    Destroy();
  }
  void settle(Napi::Env env) {
    if (error_) return deferred_.Reject(makeError(env, error_).Value());
    try {
      deferred_.Resolve(result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {  // e.g. no memory for the result
      deferred_.Reject(makeError(env, std::current_exception()).Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  std::exception_ptr error_;
};

// Waits for `ready` on a libuv pool thread (never on the JS thread), then settles a promise:
// rejected with the core error, or resolved with what `resolve` builds on the JS thread.
class FenceWorker final : public PromiseWorker {
 public:
  using Resolve = std::function<Napi::Value(Napi::Env)>;
  static Napi::Promise start(Napi::Env env, std::shared_future<void> ready, Resolve resolve) {
    return queue(new FenceWorker(env, std::move(ready), std::move(resolve)));
  }

 private:
  FenceWorker(Napi::Env env, std::shared_future<void> ready, Resolve resolve)
      : PromiseWorker(env), ready_(std::move(ready)), resolve_(std::move(resolve)) {}
  void work() override { ready_.get(); }
  Napi::Value result(Napi::Env env) override { return resolve_(env); }

  std::shared_future<void> ready_;
  Resolve resolve_;
};

// The one conversion of a JS number to a C++ integer: a TypeError naming `param` for a value that
// is not a number, a RangeError naming it for NaN, a fraction or a value outside [min, max] (which
// a cast would turn into undefined behaviour). min and max must be within +-kMaxSafeInteger.
constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1, JavaScript's exact integers
int64_t checkedInteger(Napi::Env env, const Napi::Value& value, const std::string& param, int64_t min,
                       int64_t max);
// checkedInteger within +-kMaxDimension (int32 but for its most negative value).
int intArg(const Napi::CallbackInfo& info, size_t i, const char* param);
double numberArg(const Napi::CallbackInfo& info, size_t i, const char* param);
// A number as float32: NaN and the infinities pass as they are; a finite number whose float32
// rounding is infinite is a RangeError naming `param` and the value.
float floatArg(const Napi::CallbackInfo& info, size_t i, const char* param);
float checkedFloat(Napi::Env env, const Napi::Value& value, const std::string& param);
bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* param);
std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* param);
Shape shapeArg(const Napi::CallbackInfo& info, size_t i, const char* param);
// checkedInteger in [0, 2^53).
uint64_t seedArg(const Napi::CallbackInfo& info, size_t i, const char* param);

// Sets each function on `exports` under its name (which is also the JS function's name).
using BindingFunction = Napi::Value (*)(const Napi::CallbackInfo&);
struct NamedBinding {
  const char* name;
  BindingFunction fn;
};
void exportFunctions(Napi::Env env, Napi::Object exports, std::initializer_list<NamedBinding> functions);

Napi::Object init(Napi::Env env, Napi::Object exports);
void initTensor(Napi::Env env, Napi::Object exports);
void initOps(Napi::Env env, Napi::Object exports);
void initRuntime(Napi::Env env, Napi::Object exports);
void initDistributed(Napi::Env env, Napi::Object exports);
// The data pipeline's bindings (native/addon/data_binding.cpp), when native/data is built.
void initData(Napi::Env env, Napi::Object exports);

}  // namespace alexnet::addon
