// Convolutions through cuDNN: descriptors per geometry and data type, created once and cached (the
// most recently used geometries only) with the algorithms ranked for each direction (forward,
// backward data, backward filter) on first use; each call runs the first of them that works.
//
// bfloat16: cuDNN's bfloat16 configuration (x, w, y, dx, dw all CUDNN_DATA_BFLOAT16, the
// convolution's compute type CUDNN_DATA_FLOAT: float32 accumulation), with tensor-core algorithms
// allowed. cuDNN takes no mixed types in one call, so two parts of the contract are ours:
// - the weight gradient comes out of cuDNN in bfloat16, into a staging buffer, and is widened
//   (exactly) into the float32 dw. This is what PyTorch's autocast gets from cuDNN too (its weight
//   gradient is bfloat16 until the cast back to the float32 parameter). The other way, widening x
//   and dy to float32 for a float32 backward-filter, would give dw without that rounding (TF32
//   products of bfloat16 values are exact) but move twice the bytes of the largest tensors of the
//   step through half the tensor-core rate; the rounding it saves, u * |dw|, is within the
//   tolerance every bfloat16 gradient already has.
// - the bias (float32) is added by our kernel in float32 to the widened output and rounded once
//   more; its gradient is our per-channel float32 sum of dy (kernels/bias.cu).
//
// float16: the same with CUDNN_DATA_HALF data and CUDNN_DATA_FLOAT compute (cuDNN's pseudo-half
// configuration: float16 tensor cores, float32 accumulation), the weight gradient widened from
// float16 staging in the same way. Where a gradient overflows float16 (beyond 65504) it becomes
// infinite, which is what dynamic loss scaling looks for (its found-inf check skips that step).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "algo_fallback.hpp"
#include "conv_math.hpp"
#include "alexnet/error.hpp"
#include "cuda_backend.hpp"
#include "kernels/kernels.hpp"

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

// What a direction's algorithms must satisfy, besides fitting the workspace limit.
struct AlgoRules {
  bool strict;         // strict FP32: no tensor-core math (it rounds float32 inputs to TF32)
  bool deterministic;  // only algorithms cuDNN marks deterministic (the same bits every run)
};

// cuDNN's non-fused Winograd algorithms are never used. Measured on an H200 (cuDNN 9.19), the
// forward one at conv2's shape (5x5, 48 channels per group) was off by 3e-3 of the output's largest
// value in float32 under FMA math, against 1e-6 for every other algorithm: the transforms of its
// large tiles amplify rounding, which no float32 mode may show; 16-bit data rounds the transformed
// tiles to 16 bits as well.
bool winogradNonfused(cudnnConvolutionFwdAlgo_t a) { return a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED; }
bool winogradNonfused(cudnnConvolutionBwdDataAlgo_t a) { return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED; }
bool winogradNonfused(cudnnConvolutionBwdFilterAlgo_t a) { return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED; }

template <class Perf>
bool usable(const Perf& perf, AlgoRules rules, size_t limit) {
  if (perf.status != CUDNN_STATUS_SUCCESS || perf.memory > limit || winogradNonfused(perf.algo)) return false;
  if (rules.deterministic && perf.determinism != CUDNN_DETERMINISTIC) return false;
  return !rules.strict ||
         (perf.mathType != CUDNN_TENSOR_OP_MATH &&
          perf.mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

// Results come best first (by measured time after a search, by predicted rank from heuristics).
// The first is the best, unless a deterministic algorithm is nearly as good: then that one, so
// that training runs repeat exactly (without timings, any deterministic one is preferred). The
// other usable ones follow in their order, as fallbacks.
template <class Perf>
std::vector<AlgoCandidate> rank(const std::vector<Perf>& perf, AlgoRules rules, size_t limit, bool timed) {
  int best = -1;
  for (size_t i = 0; i < perf.size() && best < 0; ++i)
    if (usable(perf[i], rules, limit)) best = static_cast<int>(i);
  if (best < 0) return {};
  if (perf[best].determinism != CUDNN_DETERMINISTIC) {
    for (size_t i = best + 1; i < perf.size(); ++i) {
      if (!usable(perf[i], rules, limit) || perf[i].determinism != CUDNN_DETERMINISTIC) continue;
      if (!timed || perf[i].time <= 1.25f * perf[best].time) {
        best = static_cast<int>(i);
        break;
      }
    }
  }
  std::vector<AlgoCandidate> ranked;
  auto add = [&](const Perf& p) {
    for (const AlgoCandidate& c : ranked)
      if (c.algo == static_cast<int>(p.algo)) return;
    ranked.push_back(AlgoCandidate{static_cast<int>(p.algo), p.memory,
                                   rules.strict ? CUDNN_FMA_MATH : p.mathType});
  };
  add(perf[static_cast<size_t>(best)]);
  for (const Perf& p : perf)
    if (usable(p, rules, limit)) add(p);
  return ranked;
}

// Device memory for the one-off algorithm search: a block of the device's cache when there is one
// (so it is counted, reused, and given back to the system when memory runs short), else cudaMalloc.
// Returned when the search has finished on the stream.
class SearchWorkspace {
 public:
  SearchWorkspace(BlockSource* blocks, int device) : blocks_(blocks), device_(device) {}
  SearchWorkspace(const SearchWorkspace&) = delete;
  SearchWorkspace& operator=(const SearchWorkspace&) = delete;
  ~SearchWorkspace() { release(); }
  // Up to `bytes`, halving on OUT_OF_MEMORY down to 1 MiB; 0 bytes (null) when even that fails.
  void* take(size_t bytes) {
    while (bytes > 0 && ptr_ == nullptr) {
      try {
        ptr_ = blocks_ != nullptr ? blocks_->allocate(bytes) : deviceMalloc(bytes, device_);
        bytes_ = bytes;
      } catch (const Error& e) {
        if (e.code() != "OUT_OF_MEMORY") throw;
        bytes = bytes > (size_t(1) << 20) ? bytes / 2 : 0;
      }
    }
    return ptr_;
  }
  size_t bytes() const { return bytes_; }
  void release() {
    if (ptr_ == nullptr) return;
    if (blocks_ != nullptr) blocks_->release(ptr_, bytes_);
    else ignoreStatus(cudaFree(ptr_));
    ptr_ = nullptr;
    bytes_ = 0;
  }

 private:
  BlockSource* blocks_;
  int device_;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Chooses one direction's algorithms: ask the heuristics for the candidates, then time them with
// cudnnFind*AlgorithmEx on the caller's own buffers (their outputs are overwritten by the real call
// anyway) in a temporary workspace. The timed ranking comes first, then any other algorithm the
// heuristics offer; if the search cannot run, the heuristics' ranking stands alone.
template <class Perf, class Heuristics, class Find>
AlgoChoice chooseAlgorithm(const char* direction, const char* heuristicsCall, int maxCount,
                           AlgoRules rules, cudaStream_t stream, int device, BlockSource* blocks,
                           Heuristics heuristics, Find find) {
  const auto started = std::chrono::steady_clock::now();
  const size_t limit = workspaceLimit();
  std::vector<Perf> guessed(static_cast<size_t>(std::max(maxCount, 1)));
  int returned = 0;
  check(heuristics(maxCount, &returned, guessed.data()), heuristicsCall);
  guessed.resize(static_cast<size_t>(std::max(returned, 0)));

  size_t searchBytes = 0;
  for (const Perf& perf : guessed)
    if (usable(perf, rules, limit)) searchBytes = std::max(searchBytes, perf.memory);

  AlgoChoice choice;
  choice.chosen = true;
  {
    SearchWorkspace search(blocks, device);
    void* ws = search.take(searchBytes);
    std::vector<Perf> timed(static_cast<size_t>(std::max(maxCount, 1)));
    int found = 0;
    const cudnnStatus_t status =
        find(static_cast<int>(timed.size()), &found, timed.data(), ws, search.bytes());
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");  // before `search` goes back
    if (status == CUDNN_STATUS_SUCCESS) {
      timed.resize(static_cast<size_t>(std::max(found, 0)));
      choice.candidates = rank(timed, rules, search.bytes(), true);
      choice.timed = static_cast<int>(timed.size());
    }
  }
  for (const AlgoCandidate& c : rank(guessed, rules, limit, false)) {
    bool known = false;
    for (const AlgoCandidate& have : choice.candidates) known = known || have.algo == c.algo;
    if (!known) choice.candidates.push_back(c);
  }
  if (choice.candidates.empty()) {
    throw Error("CUDNN_ERROR",
                std::string("no ") + (rules.deterministic ? "deterministic " : "") + "cuDNN convolution " +
                    direction + " algorithm supports this geometry within the workspace limit of " +
                    std::to_string(limit) + " bytes",
                heuristicsCall);
  }
  choice.searchMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return choice;
}

// Whether a failed run is the algorithm's own failure, so that another algorithm may succeed.
Attempt::Kind afterFailure(cudnnStatus_t status) {
  if (status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
      status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    return Attempt::Skip;  // memory may be there next time
  const int category = CUDNN_STATUS_CATEGORY(static_cast<int>(status));
  if (category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_INTERNAL_ERROR ||
      category == CUDNN_STATUS_EXECUTION_FAILED)
    return Attempt::Drop;
  return Attempt::Ran;  // not the algorithm's fault (bad parameters): thrown by the caller
}

void setMathType(cudnnConvolutionDescriptor_t conv, cudnnMathType_t math) {
  check(cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
}

// What the search may use (conv_math.hpp): FMA only (strict FP32), default math (TF32 tensor cores
// for float32 data in TF32 mode), or tensor-op math (bfloat16 and float16 data always).
cudnnMathType_t searchMathType(Precision precision, cudnnDataType_t type) {
  switch (convSearchMath(precision == Precision::Tf32, type == CUDNN_DATA_FLOAT)) {
    case ConvMath::FmaOnly: return CUDNN_FMA_MATH;
    case ConvMath::Default: return CUDNN_DEFAULT_MATH;
    case ConvMath::TensorOps: return CUDNN_TENSOR_OP_MATH;
  }
  return CUDNN_FMA_MATH;
}

// Strict FP32 refuses tensor-core algorithms; only float32 data in Fp32 mode is strict.
bool strictFor(Precision precision, cudnnDataType_t type) {
  return precision == Precision::Fp32 && type == CUDNN_DATA_FLOAT;
}

constexpr cudnnDataType_t kBf16 = CUDNN_DATA_BFLOAT16;
constexpr cudnnDataType_t kF16 = CUDNN_DATA_HALF;

// ALEXNET_CUDNN_LOG=1: each plan's algorithm, when it first runs, on stderr (the GPU checks set
// it, so that a run shows what cuDNN chose for each data type and math).
bool logChoices() {
  static const bool on = [] {
    const char* v = std::getenv("ALEXNET_CUDNN_LOG");
    return v != nullptr && std::string(v) == "1";
  }();
  return on;
}

const char* typeName(cudnnDataType_t type) {
  return type == CUDNN_DATA_FLOAT ? "float32" : type == CUDNN_DATA_BFLOAT16 ? "bfloat16" : type == CUDNN_DATA_HALF ? "float16" : "?";
}

const char* mathName(cudnnMathType_t math) {
  switch (math) {
    case CUDNN_DEFAULT_MATH: return "default math";
    case CUDNN_TENSOR_OP_MATH: return "tensor-op math";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "tensor-op math with conversion";
    case CUDNN_FMA_MATH: return "FMA math";
  }
  return "?";
}

void logChoice(const ConvGeometry& g, cudnnDataType_t type, const char* direction, const AlgoCandidate& c,
               const AlgoChoice& choice) {
  std::fprintf(stderr,
               "cuDNN %s %s [%d, %d, %d, %d] * [%d, %d, %d, %d] stride %d pad %d groups %d: algorithm %d, %s, "
               "workspace %zu bytes (chosen in %.1f ms, %d timed)\n",
               direction, typeName(type), g.n, g.c, g.h, g.w, g.o, g.c / g.groups, g.kh, g.kw, g.strideH, g.padH,
               g.groups, c.algo, mathName(c.mathType), c.workspaceBytes, choice.searchMs, choice.timed);
}

// Runs one direction with the first of its algorithms that works (algo_fallback.hpp).
// run(algo, workspace, bytes) makes the cuDNN call; workspace(bytes) gives its workspace;
// minimum(algo, &bytes) is cuDNN's cudnnGet*WorkspaceSize for the descriptor as it stands.
//
// A candidate's workspace figure comes from the search, which reports each algorithm under the
// math type it measured it with; strict FP32 runs every candidate under FMA math, whatever that was.
// cuDNN asks for a workspace of at least cudnnGet*WorkspaceSize for the algorithm as the descriptor
// is set (math type included) and refuses a run given less, so on its first run a candidate's
// figure is raised to that minimum, asked with its own math type set (a host-side query, once).
template <class Workspace, class Minimum, class Run>
void runConvolution(AlgoChoice& choice, cudnnConvolutionDescriptor_t conv, const ConvGeometry& g,
                    cudnnDataType_t type, const char* direction, const char* call, Workspace workspace,
                    Minimum minimum, Run run) {
  runFirstWorking(choice.candidates, direction, call, [&](AlgoCandidate& c) {
    setMathType(conv, c.mathType);
    if (!c.workspaceSized) {
      size_t needed = 0;
      const cudnnStatus_t sized = minimum(c.algo, &needed);
      if (sized != CUDNN_STATUS_SUCCESS)  // cannot be sized under this math: not for this geometry
        return Attempt::drop("algorithm " + std::to_string(c.algo) + ": workspace size: " + cudnnErrorText(sized));
      if (logChoices() && needed > c.workspaceBytes)
        std::fprintf(stderr, "cuDNN %s %s: algorithm %d under %s needs %zu workspace bytes, ranked with %zu\n",
                     direction, typeName(type), c.algo, mathName(c.mathType), needed, c.workspaceBytes);
      c.workspaceBytes = std::max(c.workspaceBytes, needed);
      c.workspaceSized = true;
    }
    void* ws = nullptr;
    try {
      ws = workspace(c.workspaceBytes);
    } catch (const Error& e) {
      if (e.code() != "OUT_OF_MEMORY") throw;
      return Attempt::skip(e.what());
    }
    const cudnnStatus_t status = run(c.algo, ws, c.workspaceBytes);
    if (status == CUDNN_STATUS_SUCCESS) {
      if (logChoices() && choice.logged != c.algo) logChoice(g, type, direction, c, choice);
      choice.logged = c.algo;
      return Attempt::ran();
    }
    const Attempt::Kind next = afterFailure(status);
    if (next == Attempt::Ran) throwCudnnError(status, call);
    const std::string why = "algorithm " + std::to_string(c.algo) + ": " + cudnnErrorText(status);
    return next == Attempt::Skip ? Attempt::skip(why) : Attempt::drop(why);
  });
}

}  // namespace

ConvPlanData& CudaBackend::convPlan(const ConvGeometry& g, cudnnDataType_t type) {
  const ConvKey key{g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW,
                    g.groups, static_cast<int>(type)};
  return convPlans_.get(key, [&] {
    auto plan = std::make_unique<ConvPlanData>();
    plan->x = makeTensorDesc(g.n, g.c, g.h, g.w, type);
    plan->y = makeTensorDesc(g.n, g.o, g.outH, g.outW, type);
    plan->bias = makeTensorDesc(1, g.o, 1, 1);  // float32 biases, used with float32 data only
    plan->w = makeFilterDesc(g.o, g.c / g.groups, g.kh, g.kw, type);
    plan->conv = makeConvDesc();
    cudnnConvolutionDescriptor_t conv = plan->conv.get();
    // The compute type is float32 for every data type (16-bit data accumulates in float32).
    check(cudnnSetConvolution2dDescriptor(conv, g.padH, g.padW, g.strideH, g.strideW, 1, 1,
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
          "cudnnSetConvolution2dDescriptor");
    check(cudnnSetConvolutionGroupCount(conv, g.groups), "cudnnSetConvolutionGroupCount");
    return plan;
  });
}

void CudaBackend::convolutionForward(const ConvGeometry& g, cudnnDataType_t type, const void* x,
                                     const void* w, void* y) {
  ConvPlanData& p = convPlan(g, type);
  cudnnHandle_t h = cudnn_.get();
  const AlgoRules rules{strictFor(precision_, type), deterministic_};
  if (!p.forward.chosen) {
    int maxCount = 0;
    check(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &maxCount),
          "cudnnGetConvolutionForwardAlgorithmMaxCount");
    // FMA math is strict FP32; default math lets cuDNN use TF32 tensor cores (float32 data), and
    // tensor-op math its 16-bit tensor cores (conv_math.hpp).
    setMathType(p.conv.get(), searchMathType(precision_, type));
    p.forward = chooseAlgorithm<cudnnConvolutionFwdAlgoPerf_t>(
        "forward", "cudnnGetConvolutionForwardAlgorithm_v7", maxCount, rules,
        stream_.get(), device_, blocks_,
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
  runConvolution(p.forward, p.conv.get(), g, type, "forward", "cudnnConvolutionForward",
                 [&](size_t bytes) { return workspace(bytes); },
                 [&](int algo, size_t* bytes) {
                   return cudnnGetConvolutionForwardWorkspaceSize(
                       h, p.x.get(), p.w.get(), p.conv.get(), p.y.get(),
                       static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
                 },
                 [&](int algo, void* ws, size_t bytes) {
                   return cudnnConvolutionForward(h, &kOne, p.x.get(), x, p.w.get(), w,
                                                  p.conv.get(),
                                                  static_cast<cudnnConvolutionFwdAlgo_t>(algo), ws,
                                                  bytes, &kZero, p.y.get(), y);
                 });
}

void CudaBackend::convolutionBackwardData(const ConvGeometry& g, cudnnDataType_t type,
                                          const void* dy, const void* w, void* dx) {
  ConvPlanData& p = convPlan(g, type);
  cudnnHandle_t h = cudnn_.get();
  const AlgoRules rules{strictFor(precision_, type), deterministic_};
  if (!p.backwardData.chosen) {
    int maxCount = 0;
    check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &maxCount),
          "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    setMathType(p.conv.get(), searchMathType(precision_, type));
    p.backwardData = chooseAlgorithm<cudnnConvolutionBwdDataAlgoPerf_t>(
        "backward-data", "cudnnGetConvolutionBackwardDataAlgorithm_v7", maxCount, rules,
        stream_.get(), device_, blocks_,
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
  runConvolution(p.backwardData, p.conv.get(), g, type, "backward-data", "cudnnConvolutionBackwardData",
                 [&](size_t bytes) { return workspace(bytes); },
                 [&](int algo, size_t* bytes) {
                   return cudnnGetConvolutionBackwardDataWorkspaceSize(
                       h, p.w.get(), p.y.get(), p.conv.get(), p.x.get(),
                       static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
                 },
                 [&](int algo, void* ws, size_t bytes) {
                   return cudnnConvolutionBackwardData(
                       h, &kOne, p.w.get(), w, p.y.get(), dy, p.conv.get(),
                       static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), ws, bytes, &kZero,
                       p.x.get(), dx);
                 });
}

void CudaBackend::convolutionBackwardFilter(const ConvGeometry& g, cudnnDataType_t type,
                                            const void* x, const void* dy, void* dw) {
  ConvPlanData& p = convPlan(g, type);
  cudnnHandle_t h = cudnn_.get();
  const AlgoRules rules{strictFor(precision_, type), deterministic_};
  if (!p.backwardFilter.chosen) {
    int maxCount = 0;
    check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &maxCount),
          "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
    setMathType(p.conv.get(), searchMathType(precision_, type));
    p.backwardFilter = chooseAlgorithm<cudnnConvolutionBwdFilterAlgoPerf_t>(
        "backward-filter", "cudnnGetConvolutionBackwardFilterAlgorithm_v7", maxCount, rules,
        stream_.get(), device_, blocks_,
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
  // beta = 0: dw is overwritten, not accumulated (the contract).
  runConvolution(p.backwardFilter, p.conv.get(), g, type, "backward-filter",
                 "cudnnConvolutionBackwardFilter", [&](size_t bytes) { return workspace(bytes); },
                 [&](int algo, size_t* bytes) {
                   return cudnnGetConvolutionBackwardFilterWorkspaceSize(
                       h, p.x.get(), p.y.get(), p.conv.get(), p.w.get(),
                       static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
                 },
                 [&](int algo, void* ws, size_t bytes) {
                   return cudnnConvolutionBackwardFilter(
                       h, &kOne, p.x.get(), x, p.y.get(), dy, p.conv.get(),
                       static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), ws, bytes, &kZero,
                       p.w.get(), dw);
                 });
}

// ---- float32 -------------------------------------------------------------------------------

void CudaBackend::conv2dForward(const ConvGeometry& g, const float* x, const float* w,
                                const float* bias, float* y) {
  bind();
  convolutionForward(g, CUDNN_DATA_FLOAT, x, w, y);
  if (bias != nullptr) {
    ConvPlanData& p = convPlan(g, CUDNN_DATA_FLOAT);
    check(cudnnAddTensor(cudnn_.get(), &kOne, p.bias.get(), bias, &kOne, p.y.get(), y),
          "cudnnAddTensor");
  }
}

void CudaBackend::conv2dBackwardData(const ConvGeometry& g, const float* dy, const float* w,
                                     float* dx) {
  bind();
  convolutionBackwardData(g, CUDNN_DATA_FLOAT, dy, w, dx);
}

void CudaBackend::conv2dBackwardFilter(const ConvGeometry& g, const float* x, const float* dy,
                                       float* dw, float* db) {
  bind();
  convolutionBackwardFilter(g, CUDNN_DATA_FLOAT, x, dy, dw);
  if (db != nullptr) {
    ConvPlanData& p = convPlan(g, CUDNN_DATA_FLOAT);
    check(cudnnConvolutionBackwardBias(cudnn_.get(), &kOne, p.y.get(), dy, &kZero, p.bias.get(), db),
          "cudnnConvolutionBackwardBias");
  }
}

// ---- bfloat16 and float16 (see the top of this file) -----------------------------------------

namespace {
template <class H>
constexpr cudnnDataType_t cudnnTypeOf();
template <>
constexpr cudnnDataType_t cudnnTypeOf<BFloat16>() { return kBf16; }
template <>
constexpr cudnnDataType_t cudnnTypeOf<Float16>() { return kF16; }

void widen(size_t count, const BFloat16* x, float* y, cudaStream_t s) { kernels::castToFloat32(count, x, y, s); }
void widen(size_t count, const Float16* x, float* y, cudaStream_t s) { kernels::castFloat16ToFloat32(count, x, y, s); }
}  // namespace

template <class H>
void CudaBackend::halfConvForward(const ConvGeometry& g, const H* x, const H* w, const float* bias, H* y) {
  bind();
  convolutionForward(g, cudnnTypeOf<H>(), x, w, y);
  if (bias != nullptr)
    kernels::biasAddChannels(g.n, g.o, static_cast<size_t>(g.outH) * g.outW, bias, y, stream_.get());
}

template <class H>
void CudaBackend::halfConvBackwardFilter(const ConvGeometry& g, const H* x, const H* dy, float* dw, float* db) {
  bind();
  const size_t weights = static_cast<size_t>(g.o) * (g.c / g.groups) * g.kh * g.kw;
  auto* dwHalf = static_cast<H*>(staging(weights * sizeof(H)));
  convolutionBackwardFilter(g, cudnnTypeOf<H>(), x, dy, dwHalf);
  widen(weights, dwHalf, dw, stream_.get());
  if (db != nullptr)
    kernels::biasGradChannels(g.n, g.o, static_cast<size_t>(g.outH) * g.outW, dy, db, stream_.get());
}

void CudaBackend::conv2dForward(const ConvGeometry& g, const BFloat16* x, const BFloat16* w,
                                const float* bias, BFloat16* y) {
  requireBf16("conv2dForward");
  halfConvForward(g, x, w, bias, y);
}

void CudaBackend::conv2dBackwardData(const ConvGeometry& g, const BFloat16* dy, const BFloat16* w,
                                     BFloat16* dx) {
  requireBf16("conv2dBackwardData");
  bind();
  convolutionBackwardData(g, kBf16, dy, w, dx);
}

void CudaBackend::conv2dBackwardFilter(const ConvGeometry& g, const BFloat16* x, const BFloat16* dy,
                                       float* dw, float* db) {
  requireBf16("conv2dBackwardFilter");
  halfConvBackwardFilter(g, x, dy, dw, db);
}

void CudaBackend::conv2dForward(const ConvGeometry& g, const Float16* x, const Float16* w,
                                const float* bias, Float16* y) {
  requireFp16("conv2dForward");
  halfConvForward(g, x, w, bias, y);
}

void CudaBackend::conv2dBackwardData(const ConvGeometry& g, const Float16* dy, const Float16* w,
                                     Float16* dx) {
  requireFp16("conv2dBackwardData");
  bind();
  convolutionBackwardData(g, kF16, dy, w, dx);
}

void CudaBackend::conv2dBackwardFilter(const ConvGeometry& g, const Float16* x, const Float16* dy,
                                       float* dw, float* db) {
  requireFp16("conv2dBackwardFilter");
  halfConvBackwardFilter(g, x, dy, dw, db);
}

}  // namespace alexnet::cuda
