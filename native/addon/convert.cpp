// Argument conversion and error mapping shared by all bindings.
#include <cfloat>
#include <cmath>

#include "addon.hpp"

namespace alexnet::addon {

static std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "number " + v.ToString().Utf8Value();
  if (v.IsString()) return "string \"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsBoolean()) return "boolean";
  if (v.IsArray()) return "array";
  return "object";
}

double numberArg(const Napi::CallbackInfo& info, size_t i, const char* param) {
  if (!info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(param) + " must be a number, got " + describe(info[i]));
  return info[i].As<Napi::Number>().DoubleValue();
}

float checkedFloat(Napi::Env env, const Napi::Value& value, const std::string& param) {
  if (!value.IsNumber())
    throw Napi::TypeError::New(env, param + " must be a number, got " + describe(value));
  const double v = value.As<Napi::Number>().DoubleValue();
  // Finite doubles from here on round to infinity in float32 (FLT_MAX plus half its ulp, 2^103;
  // the tie rounds to the even neighbour, which is infinity).
  const double limit = double(FLT_MAX) + std::ldexp(1.0, 103);
  if (std::isfinite(v) && std::fabs(v) >= limit)
    throw Napi::RangeError::New(env, param + " " + value.ToString().Utf8Value() +
                                         " is not representable as a float32 (largest finite magnitude " +
                                         Napi::Number::New(env, FLT_MAX).ToString().Utf8Value() + ")");
  return static_cast<float>(v);
}

float floatArg(const Napi::CallbackInfo& info, size_t i, const char* param) {
  return checkedFloat(info.Env(), info[i], param);
}

int64_t checkedInteger(Napi::Env env, const Napi::Value& value, const std::string& param, int64_t min,
                       int64_t max) {
  if (!value.IsNumber())
    throw Napi::TypeError::New(env, param + " must be a number, got " + describe(value));
  const double v = value.As<Napi::Number>().DoubleValue();
  // Compared as doubles before any cast: min and max are within 2^53, so exactly representable,
  // and NaN fails both comparisons.
  if (!(v >= double(min) && v <= double(max)))
    throw Napi::RangeError::New(env, param + " must be in [" + std::to_string(min) + ", " +
                                         std::to_string(max) + "], got " + value.ToString().Utf8Value());
  if (std::floor(v) != v)
    throw Napi::RangeError::New(env, param + " must be an integer, got " + value.ToString().Utf8Value());
  return static_cast<int64_t>(v);
}

int intArg(const Napi::CallbackInfo& info, size_t i, const char* param) {
  return int(checkedInteger(info.Env(), info[i], param, -kMaxDimension, kMaxDimension));
}

uint64_t seedArg(const Napi::CallbackInfo& info, size_t i, const char* param) {
  return uint64_t(checkedInteger(info.Env(), info[i], param, 0, kMaxSafeInteger));
}

bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* param) {
  if (!info[i].IsBoolean())
    throw Napi::TypeError::New(info.Env(), std::string(param) + " must be a boolean, got " + describe(info[i]));
  return info[i].As<Napi::Boolean>().Value();
}

std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* param) {
  if (!info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(param) + " must be a string, got " + describe(info[i]));
  return info[i].As<Napi::String>().Utf8Value();
}

Shape shapeArg(const Napi::CallbackInfo& info, size_t i, const char* param) {
  if (!info[i].IsArray())
    throw Napi::TypeError::New(info.Env(), std::string(param) + " must be an array of integers, got " + describe(info[i]));
  Napi::Array array = info[i].As<Napi::Array>();
  Shape shape;
  for (uint32_t k = 0; k < array.Length(); ++k)
    shape.push_back(checkedInteger(info.Env(), array.Get(k), std::string(param) + "[" + std::to_string(k) + "]", 1,
                                   kMaxDimension));
  return shape;
}

Napi::Error makeError(Napi::Env env, const Error& error, bool fromStream) {
  Napi::Error result;
  AddonData& data = addonData(env);
  if (error.code() == "INVALID_ARGUMENT" && !fromStream) {
    result = Napi::TypeError::New(env, error.what());
  } else if (!data.errorClass.IsEmpty()) {
    Napi::Object object = data.errorClass.New({Napi::String::New(env, error.what()),
                                               Napi::String::New(env, error.code()),
                                               Napi::String::New(env, error.call()),
                                               Napi::String::New(env, error.hint())});
    return Napi::Error(env, object);
  } else {
    result = Napi::Error::New(env, error.what());
    result.Set("call", Napi::String::New(env, error.call()));
    result.Set("hint", Napi::String::New(env, error.hint()));
  }
  result.Set("code", Napi::String::New(env, error.code()));
  return result;
}

Napi::Error makeError(Napi::Env env, const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return makeError(env, e, true);
  } catch (const std::exception& e) {
    return makeError(env, Error("INTERNAL", e.what()));
  } catch (...) {
    return makeError(env, Error("INTERNAL", "unknown native error"));
  }
}

}  // namespace alexnet::addon
