// Internal declarations shared by the CPU backend's translation units. Not part of the public API.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "alexnet/backend.hpp"
#include "alexnet/error.hpp"
#include "cpu_arch.hpp"


namespace alexnet {
namespace cpu {

// Elementwise loops below this many elements run on the calling thread: waking the other threads
// costs more than the work.
constexpr long long kParallelMin = 1 << 15;

// Runs chunk(begin, end) over [0, n): one contiguous chunk per OpenMP thread (cut at multiples of
// 64 elements, so threads never share a cache line of output), or the whole range on the calling
// thread when n < kParallelMin. Elementwise results do not depend on where the cuts fall. The
// chunk's kernel is where ALEXNET_CPU_CLONES goes: it holds no OpenMP region, this does.
template <class Chunk>
void parallelChunks(long long n, const Chunk& chunk) {
  if (n <= 0) return;
  if (n < kParallelMin) {
    chunk(0LL, n);
    return;
  }
#pragma omp parallel
  {
    const long long threads = omp_get_num_threads(), t = omp_get_thread_num();
    const long long per = ((n + threads - 1) / threads + 63) / 64 * 64;
    const long long begin = std::min(n, t * per), end = std::min(n, begin + per);
    if (begin < end) chunk(begin, end);
  }
}

// Cache key: a fixed array of integers describing a primitive's geometry and options.
using Key = std::array<int, 16>;
struct KeyHash {
  size_t operator()(const Key& k) const noexcept {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the ints
    for (int v : k) {
      h ^= static_cast<uint32_t>(v);
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

// "2x3x224x224" and similar, for error messages.
std::string dimsString(std::initializer_list<long long> dims);
std::string convString(const ConvGeometry& g);

// Converts a dnnl::error into alexnet::Error; `call` names the oneDNN API, `what` the shape.
[[noreturn]] void throwDnnl(const dnnl::error& e, const char* call, const std::string& what);
[[noreturn]] void throwDnnlStatus(int status, const char* call, const std::string& what);

// A buffer with 64-byte alignment that owns its memory (scratch for reorders and workspaces).
struct AlignedBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();
  void reserve(size_t n);  // grows (never shrinks); contents are not preserved
  // Grown to hold `count` values of T, as a T*.
  template <class T>
  T* grown(size_t count) {
    reserve(count * sizeof(T));
    return static_cast<T*>(ptr);
  }
};

// A convolution's element counts: its input, its output and its weights ([o, c / groups, kh, kw]).
inline size_t inputCount(const ConvGeometry& g) { return size_t(g.n) * g.c * g.h * g.w; }
inline size_t outputCount(const ConvGeometry& g) { return size_t(g.n) * g.o * g.outH * g.outW; }
inline size_t weightCount(const ConvGeometry& g) { return size_t(g.o) * (g.c / g.groups) * g.kh * g.kw; }
void* alignedAllocate(size_t bytes);  // throws OUT_OF_MEMORY
void alignedFree(void* p);

// State shared by the oneDNN-based ops: one engine and stream, one scratchpad buffer and a few
// staging buffers for layout reorders. The backend runs one op at a time, so every primitive can
// use the same buffers in turn: memory then grows to the largest layer, not the sum of all layers.
struct DnnlContext {
  static constexpr int kStagingSlots = 3;  // an op stages at most three tensors at once

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  AlignedBuffer scratchpad;
  AlignedBuffer staging[kStagingSlots];

  // Attributes for every primitive: user-managed scratchpad, so that steady-state execution does
  // not allocate inside oneDNN.
  dnnl::primitive_attr attr() const;
  // Memory for a primitive's scratchpad (grown on demand; handle set again at every call).
  dnnl::memory scratchpadMemory(const dnnl::memory::desc& d);
};

// Plain (user layout) tensor bound to a primitive's possibly different internal layout. When the
// layouts agree the user's pointer goes straight to the primitive; otherwise a cached reorder
// copies through the context's staging buffer `slot` (distinct slots for the tensors of one op).
class Staged {
 public:
  Staged() = default;
  Staged(DnnlContext& ctx, const dnnl::memory::desc& user, const dnnl::memory::desc& inner,
         bool isInput, int slot);
  // Input: binds `p` and, if needed, reorders into the staging buffer.
  void in(DnnlContext& ctx, const void* p);
  // Output: binds `p` (or the staging buffer) for the primitive to write; call finish() after.
  void out(DnnlContext& ctx, void* p);
  void finish(DnnlContext& ctx);
  // The memory the primitive sees (for building its cached argument map).
  const dnnl::memory& mem() const { return inner_; }

 private:
  dnnl::memory user_, inner_;
  dnnl::reorder reorder_;
  bool needsReorder_ = false;
  int slot_ = 0;
};

// The buffers of the bfloat16 weight gradient as one GEMM (conv_filter_gemm.cpp), lent to every
// geometry in turn: x with its channels last, the patches, dy regrouped and the product.
struct FilterGemmScratch {
  AlignedBuffer input, columns, dyRows, product;
};

// Per-op caches (defined in their translation units).
struct ConvCache;
struct LinearCache;
struct ConvCacheDeleter { void operator()(ConvCache*) const; };
struct LinearCacheDeleter { void operator()(LinearCache*) const; };

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  ~CpuBackend() override;
  const char* name() const override { return "cpu"; }

  // Thread-safe: may be called from any thread (plain aligned_alloc / free).
  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copyFromHost(void* dst, const void* src, size_t bytes) override;
  void copyToHost(void* dst, const void* src, size_t bytes) override;
  void copyOnDevice(void* dst, const void* src, size_t bytes) override;
  void copy2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch, size_t rowBytes,
              size_t rows) override;
  void synchronize() override {}
  void setNumThreads(int count) override;

  // The op table's methods (alexnet/op_table.hpp), one source file per family, and their
  // bfloat16 overloads.
  ALEXNET_BACKEND_OVERRIDES
  ALEXNET_BACKEND_BF16_OVERRIDES

  // bfloat16 compute needs the AVX512_BF16 instructions (oneDNN's avx512_core_bf16 kernels):
  // without them oneDNN would emulate bf16 at a fraction of the float32 speed, so instead every
  // bfloat16 compute method throws BF16_UNSUPPORTED (see bf16.cpp). The answer follows oneDNN's
  // effective ISA, so ONEDNN_MAX_CPU_ISA=AVX512_CORE turns it off on a machine that has it.
  bool bf16Supported(std::string* reason) const override;
  // float16: no kernels (every float16 method is Backend's default, FLOAT16_UNSUPPORTED). oneDNN
  // computes in float16 only on AVX512_FP16 / AMX-FP16 CPUs and emulates it elsewhere; the reason
  // says which this CPU is (bf16.cpp).
  bool fp16Supported(std::string* reason) const override;

 private:
  DnnlContext& dnnl();
  void requireBf16(const char* op) const;  // throws BF16_UNSUPPORTED unless bf16Supported()
  // The convolutions for either activation type (dnnl f32 or bf16); pointers of that type.
  // `xBlocked16`: x is laid out nChw16c (16 channels side by side per pixel; g.c a multiple of 16)
  // instead of NCHW, as the space-to-depth packing writes it.
  void convForward(const ConvGeometry& g, dnnl::memory::data_type act, const void* x, const void* w,
                   const float* bias, void* y, bool xBlocked16 = false);
  void convBackwardData(const ConvGeometry& g, dnnl::memory::data_type act, const void* dy,
                        const void* w, void* dx);
  void convBackwardFilter(const ConvGeometry& g, dnnl::memory::data_type act, const void* x,
                          const void* dy, float* dw, float* db, bool xBlocked16 = false);
  ConvCache& convCache();
  LinearCache& linearCache();

  // Created on first use so that constructing a backend never touches oneDNN.
  std::unique_ptr<DnnlContext> dnnl_;
  std::unique_ptr<ConvCache, ConvCacheDeleter> conv_;
  std::unique_ptr<LinearCache, LinearCacheDeleter> linear_;
  std::vector<double> rowLoss_;  // per-row losses, summed in order for a deterministic mean
  // bfloat16 backward weights: whether oneDNN has only its gemm kernel for a geometry, even group
  // by group, so that the operands are widened to float32 instead (conv.cpp).
  std::unordered_map<Key, bool, KeyHash> bf16FilterWidened_;
  // Float32 copies of bfloat16 operands where that backward weights computes through float32,
  // reused by one op at a time like the staging buffers.
  AlignedBuffer wideX_, wideDy_;
  // Space to depth's packed input (or input gradient), weights and weight gradient (conv.cpp).
  AlignedBuffer packedX_, packedW_, packedDw_;
  FilterGemmScratch filterGemmScratch_;
};

}  // namespace cpu
}  // namespace alexnet
