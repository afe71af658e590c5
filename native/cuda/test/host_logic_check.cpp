// Checks the CUDA backend's bookkeeping on the host, without a GPU: the bad-label record that the
// loss and top-k kernels write (kernels/label_check.hpp), the choice of peer-to-peer or staged
// copies (peer_access.hpp), the bounded plan caches (lru_cache.hpp), the convolution algorithm
// fallback (algo_fallback.hpp) and the math its algorithm search may use (conv_math.hpp); and the
// dropout element (kernels/dropout_element.hpp), whose mask the contract lets be null.
// Run: bash native/cuda/test/run_checks.sh
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "algo_fallback.hpp"
#include "conv_math.hpp"
#include "kernels/dropout_element.hpp"
#include "kernels/label_check.hpp"
#include "lru_cache.hpp"
#include "peer_access.hpp"
#include "../../core/test/check_report.hpp"

using namespace alexnet;
using namespace alexnet::cuda;
using alexnet::check::report;

namespace {

kernels::LabelErrorRecord emptyRecord() {
  kernels::LabelErrorRecord r;
  std::memset(&r, 0xFF, sizeof r);  // as the backend clears it
  return r;
}

// The kernels' per-row check, run sequentially over (launch, labels) as the stream runs launches.
void runLaunch(kernels::LabelErrorRecord& r, unsigned launch, int op, int classes,
               const std::vector<int32_t>& labels) {
  const kernels::LabelCheck check{&r, launch, op};
  for (int row = static_cast<int>(labels.size()) - 1; row >= 0; --row)  // any order: lowest row wins
    if (!kernels::labelInRange(labels[row], classes)) kernels::recordBadLabel(check, row, labels[row], classes);
}

void checkLabelRecord() {
  kernels::LabelErrorRecord r = emptyRecord();
  runLaunch(r, 1, kernels::kLabelOpSoftmaxCrossEntropy, 3, {0, 1, 2, 2});
  report("labels in range leave the record empty", !kernels::hasLabelError(r));
  runLaunch(r, 2, kernels::kLabelOpSoftmaxCrossEntropy, 3, {0, 7});
  // The CPU backend's message for the same call (test/13.ops.errors.test.ts expects it).
  report("a bad label reads as the CPU words it",
         kernels::hasLabelError(r) && kernels::labelErrorMessage(r) == "label 7 of row 1 is outside [0, 3)");
  runLaunch(r, 3, kernels::kLabelOpTopkCorrect, 10, {-1, 0, 99});
  report("a later launch does not replace the first report",
         kernels::labelErrorMessage(r) == "label 7 of row 1 is outside [0, 3)" &&
             std::string(kernels::labelOpName(r.op)) == "softmaxCrossEntropy");
  r = emptyRecord();
  runLaunch(r, 4, kernels::kLabelOpTopkCorrect, 10, {1, 12, 3, -5, 10});
  report("within a launch the lowest row wins; negative labels read back",
         kernels::labelErrorMessage(r) == "label 12 of row 1 is outside [0, 10)" &&
             std::string(kernels::labelOpName(r.op)) == "topkCorrect");
  r = emptyRecord();
  runLaunch(r, 5, kernels::kLabelOpTopkCorrect, 10, {4, -2147483647 - 1});
  report("the most negative label reads back",
         kernels::labelErrorMessage(r) == "label -2147483648 of row 1 is outside [0, 10)");
}

void checkPeerRoutes() {
  PeerRoutes routes;
  int tries = 0;
  auto works = [&](std::string&) { ++tries; return true; };
  auto fails = [&](std::string& why) { ++tries; why = "peer access failed: cudaErrorTooManyPeers"; return false; };
  const bool direct = routes.route(0, 1, works) == PeerRoute::Direct && routes.route(0, 1, fails) == PeerRoute::Direct;
  report("a pair that can be enabled is direct, and tried once", direct && tries == 1);
  const bool staged = routes.route(1, 0, fails) == PeerRoute::Staged && routes.route(1, 0, works) == PeerRoute::Staged;
  report("a pair that cannot is staged, remembered, with its reason",
         staged && tries == 2 && routes.reason(1, 0) == "peer access failed: cudaErrorTooManyPeers" &&
             routes.reason(0, 1).empty());
  report("no pair is tried before its first copy", routes.reason(2, 3).empty() && tries == 2);
  std::atomic<int> concurrentTries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      routes.route(4, 5, [&](std::string&) { ++concurrentTries; return true; });
    });
  for (auto& t : threads) t.join();
  report("streams asking at once try a pair once", concurrentTries == 1);
}

void checkLruCache() {
  LruCache<int, std::string> cache(3);
  int made = 0;
  auto get = [&](int k) -> std::string& {
    return cache.get(k, [&] { ++made; return std::make_unique<std::string>("v" + std::to_string(k)); });
  };
  get(1), get(2), get(3);
  get(1);  // now 2 is the least recently used
  get(4);
  report("bounded: the least recently used entry goes",
         cache.size() == 3 && !cache.contains(2) && cache.contains(1) && cache.contains(3) && cache.contains(4));
  const int before = made;
  report("a cached entry is not made again", get(4) == "v4" && made == before);
  bool threw = false;
  try {
    cache.get(9, []() -> std::unique_ptr<std::string> { throw Error("CUDNN_ERROR", "no"); });
  } catch (const Error&) {
    threw = true;
  }
  report("a failed make leaves the cache as it was", threw && cache.size() == 3 && cache.contains(1) && !cache.contains(9));
}

void checkAlgorithmFallback() {
  std::vector<int> candidates{7, 1, 2, 0};
  std::vector<int> tried;
  runFirstWorking(candidates, "forward", "cudnnConvolutionForward", [&](int algo) {
    tried.push_back(algo);
    if (algo == 7) return Attempt::drop("not supported");
    if (algo == 1) return Attempt::skip("workspace: out of memory");
    return Attempt::ran();
  });
  report("a failing algorithm makes way for the next",
         tried == std::vector<int>({7, 1, 2}) && candidates == std::vector<int>({1, 2, 0}));
  std::string code, message;
  try {
    runFirstWorking(candidates, "forward", "cudnnConvolutionForward",
                    [&](int) { return Attempt::drop("CUDNN_STATUS_NOT_SUPPORTED"); });
  } catch (const Error& e) {
    code = e.code();
    message = e.what();
  }
  report("none runs: CUDNN_ERROR naming the direction and the last failure",
         code == "CUDNN_ERROR" && candidates.empty() &&
             message.find("forward algorithm ran for this geometry (3 tried)") != std::string::npos &&
             message.find("CUDNN_STATUS_NOT_SUPPORTED") != std::string::npos);
  std::vector<int> two{3, 4};
  code.clear();
  try {
    runFirstWorking(two, "backward-data", "cudnnConvolutionBackwardData", [&](int algo) {
      return algo == 3 ? Attempt::skip("out of memory") : Attempt::drop("not supported");
    });
  } catch (const Error& e) {
    code = e.code();
  }
  report("only skipped for memory: OUT_OF_MEMORY, and kept for later", code == "OUT_OF_MEMORY" && two == std::vector<int>({3}));
}

// cuDNN's legacy convolutions use tensor cores only under tensor-op math: the 16-bit types must
// search under it in both precision modes, float32 never (FMA only, or TF32 by default math).
void checkConvSearchMath() {
  report("bfloat16/float16 search under tensor-op math (strict FP32 mode)",
         convSearchMath(false, false) == ConvMath::TensorOps);
  report("bfloat16/float16 search under tensor-op math (TF32 mode)", convSearchMath(true, false) == ConvMath::TensorOps);
  report("float32 in strict FP32 mode: FMA only", convSearchMath(false, true) == ConvMath::FmaOnly);
  report("float32 in TF32 mode: default math", convSearchMath(true, true) == ConvMath::Default);
}

// The dropout kernel's element against the CPU backend's rule (native/cpu/elementwise.cpp), with
// a mask and without one (backend.hpp: "mask may be null"; writing through it would be an illegal
// address on the GPU, which ends every later CUDA call of the process).
void checkDropoutElement() {
  const size_t rowLength = 16, rows = 7, count = rowLength * rows;
  const uint64_t seed = 1234, offset = 7, rowStride = 40;
  const float p = 0.5f, keepScale = 1.0f / (1.0f - p);
  std::vector<float> x(count), y(count), mask(count), yNoMask(count, -1.0f);
  for (size_t i = 0; i < count; ++i) x[i] = static_cast<float>(i) - 50.0f;
  bool same = true;
  for (size_t i = 0; i < count; ++i) {
    kernels::dropoutElement(i, p, keepScale, seed, offset, rowLength, rowStride, x.data(), y.data(), mask.data());
    kernels::dropoutElement(i, p, keepScale, seed, offset, rowLength, rowStride, x.data(), yNoMask.data(), nullptr);
    const size_t row = i / rowLength, column = i % rowLength;
    const float want = counterUniform(seed, offset + row * rowStride + column) >= p ? keepScale : 0.0f;
    same = same && mask[i] == want && y[i] == x[i] * want && yNoMask[i] == y[i];
  }
  report("dropout element: the CPU's draws, with a mask and with none", same);
}

}  // namespace

int main() {
  checkLabelRecord();
  checkPeerRoutes();
  checkLruCache();
  checkAlgorithmFallback();
  checkConvSearchMath();
  checkDropoutElement();
  return alexnet::check::finish("all ok");
}
