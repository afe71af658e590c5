// One binding per op of alexnet::ops. The ops of the op table (alexnet/op_table.hpp) take their
// tensors, then one options object whose properties are the table's option fields; their shape
// queries (conv2dShape, maxPool2dShape, linearShape) run the core's meta functions. The other ops
// (add, clone, crop, channel copies) still take positional arguments. lib/ops normalises options
// and names the JS parameters; the core checks shapes once, in its meta functions.
#include "addon.hpp"
#include "alexnet/meta.hpp"

namespace alexnet::addon {
namespace {

using Info = Napi::CallbackInfo;

// One option field of a JS options object: missing (undefined) takes the table's default.
void readOption(Napi::Env env, const Napi::Object& o, const char* name, int& field) {
  Napi::Value v = o.Get(name);
  if (!v.IsUndefined()) field = int(checkedInteger(env, v, std::string("options.") + name, -kMaxDimension, kMaxDimension));
}
void readOption(Napi::Env env, const Napi::Object& o, const char* name, float& field) {
  Napi::Value v = o.Get(name);
  if (!v.IsUndefined()) field = checkedFloat(env, v, std::string("options.") + name);
}
// Seeds and element offsets: integers in [0, 2^53), which a JS number holds exactly.
void readOption(Napi::Env env, const Napi::Object& o, const char* name, uint64_t& field) {
  Napi::Value v = o.Get(name);
  if (!v.IsUndefined()) field = uint64_t(checkedInteger(env, v, std::string("options.") + name, 0, kMaxSafeInteger));
}
void readOption(Napi::Env env, const Napi::Object& o, const char* name, bool& field) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("options.") + name + " must be a boolean");
  field = v.As<Napi::Boolean>().Value();
}

// The table's option structs from a JS object (undefined: all defaults).
template <typename Options>
Options optionsArg(const Info& info, size_t i);

#define ALEXNET_READ_FIELD(type, name, value) readOption(env, object, #name, o.name);
#define ALEXNET_OPTIONS_READER(Struct, FIELDS, jsName)                                       \
  template <>                                                                                \
  ops::Struct optionsArg<ops::Struct>(const Info& info, size_t i) {                          \
    Napi::Env env = info.Env();                                                              \
    ops::Struct o;                                                                           \
    if (info[i].IsUndefined()) return o;                                                     \
    if (!info[i].IsObject()) throw Napi::TypeError::New(env, "options must be an object");   \
    Napi::Object object = info[i].As<Napi::Object>();                                        \
    FIELDS(ALEXNET_READ_FIELD)                                                               \
    return o;                                                                                \
  }
ALEXNET_OPTION_STRUCTS(ALEXNET_OPTIONS_READER)
#undef ALEXNET_OPTIONS_READER
#undef ALEXNET_READ_FIELD

// { conv2d: ['strideH', ...], ... }: the option fields of the table, for lib/binding.ts's test.
Napi::Object optionFields(Napi::Env env) {
  Napi::Object result = Napi::Object::New(env);
#define ALEXNET_FIELD_NAME(type, name, value) names.Set(names.Length(), Napi::String::New(env, #name));
#define ALEXNET_OPTIONS_NAMES(Struct, FIELDS, jsName) \
  {                                                   \
    Napi::Array names = Napi::Array::New(env);        \
    FIELDS(ALEXNET_FIELD_NAME)                        \
    result.Set(jsName, names);                        \
  }
  ALEXNET_OPTION_STRUCTS(ALEXNET_OPTIONS_NAMES)
#undef ALEXNET_OPTIONS_NAMES
#undef ALEXNET_FIELD_NAME
  return result;
}

Napi::Array unaryOpNames(Napi::Env env) {
  Napi::Array names = Napi::Array::New(env);
#define ALEXNET_UNARY_NAME(name, dtypes) names.Set(names.Length(), Napi::String::New(env, #name));
  ALEXNET_UNARY_OPS(ALEXNET_UNARY_NAME)
#undef ALEXNET_UNARY_NAME
  return names;
}

Napi::Array shapeValue(Napi::Env env, const Shape& shape) {
  Napi::Array result = Napi::Array::New(env, shape.size());
  for (size_t k = 0; k < shape.size(); ++k) result.Set(uint32_t(k), Napi::Number::New(env, double(shape[k])));
  return result;
}

// A shape query: the meta function's INVALID_ARGUMENT is a RangeError (the shapes and options
// are well-typed; their values do not fit together).
template <typename F>
Napi::Value shapeQuery(const Info& info, F&& body) {
  return guarded(info, [&]() -> Napi::Value {
    try {
      return shapeValue(info.Env(), body());
    } catch (const Error& e) {
      if (e.code() != "INVALID_ARGUMENT") throw;
      throw Napi::RangeError::New(info.Env(), e.what());
    }
  });
}

Napi::Object grads(Napi::Env env, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("dx", wrapTensor(env, dx));
  result.Set("dw", wrapTensor(env, dw));
  result.Set("db", wrapTensor(env, db));
  return result;
}

// ---- the op table's ops ------------------------------------------------------------------------

// (x, w, b | null, options)
Napi::Value conv2d(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::conv2d(unwrapTensor(info[0], "x"), unwrapTensor(info[1], "w"),
                                              unwrapOptionalTensor(info[2], "b"),
                                              optionsArg<ops::Conv2dOptions>(info, 3)));
  });
}

// (dy, x, w, options): the convolution's options and wantDx, wantDb in one object.
Napi::Value conv2dBackward(const Info& info) {
  return guarded(info, [&] {
    auto g = ops::conv2dBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                 unwrapTensor(info[2], "w"), optionsArg<ops::Conv2dOptions>(info, 3),
                                 optionsArg<ops::GradOptions>(info, 3));
    return Napi::Value(grads(info.Env(), g.dx, g.dw, g.db));
  });
}

// (xShape, wShape, options) -> the output shape
Napi::Value conv2dShape(const Info& info) {
  return shapeQuery(info, [&] {
    return meta::outputShape(meta::conv2d(shapeArg(info, 0, "xShape"), shapeArg(info, 1, "wShape"),
                                          optionsArg<ops::Conv2dOptions>(info, 2)));
  });
}

// (x, options)
Napi::Value lrn(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::localResponseNorm(unwrapTensor(info[0], "x"), optionsArg<ops::LrnOptions>(info, 1)));
  });
}

// (dy, x, y, options)
Napi::Value lrnBackward(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(),
                      ops::localResponseNormBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                                     unwrapTensor(info[2], "y"), optionsArg<ops::LrnOptions>(info, 3)));
  });
}

// (xShape, options) -> checks the options; the output shape is the input's
Napi::Value lrnShape(const Info& info) {
  return shapeQuery(info, [&] {
    const Shape x = shapeArg(info, 0, "xShape");
    meta::localResponseNorm(x, optionsArg<ops::LrnOptions>(info, 1));
    return x;
  });
}

// (x, options)
Napi::Value maxPool2d(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::maxPool2d(unwrapTensor(info[0], "x"), optionsArg<ops::PoolOptions>(info, 1)));
  });
}

// (dy, x, y, options)
Napi::Value maxPool2dBackward(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::maxPool2dBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                                         unwrapTensor(info[2], "y"), optionsArg<ops::PoolOptions>(info, 3)));
  });
}

// (xShape, options) -> the output shape
Napi::Value maxPool2dShape(const Info& info) {
  return shapeQuery(info, [&] {
    return meta::outputShape(meta::maxPool2d(shapeArg(info, 0, "xShape"), optionsArg<ops::PoolOptions>(info, 1)));
  });
}

// (tensor, options): in place.
Napi::Value normal(const Info& info) {
  return guarded(info, [&] {
    ops::normal(unwrapTensor(info[0], "tensor"), optionsArg<ops::NormalOptions>(info, 1));
    return info.Env().Undefined();
  });
}

// The unary elementwise ops: name(x) and nameBackward(dy, y).
#define ALEXNET_BIND_UNARY_OP(name, dtypes)                                                                       \
  Napi::Value name##Binding(const Info& info) {                                                           \
    return guarded(info, [&] { return wrapTensor(info.Env(), ops::name(unwrapTensor(info[0], "x"))); }); \
  }                                                                                                       \
  Napi::Value name##BackwardBinding(const Info& info) {                                                   \
    return guarded(info, [&] {                                                                            \
      return wrapTensor(info.Env(), ops::name##Backward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "y"))); \
    });                                                                                                   \
  }
ALEXNET_UNARY_OPS(ALEXNET_BIND_UNARY_OP)
#undef ALEXNET_BIND_UNARY_OP

// (x, w, b | null): linear has no options of its own.
Napi::Value linear(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::linear(unwrapTensor(info[0], "x"), unwrapTensor(info[1], "w"),
                                              unwrapOptionalTensor(info[2], "b")));
  });
}

// (dy, x, w, options): wantDx, wantDb.
Napi::Value linearBackward(const Info& info) {
  return guarded(info, [&] {
    auto g = ops::linearBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                 unwrapTensor(info[2], "w"), optionsArg<ops::GradOptions>(info, 3));
    return Napi::Value(grads(info.Env(), g.dx, g.dw, g.db));
  });
}

// (xShape, wShape) -> the output shape
Napi::Value linearShape(const Info& info) {
  return shapeQuery(info, [&] {
    return meta::outputShape(meta::linear(shapeArg(info, 0, "xShape"), shapeArg(info, 1, "wShape")));
  });
}

// ---- dropout, the losses, sgdStep: the table's options objects (or none) ----------------------

// (x, options)
Napi::Value dropout(const Info& info) {
  return guarded(info, [&] {
    auto r = ops::dropout(unwrapTensor(info[0], "x"), optionsArg<ops::DropoutOptions>(info, 1));
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("y", wrapTensor(info.Env(), r.y));
    result.Set("mask", wrapTensor(info.Env(), r.mask));
    return Napi::Value(result);
  });
}

Napi::Value dropoutBackward(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::dropoutBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "mask")));
  });
}

Napi::Value softmaxCrossEntropy(const Info& info) {
  return guarded(info, [&] {
    auto r = ops::softmaxCrossEntropy(unwrapTensor(info[0], "logits"), unwrapTensor(info[1], "labels"));
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("loss", wrapTensor(info.Env(), r.loss));
    result.Set("dlogits", wrapTensor(info.Env(), r.dlogits));
    return Napi::Value(result);
  });
}

Napi::Value softmax(const Info& info) {
  return guarded(info, [&] { return wrapTensor(info.Env(), ops::softmax(unwrapTensor(info[0], "logits"))); });
}

Napi::Value topkCorrect(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::topkCorrect(unwrapTensor(info[0], "logits"), unwrapTensor(info[1], "labels"),
                                                   optionsArg<ops::TopkOptions>(info, 2)));
  });
}

// (param, velocity, grad, options): in place on param and velocity.
Napi::Value sgdStep(const Info& info) {
  return guarded(info, [&] {
    ops::sgdStep(unwrapTensor(info[0], "param"), unwrapTensor(info[1], "velocity"), unwrapTensor(info[2], "grad"),
                 optionsArg<ops::SgdOptions>(info, 3));
    return info.Env().Undefined();
  });
}

// (tensor, options): in place.
Napi::Value fill(const Info& info) {
  return guarded(info, [&] {
    ops::fill(unwrapTensor(info[0], "tensor"), optionsArg<ops::FillOptions>(info, 1));
    return info.Env().Undefined();
  });
}


// (x, y, options): y += alpha x in place.
Napi::Value axpy(const Info& info) {
  return guarded(info, [&] {
    ops::axpy(unwrapTensor(info[0], "x"), unwrapTensor(info[1], "y"), optionsArg<ops::ScaleOptions>(info, 2));
    return info.Env().Undefined();
  });
}

// (x, options)
Napi::Value scale(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::scale(unwrapTensor(info[0], "x"), optionsArg<ops::ScaleOptions>(info, 1)));
  });
}

// (grads, options): options.alpha = 1 / scale; returns the found-inf flag, a float32 [1] tensor.
Napi::Value unscaleGradients(const Info& info) {
  return guarded(info, [&] {
    if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "grads must be an array of tensors");
    Napi::Array array = info[0].As<Napi::Array>();
    std::vector<Tensor> grads;
    for (uint32_t i = 0; i < array.Length(); ++i)
      grads.push_back(unwrapTensor(array.Get(i), ("grads[" + std::to_string(i) + "]").c_str()));
    return wrapTensor(info.Env(), ops::unscaleGradients(grads, optionsArg<ops::ScaleOptions>(info, 1)));
  });
}

// ---- ops of tensors alone, and the channel and crop ops ------------------------------------------

Napi::Value add(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::add(unwrapTensor(info[0], "a"), unwrapTensor(info[1], "b")));
  });
}

Napi::Value clone(const Info& info) {
  return guarded(info, [&] { return wrapTensor(info.Env(), ops::clone(unwrapTensor(info[0], "x"))); });
}

// (images, params, mean | null, options)
Napi::Value cropImages(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::cropImages(unwrapTensor(info[0], "images"), unwrapTensor(info[1], "params"),
                                                  unwrapOptionalTensor(info[2], "mean"),
                                                  optionsArg<ops::CropOptions>(info, 3)));
  });
}

// (x, { start, count })
Napi::Value sliceChannels(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::sliceChannels(unwrapTensor(info[0], "x"), optionsArg<ops::ChannelOptions>(info, 1)));
  });
}

Napi::Value concatChannels(const Info& info) {
  return guarded(info, [&] {
    if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "parts must be an array of tensors");
    Napi::Array array = info[0].As<Napi::Array>();
    std::vector<Tensor> parts;
    for (uint32_t i = 0; i < array.Length(); ++i) parts.push_back(unwrapTensor(array.Get(i), "parts[i]"));
    return wrapTensor(info.Env(), ops::concatChannels(parts));
  });
}

Napi::Value copyIntoChannels(const Info& info) {
  return guarded(info, [&] {
    ops::copyIntoChannels(unwrapTensor(info[0], "dst"), unwrapTensor(info[1], "src"), optionsArg<ops::ChannelOptions>(info, 2));
    return info.Env().Undefined();
  });
}

// Where float16 may be computed with. The ops with float16 overloads in the op table (dtypes
// F32_BF16_F16: convolutions, LRN, max pooling, linear, ReLU) take float16 tensors on a device that
// computes in float16 (Device::fp16Supported: the CUDA backend) and refuse them elsewhere; every
// other op binding but clone refuses float16 always. Both refusals happen here, in one place, with
// an error naming the op and the argument, before the core sees the tensors (so no op can take
// their 2-byte elements for float32 ones, and no device is asked for kernels it lacks).
void refuseFloat16(const Info& info, const char* op, bool computesFloat16) {
  for (size_t i = 0; i < info.Length(); ++i) {
    auto check = [&](const Napi::Value& value, const std::string& where) {
      const Tensor* t = peekTensor(value);
      if (!t || t->dtype() != DType::Float16) return;
      std::string reason;
      if (!computesFloat16)
        throw Error("FLOAT16_UNSUPPORTED", std::string(op) + " does not compute in float16 (" + where + " is float16)", op,
                    "convert with .to('float32') (float16 tensors are stored and converted only, except by the "
                    "convolution, LRN, pooling, linear and ReLU ops on devices with float16 kernels)");
      if (!t->device().fp16Supported(&reason))
        throw Error("FLOAT16_UNSUPPORTED",
                    std::string(op) + " does not compute in float16 on " + t->device().name() + " (" + where +
                        " is float16): " + reason,
                    op, "convert with .to('float32'), or train with precision bf16 where supported");
    };
    if (info[i].IsArray()) {
      Napi::Array array = info[i].As<Napi::Array>();
      for (uint32_t k = 0; k < array.Length(); ++k)
        check(array.Get(k), "argument " + std::to_string(i) + "[" + std::to_string(k) + "]");
    } else {
      check(info[i], "argument " + std::to_string(i));
    }
  }
}

void exportComputeOps(Napi::Env env, Napi::Object exports, bool computesFloat16,
                      std::initializer_list<NamedBinding> functions) {
  for (const NamedBinding& f : functions)
    exports.Set(f.name, Napi::Function::New(env, [f, computesFloat16](const Info& info) -> Napi::Value {
      return guarded(info, [&] {
        refuseFloat16(info, f.name, computesFloat16);
        return f.fn(info);
      });
    }, f.name));
}

}  // namespace

void initOps(Napi::Env env, Napi::Object exports) {
  exportFunctions(env, exports, {{"clone", clone}});
  // The op table's F32_BF16_F16 ops (their bindings; the shape queries take no tensors).
  exportComputeOps(env, exports, true, {
      {"conv2d", conv2d}, {"conv2dBackward", conv2dBackward}, {"localResponseNorm", lrn},
      {"localResponseNormBackward", lrnBackward}, {"maxPool2d", maxPool2d},
      {"maxPool2dBackward", maxPool2dBackward}, {"linear", linear}, {"linearBackward", linearBackward},
#define ALEXNET_EXPORT_F16_UNARY_OP(name, dtypes) \
  ALEXNET_IF_F16_##dtypes({#name, name##Binding}, {#name "Backward", name##BackwardBinding},)
      ALEXNET_UNARY_OPS(ALEXNET_EXPORT_F16_UNARY_OP)
#undef ALEXNET_EXPORT_F16_UNARY_OP
  });
  exportComputeOps(env, exports, false, {
      {"conv2dShape", conv2dShape}, {"localResponseNormShape", lrnShape}, {"maxPool2dShape", maxPool2dShape},
      {"linearShape", linearShape},
      {"dropout", dropout},
      {"dropoutBackward", dropoutBackward}, {"softmaxCrossEntropy", softmaxCrossEntropy},
      {"softmax", softmax}, {"topkCorrect", topkCorrect}, {"sgdStep", sgdStep}, {"fill", fill},
      {"normal", normal}, {"axpy", axpy}, {"scale", scale}, {"add", add},
      {"sliceChannels", sliceChannels}, {"concatChannels", concatChannels},
      {"copyIntoChannels", copyIntoChannels}, {"cropImages", cropImages},
      {"unscaleGradients", unscaleGradients},
#define ALEXNET_EXPORT_F32_UNARY_OP(name, dtypes) \
  ALEXNET_IF_NOT_F16_##dtypes({#name, name##Binding}, {#name "Backward", name##BackwardBinding},)
      ALEXNET_UNARY_OPS(ALEXNET_EXPORT_F32_UNARY_OP)
#undef ALEXNET_EXPORT_F32_UNARY_OP
  });
  exports.Set("opOptionFields", optionFields(env));
  exports.Set("unaryOps", unaryOpNames(env));
}

}  // namespace alexnet::addon
