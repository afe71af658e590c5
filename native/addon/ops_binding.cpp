// One binding per op of alexnet::ops. Arguments arrive positional and already validated by
// lib/ops (which gives the friendly messages); the core validates again.
#include "addon.hpp"

namespace alexnet::addon {
namespace {

using Info = Napi::CallbackInfo;

ops::Conv2dOptions convOptions(const Info& info, size_t first) {
  ops::Conv2dOptions o;
  o.strideH = intArg(info, first, "strideH");
  o.strideW = intArg(info, first + 1, "strideW");
  o.padH = intArg(info, first + 2, "padH");
  o.padW = intArg(info, first + 3, "padW");
  o.groups = intArg(info, first + 4, "groups");
  return o;
}

ops::LrnOptions lrnOptions(const Info& info, size_t first) {
  ops::LrnOptions o;
  o.size = intArg(info, first, "size");
  o.alpha = floatArg(info, first + 1, "alpha");
  o.beta = floatArg(info, first + 2, "beta");
  o.k = floatArg(info, first + 3, "k");
  return o;
}

ops::PoolOptions poolOptions(const Info& info, size_t first) {
  ops::PoolOptions o;
  o.kernelH = intArg(info, first, "kernelH");
  o.kernelW = intArg(info, first + 1, "kernelW");
  o.strideH = intArg(info, first + 2, "strideH");
  o.strideW = intArg(info, first + 3, "strideW");
  return o;
}

Napi::Object grads(Napi::Env env, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("dx", wrapTensor(env, dx));
  result.Set("dw", wrapTensor(env, dw));
  result.Set("db", wrapTensor(env, db));
  return result;
}

Napi::Value conv2d(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::conv2d(unwrapTensor(info[0], "x"), unwrapTensor(info[1], "w"),
                                              unwrapOptionalTensor(info[2], "b"), convOptions(info, 3)));
  });
}

Napi::Value conv2dBackward(const Info& info) {
  return guarded(info, [&] {
    auto g = ops::conv2dBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                 unwrapTensor(info[2], "w"), convOptions(info, 3),
                                 boolArg(info, 8, "wantDx"), boolArg(info, 9, "wantDb"));
    return Napi::Value(grads(info.Env(), g.dx, g.dw, g.db));
  });
}

Napi::Value lrn(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::localResponseNorm(unwrapTensor(info[0], "x"), lrnOptions(info, 1)));
  });
}

Napi::Value lrnBackward(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(),
                      ops::localResponseNormBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                                     unwrapTensor(info[2], "y"), lrnOptions(info, 3)));
  });
}

Napi::Value maxPool2d(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::maxPool2d(unwrapTensor(info[0], "x"), poolOptions(info, 1)));
  });
}

Napi::Value maxPool2dBackward(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::maxPool2dBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                                         unwrapTensor(info[2], "y"), poolOptions(info, 3)));
  });
}

Napi::Value linear(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::linear(unwrapTensor(info[0], "x"), unwrapTensor(info[1], "w"),
                                              unwrapOptionalTensor(info[2], "b")));
  });
}

Napi::Value linearBackward(const Info& info) {
  return guarded(info, [&] {
    auto g = ops::linearBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "x"),
                                 unwrapTensor(info[2], "w"), boolArg(info, 3, "wantDx"),
                                 boolArg(info, 4, "wantDb"));
    return Napi::Value(grads(info.Env(), g.dx, g.dw, g.db));
  });
}

Napi::Value relu(const Info& info) {
  return guarded(info, [&] { return wrapTensor(info.Env(), ops::relu(unwrapTensor(info[0], "x"))); });
}

Napi::Value reluBackward(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::reluBackward(unwrapTensor(info[0], "dy"), unwrapTensor(info[1], "y")));
  });
}

Napi::Value dropout(const Info& info) {
  return guarded(info, [&] {
    auto r = ops::dropout(unwrapTensor(info[0], "x"), floatArg(info, 1, "p"), seedArg(info, 2, "seed"));
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
                                                   intArg(info, 2, "k")));
  });
}

Napi::Value sgdStep(const Info& info) {
  return guarded(info, [&] {
    ops::sgdStep(unwrapTensor(info[0], "param"), unwrapTensor(info[1], "velocity"), unwrapTensor(info[2], "grad"),
                 floatArg(info, 3, "lr"), floatArg(info, 4, "momentum"),
                 floatArg(info, 5, "weightDecay"));
    return info.Env().Undefined();
  });
}

Napi::Value fill(const Info& info) {
  return guarded(info, [&] {
    ops::fill(unwrapTensor(info[0], "tensor"), floatArg(info, 1, "value"));
    return info.Env().Undefined();
  });
}

Napi::Value normal(const Info& info) {
  return guarded(info, [&] {
    ops::normal(unwrapTensor(info[0], "tensor"), floatArg(info, 1, "mean"), floatArg(info, 2, "std"),
                seedArg(info, 3, "seed"));
    return info.Env().Undefined();
  });
}

Napi::Value axpy(const Info& info) {
  return guarded(info, [&] {
    ops::axpy(floatArg(info, 0, "alpha"), unwrapTensor(info[1], "x"), unwrapTensor(info[2], "y"));
    return info.Env().Undefined();
  });
}

Napi::Value scale(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::scale(unwrapTensor(info[0], "x"), floatArg(info, 1, "alpha")));
  });
}

Napi::Value add(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::add(unwrapTensor(info[0], "a"), unwrapTensor(info[1], "b")));
  });
}

Napi::Value clone(const Info& info) {
  return guarded(info, [&] { return wrapTensor(info.Env(), ops::clone(unwrapTensor(info[0], "x"))); });
}

// (images, params, mean | null, outH, outW, scale)
Napi::Value cropImages(const Info& info) {
  return guarded(info, [&] {
    ops::CropOptions o;
    o.outH = intArg(info, 3, "outH");
    o.outW = intArg(info, 4, "outW");
    o.scale = floatArg(info, 5, "scale");
    return wrapTensor(info.Env(), ops::cropImages(unwrapTensor(info[0], "images"), unwrapTensor(info[1], "params"),
                                                  unwrapOptionalTensor(info[2], "mean"), o));
  });
}

Napi::Value sliceChannels(const Info& info) {
  return guarded(info, [&] {
    return wrapTensor(info.Env(), ops::sliceChannels(unwrapTensor(info[0], "x"), intArg(info, 1, "start"),
                                                     intArg(info, 2, "count")));
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
    ops::copyIntoChannels(unwrapTensor(info[0], "dst"), unwrapTensor(info[1], "src"), intArg(info, 2, "start"));
    return info.Env().Undefined();
  });
}

}  // namespace

void initOps(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Info&);
  };
  const Entry entries[] = {
      {"conv2d", conv2d}, {"conv2dBackward", conv2dBackward}, {"localResponseNorm", lrn},
      {"localResponseNormBackward", lrnBackward}, {"maxPool2d", maxPool2d},
      {"maxPool2dBackward", maxPool2dBackward}, {"linear", linear}, {"linearBackward", linearBackward},
      {"relu", relu}, {"reluBackward", reluBackward}, {"dropout", dropout},
      {"dropoutBackward", dropoutBackward}, {"softmaxCrossEntropy", softmaxCrossEntropy},
      {"softmax", softmax}, {"topkCorrect", topkCorrect}, {"sgdStep", sgdStep}, {"fill", fill},
      {"normal", normal}, {"axpy", axpy}, {"scale", scale}, {"add", add}, {"clone", clone},
      {"sliceChannels", sliceChannels}, {"concatChannels", concatChannels},
      {"copyIntoChannels", copyIntoChannels}, {"cropImages", cropImages},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace alexnet::addon
