// The CPU backend class: memory, copies, shared oneDNN helpers and the factory. The ops live in
// conv.cpp, lrn.cpp, pool.cpp, linear.cpp, elementwise.cpp and loss.cpp.
#include "cpu_backend.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

#include "cpu_internal.hpp"

#include <omp.h>

namespace alexnet {
namespace cpu {

namespace {
constexpr size_t kAlignment = 64;  // one cache line, and the widest AVX-512 load
}

std::string dimsString(std::initializer_list<long long> dims) {
  std::ostringstream s;
  bool first = true;
  for (long long d : dims) {
    if (!first) s << 'x';
    s << d;
    first = false;
  }
  return s.str();
}

std::string convString(const ConvGeometry& g) {
  std::ostringstream s;
  s << "x " << dimsString({g.n, g.c, g.h, g.w}) << ", w "
    << dimsString({g.o, g.groups > 0 ? g.c / g.groups : g.c, g.kh, g.kw}) << ", stride "
    << g.strideH << 'x' << g.strideW << ", pad " << g.padH << 'x' << g.padW << ", groups "
    << g.groups << ", y " << dimsString({g.n, g.o, g.outH, g.outW});
  return s.str();
}

void throwDnnl(const dnnl::error& e, const char* call, const std::string& what) {
  if (e.status == dnnl_out_of_memory) {
    throw Error("OUT_OF_MEMORY", std::string(call) + " ran out of memory (" + what + ")", call,
                "free memory or use a smaller batch");
  }
  throw Error("DNNL_ERROR",
              std::string(call) + " failed (" + what + "): " + e.what() + " [status " +
                  std::to_string(static_cast<int>(e.status)) + "]",
              call, "oneDNN rejected the operation; check the shapes and the oneDNN installation");
}

void throwDnnlStatus(int status, const char* call, const std::string& what) {
  throw Error("DNNL_ERROR",
              std::string(call) + " failed (" + what + ") with status " + std::to_string(status),
              call, "oneDNN rejected the operation; check the shapes and the oneDNN installation");
}

void* alignedAllocate(size_t bytes) {
  // aligned_alloc wants a multiple of the alignment; a zero-byte request still gets a unique
  // pointer so that callers can treat every allocation alike.
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) {
    throw Error("OUT_OF_MEMORY", "could not allocate " + std::to_string(bytes) + " bytes of host memory",
                "aligned_alloc", "free memory or use a smaller batch");
  }
  return p;
}

void alignedFree(void* p) { std::free(p); }

AlignedBuffer::~AlignedBuffer() { alignedFree(ptr); }

void AlignedBuffer::reserve(size_t n) {
  if (n <= bytes && ptr) return;
  void* p = alignedAllocate(n);
  alignedFree(ptr);
  ptr = p;
  bytes = n;
}

dnnl::primitive_attr DnnlContext::attr() const {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

dnnl::memory DnnlContext::scratchpadMemory(const dnnl::memory::desc& d) {
  scratchpad.reserve(d.get_size());
  return dnnl::memory(d, engine, scratchpad.ptr);
}

Staged::Staged(DnnlContext& ctx, const dnnl::memory::desc& user, const dnnl::memory::desc& inner,
               bool isInput, int slot)
    : slot_(slot) {
  user_ = dnnl::memory(user, ctx.engine, DNNL_MEMORY_NONE);
  needsReorder_ = user != inner;
  if (needsReorder_) {
    ctx.staging[slot].reserve(inner.get_size());
    inner_ = dnnl::memory(inner, ctx.engine, DNNL_MEMORY_NONE);
    reorder_ = isInput ? dnnl::reorder(user_, inner_) : dnnl::reorder(inner_, user_);
  } else {
    inner_ = user_;
  }
}

void Staged::in(DnnlContext& ctx, const void* p) {
  user_.set_data_handle(const_cast<void*>(p));
  if (needsReorder_) {
    inner_.set_data_handle(ctx.staging[slot_].ptr);
    reorder_.execute(ctx.stream, user_, inner_);
  }
}

void Staged::out(DnnlContext& ctx, void* p) {
  user_.set_data_handle(p);
  if (needsReorder_) inner_.set_data_handle(ctx.staging[slot_].ptr);
}

void Staged::finish(DnnlContext& ctx) {
  if (needsReorder_) reorder_.execute(ctx.stream, inner_, user_);
}

// ---- the class ------------------------------------------------------------------------------

CpuBackend::CpuBackend() = default;
CpuBackend::~CpuBackend() = default;

DnnlContext& CpuBackend::dnnl() {
  if (!dnnl_) {
    try {
      dnnl_ = std::make_unique<DnnlContext>();
    } catch (const dnnl::error& e) {
      throwDnnl(e, "dnnl::engine", "cpu engine 0");
    }
  }
  return *dnnl_;
}

void CpuBackend::setNumThreads(int count) {
  omp_set_num_threads(count);
  // oneDNN sizes a primitive's per-thread scratch when the primitive is created, so primitives made
  // for another thread count must not run again: they are made anew on next use.
  conv_.reset();
  linear_.reset();
}

void* CpuBackend::allocate(size_t bytes) { return alignedAllocate(bytes); }

void CpuBackend::deallocate(void* ptr, size_t /*bytes*/) { alignedFree(ptr); }

void CpuBackend::copyFromHost(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

void CpuBackend::copyToHost(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

void CpuBackend::copyOnDevice(void* dst, const void* src, size_t bytes) {
  // memmove: an in-place or overlapping copy stays well defined.
  if (bytes && dst != src) std::memmove(dst, src, bytes);
}

void CpuBackend::copy2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch,
                        size_t rowBytes, size_t rows) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t r = 0; r < rows; ++r) std::memcpy(d + r * dstPitch, s + r * srcPitch, rowBytes);
}

}  // namespace cpu

std::unique_ptr<Backend> createCpuBackend() { return std::make_unique<cpu::CpuBackend>(); }

int cpuDefaultThreads() { return omp_get_max_threads(); }

}  // namespace alexnet
