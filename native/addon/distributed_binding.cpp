// The process group and its collectives (alexnet/distributed.hpp): forming the group from the
// launcher's environment, starting and waiting for collectives, the transports' status.
#include "addon.hpp"

namespace alexnet::addon {
namespace {

using Info = Napi::CallbackInfo;

const napi_type_tag kCollectiveTag = {0x3b9d6f0e2c4a4e57ull, 0x9a1f7c3d5e2b4810ull};

struct CollectiveHandle {
  std::shared_ptr<dist::Collective> collective;
};

Napi::Object describeGroup(Napi::Env env, const dist::ProcessGroup& g) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", g.rank());
  o.Set("size", g.size());
  o.Set("localRank", g.localRank());
  o.Set("timeoutSeconds", g.timeoutSeconds());
  o.Set("cpuTransport", g.transport(DeviceKind::Cpu));
  o.Set("cudaTransport", g.transport(DeviceKind::Cuda));
  return o;
}

// MPI_Init waits for every rank to start: on a libuv pool thread, not the JS thread.
class InitWorker final : public PromiseWorker {
 public:
  InitWorker(Napi::Env env, dist::GroupOptions options) : PromiseWorker(env), options_(options) {}

 private:
  void work() override { group_ = dist::ProcessGroup::fromEnvironment(options_); }
  Napi::Value result(Napi::Env env) override { return describeGroup(env, *group_); }
  dist::GroupOptions options_;
  std::shared_ptr<dist::ProcessGroup> group_;
};

std::shared_ptr<dist::ProcessGroup> requireGroup(Napi::Env env) {
  auto g = dist::ProcessGroup::current();
  if (!g) throw Napi::Error::New(env, "no process group: call initDistributed() first");
  return g;
}

std::vector<Tensor> tensorsArg(const Info& info, size_t i) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "tensors must be an array of tensors");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<Tensor> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    const std::string name = "tensors[" + std::to_string(k) + "]";
    out.push_back(unwrapTensor(a.Get(k), name.c_str()));
  }
  return out;
}

Napi::Value wrapCollective(Napi::Env env, std::shared_ptr<dist::Collective> c) {
  auto external = Napi::External<CollectiveHandle>::New(env, new CollectiveHandle{std::move(c)},
                                                        [](Napi::Env, CollectiveHandle* h) { delete h; });
  external.TypeTag(&kCollectiveTag);
  return external;
}

std::shared_ptr<dist::Collective> collectiveArg(const Info& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsExternal() || !v.As<Napi::External<CollectiveHandle>>().CheckTypeTag(&kCollectiveTag))
    throw Napi::TypeError::New(info.Env(), "handle must be a collective handle");
  return v.As<Napi::External<CollectiveHandle>>().Data()->collective;
}

Napi::Value initGroup(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    dist::GroupOptions options;
    options.timeoutSeconds = numberArg(info, 0, "timeoutSeconds");
    if (!(options.timeoutSeconds > 0) || options.timeoutSeconds > 1e7)
      throw Napi::RangeError::New(info.Env(), "timeoutSeconds must be in (0, 1e7]");
    return PromiseWorker::queue(new InitWorker(info.Env(), options));
  });
}

Napi::Value distributedGroup(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto g = dist::ProcessGroup::current();
    return g ? Napi::Value(describeGroup(info.Env(), *g)) : info.Env().Null();
  });
}

// allReduceStart(tensors, mean)
Napi::Value allReduceStart(const Info& info) {
  return guarded(info, [&] {
    auto g = requireGroup(info.Env());
    auto op = boolArg(info, 1, "mean") ? dist::ReduceOp::Mean : dist::ReduceOp::Sum;
    return wrapCollective(info.Env(), g->allReduce(tensorsArg(info, 0), op));
  });
}

// broadcastStart(tensors, root)
Napi::Value broadcastStart(const Info& info) {
  return guarded(info, [&] {
    auto g = requireGroup(info.Env());
    return wrapCollective(info.Env(), g->broadcast(tensorsArg(info, 0), intArg(info, 1, "root")));
  });
}

// Counts along the dimension, one per rank (checked by the core).
std::vector<int64_t> countsArg(const Info& info, size_t i) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "counts must be an array of integers");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<int64_t> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 9007199254740991.0 && d == static_cast<double>(static_cast<int64_t>(d))))
      throw Napi::TypeError::New(info.Env(), "counts[" + std::to_string(k) + "] must be a non-negative integer");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

// allGatherStart(input, output, dim, counts)
Napi::Value allGatherStart(const Info& info) {
  return guarded(info, [&] {
    auto g = requireGroup(info.Env());
    const Tensor& input = unwrapTensor(info[0], "input");
    const Tensor& output = unwrapTensor(info[1], "output");
    return wrapCollective(info.Env(), g->allGather(input, output, intArg(info, 2, "dim"), countsArg(info, 3)));
  });
}

// reduceScatterStart(input, output, dim, counts, mean)
Napi::Value reduceScatterStart(const Info& info) {
  return guarded(info, [&] {
    auto g = requireGroup(info.Env());
    const Tensor& input = unwrapTensor(info[0], "input");
    const Tensor& output = unwrapTensor(info[1], "output");
    auto op = boolArg(info, 4, "mean") ? dist::ReduceOp::Mean : dist::ReduceOp::Sum;
    return wrapCollective(info.Env(), g->reduceScatter(input, output, intArg(info, 2, "dim"), countsArg(info, 3), op));
  });
}

Napi::Value collectiveWait(const Info& info) {
  return guarded(info, [&] {
    collectiveArg(info, 0)->wait();
    return info.Env().Undefined();
  });
}

Napi::Value collectiveDone(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    return FenceWorker::start(info.Env(), collectiveArg(info, 0)->done(), [](Napi::Env env) { return env.Undefined(); });
  });
}

Napi::Value barrier(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto g = requireGroup(info.Env());
    return FenceWorker::start(info.Env(), g->barrier(), [](Napi::Env env) { return env.Undefined(); });
  });
}

// rollCall(seconds) -> Promise<number[]>: the ranks that did not answer.
Napi::Value rollCall(const Info& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto g = requireGroup(info.Env());
    const double seconds = numberArg(info, 0, "seconds");
    if (!(seconds >= 0) || seconds > 1e7) throw Napi::RangeError::New(info.Env(), "seconds must be in [0, 1e7]");
    dist::ProcessGroup::RollCall call = g->rollCall(seconds);
    return FenceWorker::start(info.Env(), call.done, [missing = call.missing](Napi::Env env) {
      Napi::Array a = Napi::Array::New(env, missing->size());
      for (uint32_t i = 0; i < missing->size(); ++i) a.Set(i, (*missing)[i]);
      return Napi::Value(a);
    });
  });
}

Napi::Value abortAtShutdown(const Info& info) {
  return guarded(info, [&] {
    if (auto g = dist::ProcessGroup::current()) g->abortAtShutdown();
    return info.Env().Undefined();
  });
}

Napi::Value transportInfo(const Info& info) {
  return guarded(info, [&] {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("mpi", dist::ProcessGroup::mpiStatus());
    o.Set("nccl", dist::ProcessGroup::ncclStatus());
    return Napi::Value(o);
  });
}

Napi::Value requireNccl(const Info& info) {
  return guarded(info, [&] {
    dist::ProcessGroup::requireNccl();
    return info.Env().Undefined();
  });
}

}  // namespace

void initDistributed(Napi::Env env, Napi::Object exports) {
  exportFunctions(env, exports, {
      {"initDistributed", initGroup}, {"distributedGroup", distributedGroup},
      {"allReduceStart", allReduceStart}, {"broadcastStart", broadcastStart},
      {"allGatherStart", allGatherStart}, {"reduceScatterStart", reduceScatterStart},
      {"collectiveWait", collectiveWait}, {"collectiveDone", collectiveDone}, {"barrier", barrier},
      {"rollCall", rollCall},      {"abortAtShutdown", abortAtShutdown}, {"transportInfo", transportInfo}, {"requireNccl", requireNccl},
  });
}

}  // namespace alexnet::addon
