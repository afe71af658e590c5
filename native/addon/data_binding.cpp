// The input pipeline's bindings (native/data). Long work (reading data sets, statistics, the
// packed cache) runs in AsyncWorkers; batches come from the pipeline's own threads and are handed
// to JavaScript through one ThreadSafeFunction per pipeline. No JavaScript value is touched off
// the main thread, and batch memory is passed to JavaScript without a copy.
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>

#include "addon.hpp"
#include "alexnet/data/codec.hpp"
#include "alexnet/data/packed.hpp"
#include "alexnet/data/pipeline.hpp"
#include "alexnet/data/readers.hpp"
#include "alexnet/data/stats.hpp"

namespace alexnet::addon {
namespace {

using Info = Napi::CallbackInfo;
namespace data = alexnet::data;
using SourcePtr = std::shared_ptr<const data::ImageSource>;

// ---- async helper ------------------------------------------------------------------------------

// Runs `work` on the libuv pool, then `result` on the main thread to build the resolved value.
class TaskWorker final : public PromiseWorker {
 public:
  TaskWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> result)
      : PromiseWorker(env), work_(std::move(work)), result_(std::move(result)) {}

 private:
  void work() override { work_(); }
  Napi::Value result(Napi::Env env) override { return result_(env); }

  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
};

Napi::Value runAsync(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> result) {
  return PromiseWorker::queue(new TaskWorker(env, std::move(work), std::move(result)));
}

// ---- arguments -----------------------------------------------------------------------------------

template <typename T, napi_typedarray_type Type>
Napi::TypedArrayOf<T> typedArg(const Info& info, size_t i, const char* param, const char* typeName) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != Type)
    throw Napi::TypeError::New(info.Env(), std::string(param) + " must be a " + typeName);
  return info[i].As<Napi::TypedArrayOf<T>>();
}

std::vector<std::string> stringsArg(const Info& info, size_t i, const char* param) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(param) + " must be an array of strings");
  Napi::Array array = info[i].As<Napi::Array>();
  std::vector<std::string> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsString())
      throw Napi::TypeError::New(info.Env(), std::string(param) + "[" + std::to_string(k) + "] must be a string");
    out[k] = v.As<Napi::String>().Utf8Value();
  }
  return out;
}

// An integer argument within JavaScript's exact integers; the pipeline checks its own range.
int64_t safeIntegerArg(const Info& info, size_t i, const char* param) {
  return checkedInteger(info.Env(), info[i], param, -kMaxSafeInteger, kMaxSafeInteger);
}

double numberField(Napi::Env env, const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("config.") + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}
int intField(Napi::Env env, const Napi::Object& o, const char* name) {
  return int(checkedInteger(env, o.Get(name), std::string("config.") + name, -kMaxDimension, kMaxDimension));
}
bool boolField(Napi::Env env, const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("config.") + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}
std::string stringField(Napi::Env env, const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("config.") + name + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}
std::vector<double> numbersField(Napi::Env env, const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    auto a = v.As<Napi::Float32Array>();
    return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
  }
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
    auto a = v.As<Napi::Float64Array>();
    return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
  }
  if (v.IsUndefined() || v.IsNull()) return {};
  throw Napi::TypeError::New(env, std::string("config.") + name + " must be a Float32Array or Float64Array");
}

// ---- source handles ------------------------------------------------------------------------------

const napi_type_tag kSourceTag = {0x8f1c2b6a4d7e4c11ull, 0xa5b3e0d9c2f14a77ull};

struct SourceHandle {
  SourcePtr source;
};

Napi::Value wrapSource(Napi::Env env, SourcePtr source) {
  auto external = Napi::External<SourceHandle>::New(env, new SourceHandle{std::move(source)},
                                                    [](Napi::Env, SourceHandle* h) { delete h; });
  external.TypeTag(&kSourceTag);
  return external;
}

SourcePtr sourceArg(const Info& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsExternal() || !v.As<Napi::External<SourceHandle>>().CheckTypeTag(&kSourceTag))
    throw Napi::TypeError::New(info.Env(), "source must be a data source handle");
  return v.As<Napi::External<SourceHandle>>().Data()->source;
}

Napi::Int32Array int32Array(Napi::Env env, const int32_t* data, size_t n) {
  auto a = Napi::Int32Array::New(env, n);
  if (n) std::memcpy(a.Data(), data, n * sizeof(int32_t));
  return a;
}

Napi::Float64Array float64Array(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(double));
  return a;
}

Napi::Object memorySourceInfo(Napi::Env env, const std::shared_ptr<data::MemorySource>& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("source", wrapSource(env, s));
  o.Set("count", Napi::Number::New(env, double(s->size())));
  o.Set("labels", int32Array(env, s->labels().data(), s->labels().size()));
  o.Set("height", Napi::Number::New(env, s->height()));
  o.Set("width", Napi::Number::New(env, s->width()));
  o.Set("channels", Napi::Number::New(env, s->channels()));
  return o;
}

// ---- data set readers ----------------------------------------------------------------------------

Napi::Value readIdx(const Info& info) {
  return guarded(info, [&] {
    auto images = stringArg(info, 0, "imagesPath"), labels = stringArg(info, 1, "labelsPath");
    const int numClasses = intArg(info, 2, "numClasses");
    if (numClasses < 1 || numClasses > 256)
      throw Napi::RangeError::New(info.Env(), "numClasses must be in [1, 256], got " + std::to_string(numClasses));
    auto out = std::make_shared<std::shared_ptr<data::MemorySource>>();
    return runAsync(info.Env(), [=] { *out = data::readIdx(images, labels, numClasses); },
                    [=](Napi::Env env) -> Napi::Value { return memorySourceInfo(env, *out); });
  });
}

Napi::Value readCifar10(const Info& info) {
  return guarded(info, [&] {
    auto files = stringsArg(info, 0, "files");
    auto out = std::make_shared<std::shared_ptr<data::MemorySource>>();
    return runAsync(info.Env(), [=] { *out = data::readCifar10(files); },
                    [=](Napi::Env env) -> Napi::Value { return memorySourceInfo(env, *out); });
  });
}

// (pixels: Uint8Array [count, height, width, channels], count, height, width, channels, labels, name)
Napi::Value arraySource(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto pixels = typedArg<uint8_t, napi_uint8_array>(info, 0, "pixels", "Uint8Array");
    int count = intArg(info, 1, "count"), height = intArg(info, 2, "height"), width = intArg(info, 3, "width");
    int channels = intArg(info, 4, "channels");
    auto labels = typedArg<int32_t, napi_int32_array>(info, 5, "labels", "Int32Array");
    std::string name = stringArg(info, 6, "name");
    if (count < 0 || labels.ElementLength() != static_cast<size_t>(count))
      throw Napi::RangeError::New(info.Env(), "labels must have one entry per image");
    auto source = std::make_shared<data::MemorySource>(
        std::vector<uint8_t>(pixels.Data(), pixels.Data() + pixels.ElementLength()),
        std::vector<int32_t>(labels.Data(), labels.Data() + labels.ElementLength()), height, width, channels, name);
    return memorySourceInfo(info.Env(), source);
  });
}

Napi::Value fileSource(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto paths = stringsArg(info, 0, "paths");
    auto labels = typedArg<int32_t, napi_int32_array>(info, 1, "labels", "Int32Array");
    auto source = std::make_shared<data::FileSource>(
        std::move(paths), std::vector<int32_t>(labels.Data(), labels.Data() + labels.ElementLength()));
    return wrapSource(info.Env(), source);
  });
}

// (source, indices: Int32Array) -> source
Napi::Value subsetSource(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    SourcePtr base = sourceArg(info, 0);
    auto indices = typedArg<int32_t, napi_int32_array>(info, 1, "indices", "Int32Array");
    auto source = std::make_shared<data::SubsetSource>(
        base, std::vector<int64_t>(indices.Data(), indices.Data() + indices.ElementLength()));
    return wrapSource(info.Env(), source);
  });
}

Napi::Value openPacked(const Info& info) {
  return guarded(info, [&] {
    std::string path = stringArg(info, 0, "path");
    auto out = std::make_shared<std::shared_ptr<data::PackedSource>>();
    return runAsync(info.Env(), [=] { *out = std::make_shared<data::PackedSource>(path); },
                    [=](Napi::Env env) -> Napi::Value {
                      const auto& s = *out;
                      std::vector<int32_t> labels(static_cast<size_t>(s->size()));
                      for (int64_t i = 0; i < s->size(); ++i) labels[static_cast<size_t>(i)] = s->label(i);
                      Napi::Object o = Napi::Object::New(env);
                      o.Set("source", wrapSource(env, s));
                      o.Set("count", Napi::Number::New(env, double(s->size())));
                      o.Set("labels", int32Array(env, labels.data(), labels.size()));
                      o.Set("size", Napi::Number::New(env, s->imageSize()));
                      o.Set("channels", Napi::Number::New(env, s->channels()));
                      o.Set("fingerprint", Napi::BigInt::New(env, s->fingerprint()));
                      o.Set("unreadable", Napi::Number::New(env, double(s->unreadable())));
                      return o;
                    });
  });
}

uint64_t bigintArg(const Info& info, size_t i, const char* param) {
  if (!info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string(param) + " must be a bigint");
  bool lossless = true;
  const uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless)
    throw Napi::RangeError::New(info.Env(), std::string(param) + " must be in [0, 2^64), got " +
                                                info[i].ToString().Utf8Value());
  return v;
}

// (source, path, size, channels, fingerprint: bigint, workers, skipBad)
Napi::Value writePacked(const Info& info) {
  return guarded(info, [&] {
    SourcePtr source = sourceArg(info, 0);
    std::string path = stringArg(info, 1, "path");
    int size = intArg(info, 2, "size"), channels = intArg(info, 3, "channels");
    uint64_t fingerprint = bigintArg(info, 4, "fingerprint");
    int workers = intArg(info, 5, "workers");
    bool skipBad = boolArg(info, 6, "skipBad");
    auto out = std::make_shared<data::PackResult>();
    return runAsync(info.Env(),
                    [=] { *out = data::writePacked(*source, path, size, channels, fingerprint, workers, skipBad); },
                    [=](Napi::Env env) -> Napi::Value {
                      Napi::Object o = Napi::Object::New(env);
                      o.Set("images", Napi::Number::New(env, double(out->images)));
                      o.Set("unreadable", Napi::Number::New(env, double(out->unreadable)));
                      return o;
                    });
  });
}

// (source, size, channels, workers, indices: Int32Array | null, skipBad)
Napi::Value computeStats(const Info& info) {
  return guarded(info, [&] {
    SourcePtr source = sourceArg(info, 0);
    int size = intArg(info, 1, "size"), channels = intArg(info, 2, "channels"), workers = intArg(info, 3, "workers");
    std::vector<int64_t> indices;
    if (!info[4].IsNull() && !info[4].IsUndefined()) {
      auto a = typedArg<int32_t, napi_int32_array>(info, 4, "indices", "Int32Array");
      indices.assign(a.Data(), a.Data() + a.ElementLength());
      for (int64_t i : indices)
        if (i < 0 || i >= source->size()) throw Napi::RangeError::New(info.Env(), "indices must be image indices of the source");
    }
    bool skipBad = boolArg(info, 5, "skipBad");
    auto out = std::make_shared<data::PixelStats>();
    return runAsync(info.Env(),
                    [=] { *out = data::computeStats(*source, size, channels, workers, indices, skipBad); },
                    [=](Napi::Env env) -> Napi::Value {
                      Napi::Object o = Napi::Object::New(env);
                      o.Set("images", Napi::Number::New(env, double(out->images)));
                      o.Set("skipped", Napi::Number::New(env, double(out->skipped)));
                      o.Set("pixels", Napi::Number::New(env, double(out->pixels)));
                      o.Set("meanImage", float64Array(env, out->meanImage));
                      o.Set("channelMean", float64Array(env, out->channelMean));
                      o.Set("covariance", float64Array(env, out->covariance));
                      return o;
                    });
  });
}

// (source, index, size, channels): image `index` prepared as the pipeline sees it (size 0: as
// decoded, without resizing), [height, width, channels] uint8.
Napi::Value prepareImage(const Info& info) {
  return guarded(info, [&] {
    SourcePtr source = sourceArg(info, 0);
    int64_t index = intArg(info, 1, "index");
    int size = intArg(info, 2, "size"), channels = intArg(info, 3, "channels");
    if (index < 0 || index >= source->size()) throw Napi::RangeError::New(info.Env(), "index is out of range");
    if (channels != 1 && channels != 3) throw Napi::RangeError::New(info.Env(), "channels must be 1 or 3");
    auto out = std::make_shared<data::Image>();
    return runAsync(info.Env(),
                    [=] {
                      data::Scratch scratch;
                      data::ImageView v = size > 0 ? data::prepareImage(*source, index, size, channels, scratch)
                                                   : source->load(index, channels, 0, scratch);
                      if (v.channels != channels) {
                        data::convertChannels(v, channels, *out);
                      } else {
                        out->reshape(v.height, v.width, v.channels);
                        std::memcpy(out->pixels.data(), v.data, out->pixels.size());
                      }
                    },
                    [=](Napi::Env env) -> Napi::Value {
                      Napi::Object o = Napi::Object::New(env);
                      auto pixels = Napi::Uint8Array::New(env, out->pixels.size());
                      std::memcpy(pixels.Data(), out->pixels.data(), out->pixels.size());
                      o.Set("pixels", pixels);
                      o.Set("height", Napi::Number::New(env, out->height));
                      o.Set("width", Napi::Number::New(env, out->width));
                      o.Set("channels", Napi::Number::New(env, out->channels));
                      return o;
                    });
  });
}

// (pixels: Uint8Array [height, width, channels], width, height, channels, format, quality) ->
// Buffer. Synchronous: a tool for tests and benchmarks, not for the training path.
Napi::Value encodeImage(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto pixels = typedArg<uint8_t, napi_uint8_array>(info, 0, "pixels", "Uint8Array");
    int width = intArg(info, 1, "width"), height = intArg(info, 2, "height"), channels = intArg(info, 3, "channels");
    std::string format = stringArg(info, 4, "format");
    int quality = intArg(info, 5, "quality");
    if (width < 1 || height < 1 || (channels != 1 && channels != 3) ||
        pixels.ElementLength() != static_cast<size_t>(width) * height * channels)
      throw Napi::RangeError::New(info.Env(), "pixels must hold height * width * channels bytes (channels 1 or 3)");
    data::ImageView view{pixels.Data(), height, width, channels};
    std::vector<uint8_t> bytes;
    if (format == "jpeg") bytes = data::encodeJpeg(view, quality);
    else if (format == "png") bytes = data::encodePng(view);
    else throw Napi::TypeError::New(info.Env(), "format must be \"jpeg\" or \"png\"");
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  });
}

// ---- the pipeline --------------------------------------------------------------------------------

data::PipelineConfig pipelineConfig(Napi::Env env, const Napi::Object& o, SourcePtr source) {
  data::PipelineConfig c;
  c.source = std::move(source);
  c.batchSize = intField(env, o, "batchSize");
  c.workers = intField(env, o, "workers");
  c.prefetch = intField(env, o, "prefetch");
  c.size = intField(env, o, "size");
  c.channels = intField(env, o, "channels");
  c.cropHeight = intField(env, o, "cropHeight");
  c.cropWidth = intField(env, o, "cropWidth");
  std::string crop = stringField(env, o, "crop");
  c.crop = crop == "random" ? data::CropMode::Random : crop == "centre" ? data::CropMode::Centre
         : crop == "ten" ? data::CropMode::TenCrop
         : throw Napi::TypeError::New(env, "config.crop must be \"random\", \"centre\" or \"ten\"");
  c.randomFlip = boolField(env, o, "randomFlip");
  c.shuffle = boolField(env, o, "shuffle");
  c.dropLast = boolField(env, o, "dropLast");
  c.skipBad = boolField(env, o, "skipBad");
  c.scale = static_cast<float>(numberField(env, o, "scale"));
  std::string mean = stringField(env, o, "mean");
  c.mean = mean == "none" ? data::MeanMode::None : mean == "channel" ? data::MeanMode::PerChannel
         : mean == "pixel" ? data::MeanMode::PerPixel
         : throw Napi::TypeError::New(env, "config.mean must be \"none\", \"channel\" or \"pixel\"");
  for (double v : numbersField(env, o, "meanData")) c.meanData.push_back(static_cast<float>(v));
  c.pcaStd = static_cast<float>(numberField(env, o, "pcaStd"));
  if (c.pcaStd != 0.0f) {
    std::vector<double> vec = numbersField(env, o, "eigvec"), val = numbersField(env, o, "eigval");
    const size_t ch = static_cast<size_t>(c.channels);
    if (vec.size() != ch * ch || val.size() != ch)
      throw Napi::TypeError::New(env, "config.eigvec / eigval must hold channels^2 / channels values");
    for (size_t k = 0; k < vec.size(); ++k) c.eigvec[k] = static_cast<float>(vec[k]);
    for (size_t k = 0; k < val.size(); ++k) c.eigval[k] = static_cast<float>(val[k]);
  }
  c.seed = uint64_t(checkedInteger(env, o.Get("seed"), "config.seed", 0, kMaxSafeInteger));
  std::string output = stringField(env, o, "output");
  c.output = output == "float" ? data::OutputMode::Float : output == "raw" ? data::OutputMode::Raw
           : throw Napi::TypeError::New(env, "config.output must be \"float\" or \"raw\"");
  c.shardCount = static_cast<int>(checkedInteger(env, o.Get("shardCount"), "config.shardCount", 1, 1 << 20));
  c.shardIndex = static_cast<int>(checkedInteger(env, o.Get("shardIndex"), "config.shardIndex", 0, c.shardCount - 1));
  return c;
}

class PipelineHandle : public Napi::ObjectWrap<PipelineHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "DataPipeline",
                       {InstanceMethod<&PipelineHandle::start>("start"),
                        InstanceMethod<&PipelineHandle::next>("next"),
                        InstanceMethod<&PipelineHandle::stats>("stats"),
                        InstanceMethod<&PipelineHandle::close>("close"),
                        InstanceMethod<&PipelineHandle::draws>("draws"),
                        InstanceMethod<&PipelineHandle::order>("order"),
                        InstanceAccessor<&PipelineHandle::batchesPerEpoch>("batchesPerEpoch"),
                        InstanceAccessor<&PipelineHandle::imagesPerEpoch>("imagesPerEpoch")});
  }

  // new DataPipeline(source, config)
  explicit PipelineHandle(const Info& info) : Napi::ObjectWrap<PipelineHandle>(info) {
    guarded(info, [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      SourcePtr source = sourceArg(info, 0);
      if (!info[1].IsObject()) throw Napi::TypeError::New(env, "config must be an object");
      pipeline_ = std::make_shared<data::Pipeline>(pipelineConfig(env, info[1].As<Napi::Object>(), source));
      // The wake-up channel, created before the cleanup hook so that the hook (run in reverse
      // order of registration) stops the workers before Node tears the channel down.
      tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Info&) {}), "alexnet.data", 0, 1);
      tsfn_.Unref(env);
      napi_add_env_cleanup_hook(env, &PipelineHandle::cleanup, this);
      live_ = true;
      return env.Undefined();
    });
  }

  ~PipelineHandle() override {
    if (live_ && !shutDown_) {
      napi_remove_env_cleanup_hook(Env(), &PipelineHandle::cleanup, this);
      shutdown();
    }
  }

 private:
  static void cleanup(void* self) { static_cast<PipelineHandle*>(self)->shutdown(); }

  // Joins the workers, then releases the wake-up channel: no thread can call it afterwards.
  void shutdown() {
    if (shutDown_) return;
    shutDown_ = true;
    pipeline_->close();
    tsfn_.Release();
  }

  Napi::Value start(const Info& info) {
    return guarded(info, [&]() -> Napi::Value {
      const int64_t epoch = safeIntegerArg(info, 0, "epoch");
      int startBatch = intArg(info, 1, "startBatch");
      uint64_t generation = pipeline_->start(epoch, startBatch);
      return Napi::Number::New(info.Env(), double(generation));
    });
  }

  // next(generation) -> Promise<batch | null (end of epoch or closed) | "stale">
  Napi::Value next(const Info& info) {
    return guarded(info, [&]() -> Napi::Value {
      uint64_t generation = seedArg(info, 0, "generation");
      if (deferred_) throw Napi::Error::New(info.Env(), "next() was called before the previous next() settled");
      deferred_.emplace(Napi::Promise::Deferred::New(info.Env()));
      Napi::Promise promise = deferred_->Promise();
      generation_ = generation;
      pollOrWait(info.Env());
      return promise;
    });
  }

  // Polls the pipeline for the pending next(): settles it, or leaves a wake-up that calls this
  // again on the main thread.
  void pollOrWait(Napi::Env env) {
    data::Batch batch;
    data::Pipeline::Status status;
    std::function<void()> wake;
    if (!shutDown_) {
      Napi::ThreadSafeFunction tsfn = tsfn_;
      wake = [tsfn, this]() { tsfn.BlockingCall([this](Napi::Env env, Napi::Function) { onWake(env); }); };
    }
    try {
      status = pipeline_->poll(generation_, batch, std::move(wake));
    } catch (...) {
      return settle(env, false, makeError(env, std::current_exception()).Value());
    }
    switch (status) {
      case data::Pipeline::Status::Ready: return settle(env, true, batchObject(env, batch));
      case data::Pipeline::Status::Stale: return settle(env, true, Napi::String::New(env, "stale"));
      case data::Pipeline::Status::End:
      case data::Pipeline::Status::Closed: return settle(env, true, env.Null());
      case data::Pipeline::Status::Pending:
        if (!waiting_) {  // keep this object and the event loop alive until the batch arrives
          waiting_ = true;
          Ref();
          tsfn_.Ref(env);
        }
        return;
    }
  }

  // Called through the wake-up channel, possibly while the environment shuts down: then settling
  // fails, and an exception must not escape into Node (it would abort the process).
  void onWake(Napi::Env env) {
    if (!deferred_) return;
    try {
      Napi::HandleScope scope(env);
      pollOrWait(env);
    } catch (...) {
    }
  }

  void settle(Napi::Env env, bool resolve, Napi::Value value) {
    Napi::Promise::Deferred deferred = *deferred_;
    deferred_.reset();
    if (waiting_) {
      waiting_ = false;
      if (!shutDown_) tsfn_.Unref(env);
      Unref();
    }
    if (resolve) deferred.Resolve(value);
    else deferred.Reject(value);
  }

  // Float batches get `images` (Float32Array); raw batches `params` (Float32Array) and `pixels`
  // (Uint8Array), views of one buffer.
  static Napi::Object batchObject(Napi::Env env, data::Batch& batch) {
    const size_t bytes = batch.pool->bytes();
    const uint8_t* base = static_cast<const uint8_t*>(batch.buffer);
    const size_t pixelOffset = batch.pixels ? static_cast<size_t>(batch.pixels - base) : 0;
    Napi::ArrayBuffer buffer;
    // The buffer returns to the pipeline's pool when JavaScript has collected the batch.
    auto* pool = new std::shared_ptr<data::BufferPool>(batch.pool);
    void* raw = batch.release();
    try {
      buffer = Napi::ArrayBuffer::New(
          env, raw, bytes,
          [](Napi::Env, void* p, std::shared_ptr<data::BufferPool>* owner) {
            (*owner)->release(p);
            delete owner;
          },
          pool);
    } catch (const Napi::Error&) {  // runtimes that forbid external buffers: copy
      buffer = Napi::ArrayBuffer::New(env, bytes);
      if (bytes) std::memcpy(buffer.Data(), raw, bytes);
      (*pool)->release(raw);
      delete pool;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", Napi::Number::New(env, double(batch.index)));
    if (batch.pixels) {
      o.Set("params", Napi::Float32Array::New(env, batch.paramFloats, buffer, 0));
      o.Set("pixels", Napi::Uint8Array::New(env, batch.pixelBytes, buffer, pixelOffset));
    } else {
      o.Set("images", Napi::Float32Array::New(env, batch.floats, buffer, 0));
    }
    o.Set("labels", int32Array(env, batch.labels.data(), batch.labels.size()));
    std::vector<int32_t> indices(batch.indices.begin(), batch.indices.end());
    o.Set("indices", int32Array(env, indices.data(), indices.size()));
    o.Set("count", Napi::Number::New(env, batch.images));
    o.Set("crops", Napi::Number::New(env, batch.crops));
    o.Set("skipped", Napi::Number::New(env, batch.skipped));
    return o;
  }

  Napi::Value stats(const Info& info) {
    Napi::Env env = info.Env();
    data::PipelineStats s = pipeline_->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("images", Napi::Number::New(env, double(s.images)));
    o.Set("batches", Napi::Number::New(env, double(s.batches)));
    o.Set("skipped", Napi::Number::New(env, double(s.skipped)));
    o.Set("busySeconds", Napi::Number::New(env, s.busySeconds));
    return o;
  }

  // Stops the workers on the libuv pool (joining can wait for an image being decoded).
  Napi::Value close(const Info& info) {
    std::shared_ptr<data::Pipeline> pipeline = pipeline_;
    return runAsync(info.Env(), [pipeline] { pipeline->close(); }, [](Napi::Env env) { return env.Undefined(); });
  }

  Napi::Value draws(const Info& info) {
    return guarded(info, [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      data::Draws d = pipeline_->draws(safeIntegerArg(info, 0, "epoch"),
                                       safeIntegerArg(info, 1, "position"));
      Napi::Object o = Napi::Object::New(env);
      o.Set("cropY", Napi::Number::New(env, d.cropY));
      o.Set("cropX", Napi::Number::New(env, d.cropX));
      o.Set("flip", Napi::Boolean::New(env, d.flip));
      Napi::Array alpha = Napi::Array::New(env, pipeline_->config().channels);
      for (int k = 0; k < pipeline_->config().channels; ++k) alpha.Set(uint32_t(k), Napi::Number::New(env, d.alpha[k]));
      o.Set("alpha", alpha);
      return o;
    });
  }

  Napi::Value order(const Info& info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<int64_t> order = pipeline_->order(safeIntegerArg(info, 0, "epoch"));
      std::vector<int32_t> narrow(order.begin(), order.end());
      return int32Array(info.Env(), narrow.data(), narrow.size());
    });
  }

  Napi::Value batchesPerEpoch(const Info& info) {
    return Napi::Number::New(info.Env(), double(pipeline_->batchesPerEpoch()));
  }
  Napi::Value imagesPerEpoch(const Info& info) {
    return Napi::Number::New(info.Env(), double(pipeline_->imagesPerEpoch()));
  }

  std::shared_ptr<data::Pipeline> pipeline_;
  Napi::ThreadSafeFunction tsfn_;
  bool live_ = false;      // constructed completely: pipeline, channel and cleanup hook exist
  bool shutDown_ = false;  // workers joined and channel released
  bool waiting_ = false;
  uint64_t generation_ = 0;
  std::optional<Napi::Promise::Deferred> deferred_;
};

}  // namespace

void initData(Napi::Env env, Napi::Object exports) {
  exportFunctions(env, exports, {
      {"dataReadIdx", readIdx}, {"dataReadCifar10", readCifar10}, {"dataArraySource", arraySource},
      {"dataFileSource", fileSource}, {"dataSubsetSource", subsetSource}, {"dataOpenPacked", openPacked},
      {"dataWritePacked", writePacked}, {"dataComputeStats", computeStats},
      {"dataPrepareImage", prepareImage}, {"dataEncodeImage", encodeImage},
  });
  exports.Set("DataPipeline", PipelineHandle::define(env));
}

}  // namespace alexnet::addon
