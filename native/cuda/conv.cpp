// Convolutions through cuDNN: descriptors per geometry, created once and cached with the algorithm
// chosen for each direction (forward, backward data, backward filter) on first use.
#include <algorithm>
#include <string>
#include <vector>

#include "alexnet/error.hpp"
#include "cuda_backend.hpp"

namespace alexnet::cuda {

namespace {

constexpr float kOne = 1.0f, kZero = 0.0f;

// An algorithm's workspace may use at most this much of the free memory, and never more than
// 1 GiB: beyond that the faster algorithm costs batch size elsewhere.
size_t workspaceLimit() {
  size_t freeBytes = 0, totalBytes = 0;
  check(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
  return std::min<size_t>(freeBytes / 4, size_t(1) << 30);
}

template <class Perf>
bool usable(const Perf& perf, bool strict, size_t limit) {
  if (perf.status != CUDNN_STATUS_SUCCESS || perf.memory > limit) return false;
  // Strict FP32: no tensor-core algorithm (they round inputs to TF32).
  return !strict ||
         (perf.mathType != CUDNN_TENSOR_OP_MATH &&
          perf.mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

// Results come best first (by measured time after a search, by predicted rank from heuristics).
// Take the best, unless a deterministic algorithm is nearly as good: then take that one, so that
// training runs repeat exactly. Without timings (heuristics) any deterministic one is preferred.
template <class Perf>
int pickAlgorithm(const std::vector<Perf>& perf, bool strict, size_t limit, bool timed) {
  int best = -1;
  for (size_t i = 0; i < perf.size() && best < 0; ++i)
    if (usable(perf[i], strict, limit)) best = static_cast<int>(i);
  if (best < 0 || perf[best].determinism == CUDNN_DETERMINISTIC) return best;
  for (size_t i = best + 1; i < perf.size(); ++i) {
    if (!usable(perf[i], strict, limit) || perf[i].determinism != CUDNN_DETERMINISTIC) continue;
    if (!timed || perf[i].time <= 1.25f * perf[best].time) return static_cast<int>(i);
  }
  return best;
}

// Chooses one direction's algorithm: ask the heuristics for the candidates, then time them with
// cudnnFind*AlgorithmEx on the caller's own buffers (their outputs are overwritten by the real call
// anyway) in a temporary workspace. If the search cannot run, the heuristics' choice stands.
template <class Perf, class Heuristics, class Find>
AlgoChoice chooseAlgorithm(const char* direction, const char* heuristicsCall, int maxCount,
                           bool strict, cudaStream_t stream, int device, Heuristics heuristics,
                           Find find) {
  const size_t limit = workspaceLimit();
  std::vector<Perf> guessed(static_cast<size_t>(std::max(maxCount, 1)));
  int returned = 0;
  check(heuristics(maxCount, &returned, guessed.data()), heuristicsCall);
  guessed.resize(static_cast<size_t>(std::max(returned, 0)));

  size_t searchBytes = 0;
  for (const Perf& perf : guessed)
    if (usable(perf, strict, limit)) searchBytes = std::max(searchBytes, perf.memory);

  int index = -1;
  std::vector<Perf> timed(static_cast<size_t>(std::max(maxCount, 1)));
  {
    DeviceBuffer search;
    // Memory the caching allocator holds may leave less than free memory suggested: shrink.
    while (searchBytes > 0 && search.get() == nullptr) {
      try {
        search.grow(searchBytes, stream, device);
      } catch (const Error& e) {
        if (e.code() != "OUT_OF_MEMORY") throw;
        searchBytes = searchBytes > (size_t(1) << 20) ? searchBytes / 2 : 0;
      }
    }
    int found = 0;
    const cudnnStatus_t status = find(static_cast<int>(timed.size()), &found, timed.data(),
                                      search.get(), search.get() ? searchBytes : 0);
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");  // before freeing `search`
    if (status == CUDNN_STATUS_SUCCESS) {
      timed.resize(static_cast<size_t>(std::max(found, 0)));
      index = pickAlgorithm(timed, strict, search.get() ? searchBytes : 0, true);
    }
  }
  if (index >= 0) {
    const Perf& p = timed[static_cast<size_t>(index)];
    return AlgoChoice{true, static_cast<int>(p.algo), p.memory,
                      strict ? CUDNN_FMA_MATH : p.mathType};
  }
  index = pickAlgorithm(guessed, strict, limit, false);
  if (index < 0) {
    throw Error("CUDNN_ERROR",
                std::string("no cuDNN convolution ") + direction + " algorithm supports this " +
                    "geometry within the workspace limit of " + std::to_string(limit) + " bytes",
                heuristicsCall);
  }
  const Perf& p = guessed[static_cast<size_t>(index)];
  return AlgoChoice{true, static_cast<int>(p.algo), p.memory, strict ? CUDNN_FMA_MATH : p.mathType};
}

void setMathType(cudnnConvolutionDescriptor_t conv, cudnnMathType_t math) {
  check(cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
}

// What the search may use: FMA only (strict FP32), or anything, TF32 tensor cores included.
cudnnMathType_t searchMathType(Precision precision) {
  return precision == Precision::Tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

void validate(const ConvGeometry& g) {
  if (g.n <= 0 || g.c <= 0 || g.h <= 0 || g.w <= 0 || g.o <= 0 || g.kh <= 0 || g.kw <= 0 ||
      g.strideH <= 0 || g.strideW <= 0 || g.padH < 0 || g.padW < 0 || g.groups <= 0)
    invalidArgument("convolution: sizes must be positive and padding non-negative");
  if (g.c % g.groups != 0 || g.o % g.groups != 0)
    invalidArgument("convolution: input and output channels must be divisible by groups");
  const int outH = (g.h + 2 * g.padH - g.kh) / g.strideH + 1;
  const int outW = (g.w + 2 * g.padW - g.kw) / g.strideW + 1;
  if (g.h + 2 * g.padH < g.kh || g.w + 2 * g.padW < g.kw || outH != g.outH || outW != g.outW)
    invalidArgument("convolution: output size " + std::to_string(g.outH) + "x" +
                    std::to_string(g.outW) + " does not match floor((H + 2p - k) / s) + 1 = " +
                    std::to_string(outH) + "x" + std::to_string(outW));
}

}  // namespace

ConvPlanData& CudaBackend::convPlan(const ConvGeometry& g) {
  validate(g);  // every call: a cached plan must not hide a wrong output size
  const ConvKey key{g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW,
                    g.groups};
  auto found = convPlans_.find(key);
  if (found != convPlans_.end()) return *found->second;

  auto plan = std::make_unique<ConvPlanData>();
  plan->x = makeTensorDesc(g.n, g.c, g.h, g.w);
  plan->y = makeTensorDesc(g.n, g.o, g.outH, g.outW);
  plan->bias = makeTensorDesc(1, g.o, 1, 1);
  plan->w = makeFilterDesc(g.o, g.c / g.groups, g.kh, g.kw);
  plan->conv = makeConvDesc();
  cudnnConvolutionDescriptor_t conv = plan->conv.get();
  check(cudnnSetConvolution2dDescriptor(conv, g.padH, g.padW, g.strideH, g.strideW, 1, 1,
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
  check(cudnnSetConvolutionGroupCount(conv, g.groups), "cudnnSetConvolutionGroupCount");
  return *convPlans_.emplace(key, std::move(plan)).first->second;
}

void CudaBackend::conv2dForward(const ConvGeometry& g, const float* x, const float* w,
                                const float* bias, float* y) {
  bind();
  ConvPlanData& p = convPlan(g);
  cudnnHandle_t h = cudnn_.get();
  const bool strict = precision_ == Precision::Fp32;
  if (!p.forward.chosen) {
    int maxCount = 0;
    check(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &maxCount),
          "cudnnGetConvolutionForwardAlgorithmMaxCount");
    // FMA math is strict FP32; default math lets cuDNN use TF32 tensor cores on Ampere and newer.
    setMathType(p.conv.get(), searchMathType(precision_));
    p.forward = chooseAlgorithm<cudnnConvolutionFwdAlgoPerf_t>(
        "forward", "cudnnGetConvolutionForwardAlgorithm_v7", maxCount, strict,
        stream_.get(), device_,
        [&](int count, int* returned, cudnnConvolutionFwdAlgoPerf_t* perf) {
          return cudnnGetConvolutionForwardAlgorithm_v7(h, p.x.get(), p.w.get(), p.conv.get(),
                                                        p.y.get(), count, returned, perf);
        },
        [&](int count, int* returned, cudnnConvolutionFwdAlgoPerf_t* perf, void* ws, size_t bytes) {
          return cudnnFindConvolutionForwardAlgorithmEx(h, p.x.get(), x, p.w.get(), w,
                                                        p.conv.get(), p.y.get(), y, count,
                                                        returned, perf, ws, bytes);
        });
  }
  void* ws = workspace(p.forward.workspaceBytes);
  setMathType(p.conv.get(), p.forward.mathType);
  check(cudnnConvolutionForward(h, &kOne, p.x.get(), x, p.w.get(), w, p.conv.get(),
                                static_cast<cudnnConvolutionFwdAlgo_t>(p.forward.algo), ws,
                                p.forward.workspaceBytes, &kZero, p.y.get(), y),
        "cudnnConvolutionForward");
  if (bias != nullptr)
    check(cudnnAddTensor(h, &kOne, p.bias.get(), bias, &kOne, p.y.get(), y), "cudnnAddTensor");
}

void CudaBackend::conv2dBackwardData(const ConvGeometry& g, const float* dy, const float* w,
                                     float* dx) {
  bind();
  ConvPlanData& p = convPlan(g);
  cudnnHandle_t h = cudnn_.get();
  const bool strict = precision_ == Precision::Fp32;
  if (!p.backwardData.chosen) {
    int maxCount = 0;
    check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &maxCount),
          "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    setMathType(p.conv.get(), searchMathType(precision_));
    p.backwardData = chooseAlgorithm<cudnnConvolutionBwdDataAlgoPerf_t>(
        "backward-data", "cudnnGetConvolutionBackwardDataAlgorithm_v7", maxCount, strict,
        stream_.get(), device_,
        [&](int count, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
          return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w.get(), p.y.get(),
                                                             p.conv.get(), p.x.get(), count,
                                                             returned, perf);
        },
        [&](int count, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf, void* ws,
            size_t bytes) {
          return cudnnFindConvolutionBackwardDataAlgorithmEx(h, p.w.get(), w, p.y.get(), dy,
                                                             p.conv.get(), p.x.get(), dx, count,
                                                             returned, perf, ws, bytes);
        });
  }
  void* ws = workspace(p.backwardData.workspaceBytes);
  setMathType(p.conv.get(), p.backwardData.mathType);
  check(cudnnConvolutionBackwardData(h, &kOne, p.w.get(), w, p.y.get(), dy, p.conv.get(),
                                     static_cast<cudnnConvolutionBwdDataAlgo_t>(
                                         p.backwardData.algo),
                                     ws, p.backwardData.workspaceBytes, &kZero, p.x.get(), dx),
        "cudnnConvolutionBackwardData");
}

void CudaBackend::conv2dBackwardFilter(const ConvGeometry& g, const float* x, const float* dy,
                                       float* dw, float* db) {
  bind();
  ConvPlanData& p = convPlan(g);
  cudnnHandle_t h = cudnn_.get();
  const bool strict = precision_ == Precision::Fp32;
  if (!p.backwardFilter.chosen) {
    int maxCount = 0;
    check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &maxCount),
          "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
    setMathType(p.conv.get(), searchMathType(precision_));
    p.backwardFilter = chooseAlgorithm<cudnnConvolutionBwdFilterAlgoPerf_t>(
        "backward-filter", "cudnnGetConvolutionBackwardFilterAlgorithm_v7", maxCount, strict,
        stream_.get(), device_,
        [&](int count, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
          return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x.get(), p.y.get(),
                                                               p.conv.get(), p.w.get(), count,
                                                               returned, perf);
        },
        [&](int count, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf, void* ws,
            size_t bytes) {
          return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p.x.get(), x, p.y.get(), dy,
                                                               p.conv.get(), p.w.get(), dw, count,
                                                               returned, perf, ws, bytes);
        });
  }
  void* ws = workspace(p.backwardFilter.workspaceBytes);
  setMathType(p.conv.get(), p.backwardFilter.mathType);
  // beta = 0: dw is overwritten, not accumulated (the contract).
  check(cudnnConvolutionBackwardFilter(h, &kOne, p.x.get(), x, p.y.get(), dy, p.conv.get(),
                                       static_cast<cudnnConvolutionBwdFilterAlgo_t>(
                                           p.backwardFilter.algo),
                                       ws, p.backwardFilter.workspaceBytes, &kZero, p.w.get(), dw),
        "cudnnConvolutionBackwardFilter");
  if (db != nullptr)
    check(cudnnConvolutionBackwardBias(h, &kOne, p.y.get(), dy, &kZero, p.bias.get(), db),
          "cudnnConvolutionBackwardBias");
}

}  // namespace alexnet::cuda
