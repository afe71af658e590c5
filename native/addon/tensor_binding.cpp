// The JS-visible tensor handle. It owns one reference to the core tensor; dispose() drops it at
// once (the block returns to the device cache when queued work no longer needs it) and the GC
// finaliser is only a safety net. V8 is told about the memory so undisposed tensors get collected.
#include <cstring>

#include <vector>

#include "addon.hpp"
#include "alexnet/ops.hpp"

namespace alexnet::addon {
namespace {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeTensor",
                       {InstanceAccessor<&TensorHandle::shape>("shape"),
                        InstanceAccessor<&TensorHandle::dtype>("dtype"),
                        InstanceAccessor<&TensorHandle::device>("device"),
                        InstanceAccessor<&TensorHandle::disposed>("disposed"),
                        InstanceMethod<&TensorHandle::reshape>("reshape"),
                        InstanceMethod<&TensorHandle::to>("to"),
                        InstanceMethod<&TensorHandle::toArray>("toArray"),
                        InstanceMethod<&TensorHandle::dispose>("dispose")});
  }

  explicit TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "NativeTensor cannot be constructed directly; use Tensor.fromArray");
    auto* owned = info[0].As<Napi::External<Tensor>>().Data();
    tensor_ = std::move(*owned);
    delete owned;
    reported_ = static_cast<int64_t>(tensor_.bytes());
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), reported_);
  }

  ~TensorHandle() override { release(Env()); }

  bool live() const { return tensor_.defined(); }
  const Tensor& peek() const { return tensor_; }

  const Tensor& tensor(Napi::Env env, const char* param) const {
    if (!tensor_.defined())
      throw Napi::TypeError::New(env, std::string(param) + " has been disposed");
    return tensor_;
  }

 private:
  // Also runs from the finaliser, during environment teardown: it must not throw, so the status
  // of the memory report is ignored (the count dies with the environment).
  void release(Napi::Env env) noexcept {
    if (!tensor_.defined()) return;
    tensor_ = Tensor();
    int64_t total = 0;
    if (reported_) napi_adjust_external_memory(env, -reported_, &total);
    reported_ = 0;
  }

  Napi::Value shape(const Napi::CallbackInfo& info) {
    const Tensor& t = tensor(info.Env(), "tensor");
    Napi::Array array = Napi::Array::New(info.Env(), t.shape().size());
    for (size_t i = 0; i < t.shape().size(); ++i) array.Set(uint32_t(i), Napi::Number::New(info.Env(), double(t.shape()[i])));
    return array;
  }
  Napi::Value dtype(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), dtypeName(tensor(info.Env(), "tensor").dtype()));
  }
  Napi::Value device(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), tensor(info.Env(), "tensor").device().name());
  }
  Napi::Value disposed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !tensor_.defined());
  }
  Napi::Value reshape(const Napi::CallbackInfo& info) {
    return guarded(info, [&] {
      return wrapTensor(info.Env(), tensor(info.Env(), "tensor").reshape(shapeArg(info, 0, "shape")));
    });
  }
  Napi::Value to(const Napi::CallbackInfo& info) {
    return guarded(info, [&] {
      Device& target = Device::get(stringArg(info, 0, "device"));
      return wrapTensor(info.Env(), tensor(info.Env(), "tensor").to(target));
    });
  }
  Napi::Value dispose(const Napi::CallbackInfo& info) {
    release(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value toArray(const Napi::CallbackInfo& info);

  Tensor tensor_;
  int64_t reported_ = 0;
};

// toArray(raw): bfloat16 and float16 come back widened to a Float32Array (exact), or with raw =
// true as their bits in a Uint16Array.
Napi::Value TensorHandle::toArray(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Tensor& t = tensor(info.Env(), "tensor");
    const bool raw = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
    Tensor::HostDownload download = t.toHostAsync();
    const DType dtype = t.dtype();
    auto data = download.data;
    const size_t size = download.size;
    // The typed array is built on the JS thread once the stream has copied the values out.
    return FenceWorker::start(info.Env(), download.ready, [data, size, dtype, raw](Napi::Env env) -> Napi::Value {
      const size_t count = size / elementSize(dtype);
      if (dtype == DType::BFloat16 || dtype == DType::Float16) {
        const auto* bits = reinterpret_cast<const uint16_t*>(data.get());
        if (raw) {
          Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, size);
          std::memcpy(buffer.Data(), bits, size);
          return Napi::Uint16Array::New(env, count, buffer, 0);
        }
        Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, count * sizeof(float));
        float* out = static_cast<float*>(buffer.Data());
        if (dtype == DType::BFloat16)
          for (size_t i = 0; i < count; ++i) out[i] = floatFromBf16Bits(bits[i]);
        else
          for (size_t i = 0; i < count; ++i) out[i] = floatFromF16Bits(bits[i]);
        return Napi::Float32Array::New(env, count, buffer, 0);
      }
      Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, size);
      std::memcpy(buffer.Data(), data.get(), size);
      if (dtype == DType::Float32) return Napi::Float32Array::New(env, count, buffer, 0);
      if (dtype == DType::UInt8) return Napi::Uint8Array::New(env, count, buffer, 0);
      return Napi::Int32Array::New(env, count, buffer, 0);
    });
  });
}

constexpr const char* kArrayTypes =
    "data must be a Float32Array, an Int32Array or a Uint8Array (over an ArrayBuffer or a SharedArrayBuffer)";

DType parseDType(Napi::Env env, const std::string& dtype) {
  if (dtype == "float32") return DType::Float32;
  if (dtype == "int32") return DType::Int32;
  if (dtype == "uint8") return DType::UInt8;
  if (dtype == "bfloat16") return DType::BFloat16;
  if (dtype == "float16") return DType::Float16;
  throw Napi::TypeError::New(env, "dtype must be \"float32\", \"int32\", \"uint8\", \"bfloat16\" or \"float16\", got \"" + dtype + "\"");
}

Napi::Value fromArray(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray())
      throw Napi::TypeError::New(env, kArrayTypes);
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    // A fourth argument "bfloat16" or "float16" stores a Float32Array rounded to nearest even, or
    // a Uint16Array's raw bits.
    const DType half = info.Length() > 3 && !info[3].IsUndefined() ? parseDType(env, stringArg(info, 3, "dtype"))
                                                                    : DType::Float32;
    const bool sixteen = half == DType::BFloat16 || half == DType::Float16;
    DType dtype;
    if (sixteen && (array.TypedArrayType() == napi_float32_array || array.TypedArrayType() == napi_uint16_array))
      dtype = half;
    else if (sixteen)
      throw Napi::TypeError::New(env, std::string(dtypeName(half)) +
                                          " data must be a Float32Array (rounded to nearest even) or a Uint16Array of raw bits");
    else if (array.TypedArrayType() == napi_float32_array) dtype = DType::Float32;
    else if (array.TypedArrayType() == napi_int32_array) dtype = DType::Int32;
    else if (array.TypedArrayType() == napi_uint8_array) dtype = DType::UInt8;
    else throw Napi::TypeError::New(env, kArrayTypes);
    Shape shape = shapeArg(info, 1, "shape");
    if (int64_t(array.ElementLength()) != shapeNumel(shape))
      throw Napi::RangeError::New(env, "data has " + std::to_string(array.ElementLength()) +
                                           " elements but shape " + shapeString(shape) + " needs " +
                                           std::to_string(shapeNumel(shape)));
    Device& device = Device::get(stringArg(info, 2, "device"));
    // The view's own data pointer: Napi::TypedArray::ArrayBuffer() rejects a view of a
    // SharedArrayBuffer ("Invalid argument"), which this accepts. The values are copied once,
    // here; writes by other threads after the call do not reach the tensor.
    void* data = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, array, nullptr, nullptr, &data, nullptr, nullptr),
                         Napi::Value());
    const uint8_t* bytes = static_cast<const uint8_t*>(data);
    if (sixteen && array.TypedArrayType() == napi_float32_array) {
      const float* values = static_cast<const float*>(data);
      std::vector<uint16_t> bits(array.ElementLength());
      if (dtype == DType::BFloat16)
        for (size_t i = 0; i < bits.size(); ++i) bits[i] = bf16BitsFromFloat(values[i]);
      else
        for (size_t i = 0; i < bits.size(); ++i) bits[i] = f16BitsFromFloat(values[i]);
      return wrapTensor(env, Tensor::fromHost(device, bits.data(), shape, dtype));
    }
    return wrapTensor(env, Tensor::fromHost(device, bytes, shape, dtype));
  });
}

Napi::Value empty(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Shape shape = shapeArg(info, 0, "shape");
    const DType type = parseDType(info.Env(), stringArg(info, 1, "dtype"));
    Device& device = Device::get(stringArg(info, 2, "device"));
    return wrapTensor(info.Env(), Tensor::empty(device, shape, type));
  });
}

// toDType(x, dtype): ops::toDType, between float32, bfloat16 and float16.
Napi::Value toDType(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    const Tensor& x = unwrapTensor(info[0], "x");
    const DType dtype = parseDType(info.Env(), stringArg(info, 1, "dtype"));
    return wrapTensor(info.Env(), ops::toDType(x, dtype));
  });
}

// bf16Support(device), fp16Support(device): { supported, reason } for bfloat16 or float16 compute
// on that device.
template <bool (Device::*supports)(std::string*) const>
Napi::Value halfSupport(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Device& device = Device::get(stringArg(info, 0, "device"));
    std::string reason;
    const bool supported = (device.*supports)(&reason);
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("supported", Napi::Boolean::New(info.Env(), supported));
    result.Set("reason", Napi::String::New(info.Env(), reason));
    return Napi::Value(result);
  });
}

}  // namespace

const Tensor& unwrapTensor(const Napi::Value& value, const char* param) {
  Napi::Env env = value.Env();
  AddonData& data = addonData(env);
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(data.tensorClass.Value()))
    throw Napi::TypeError::New(env, std::string(param) + " must be a Tensor");
  return TensorHandle::Unwrap(value.As<Napi::Object>())->tensor(env, param);
}

const Tensor* peekTensor(const Napi::Value& value) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(addonData(value.Env()).tensorClass.Value())) return nullptr;
  const TensorHandle* handle = TensorHandle::Unwrap(value.As<Napi::Object>());
  return handle->live() ? &handle->peek() : nullptr;
}

Tensor unwrapOptionalTensor(const Napi::Value& value, const char* param) {
  if (value.IsNull() || value.IsUndefined()) return Tensor();
  return unwrapTensor(value, param);
}

Napi::Value wrapTensor(Napi::Env env, Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* owned = new Tensor(std::move(tensor));
  return addonData(env).tensorClass.New({Napi::External<Tensor>::New(env, owned)});
}

void initTensor(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = TensorHandle::define(env);
  addonData(env).tensorClass = Napi::Persistent(cls);
  exports.Set("NativeTensor", cls);
  exportFunctions(env, exports, {{"fromArray", fromArray}, {"empty", empty}, {"toDType", toDType},
                                  {"bf16Support", halfSupport<&Device::bf16Supported>},
                                  {"fp16Support", halfSupport<&Device::fp16Supported>}});
}

}  // namespace alexnet::addon
