// libalexnet_nccl.so: all-reduce and broadcast of CUDA memory with NCCL on a stream of its own,
// ordered with the device's compute stream by events (see module.hpp). The communicators are
// non-blocking, and every wait on NCCL is a bounded poll (../core/nccl_watchdog.hpp): a rank that
// died or hangs makes the waiting rank abort the communicator and report it, never block for ever.
#include "module.hpp"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../core/nccl_watchdog.hpp"

namespace {

namespace wd = alexnet::nccl_watchdog;

static_assert(static_cast<int>(ncclSuccess) == wd::kSuccess && static_cast<int>(ncclSystemError) == wd::kSystemError &&
                  static_cast<int>(ncclInternalError) == wd::kInternalError &&
                  static_cast<int>(ncclRemoteError) == wd::kRemoteError &&
                  static_cast<int>(ncclInProgress) == wd::kInProgress,
              "nccl_watchdog.hpp numbers NCCL's results as nccl.h does");

struct Comm {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0, rank = 0, size = 1;
  double timeoutSeconds = 30;
  // Set once the communicator was aborted: every later call fails with the same status and reason.
  int abortStatus = 0;
  std::string abortMessage;
};

struct Pending {
  Comm* comm = nullptr;
  cudaEvent_t done = nullptr;
  const char* what = "NCCL collective";  // as messages name it
};

int fail(char* err, size_t errLen, const std::string& message) {
  if (err && errLen > 0) std::snprintf(err, errLen, "%s", message.c_str());
  return -1;
}

int cudaFail(char* err, size_t errLen, const char* call, cudaError_t e) {
  return fail(err, errLen, std::string(call) + ": " + cudaGetErrorString(e));
}

int ncclFail(char* err, size_t errLen, const char* call, ncclResult_t r) {
  return fail(err, errLen, std::string(call) + ": " + ncclGetErrorString(r));
}

int failWith(char* err, size_t errLen, int status, const std::string& message) {
  if (err && errLen > 0) std::snprintf(err, errLen, "%s", message.c_str());
  return status;
}

// Polls `look` under the communicator's timeout; on an error or the timeout aborts the
// communicator (ending its kernels) and returns the watchdog's status with its message in err.
template <class LookFn>
int watch(Comm* c, const char* what, LookFn look, char* err, size_t errLen) {
  wd::Watchdog dog(what, c->timeoutSeconds, wd::Clock::now());
  const wd::Decision d = wd::waitFor(
      dog, look, [] { return wd::Clock::now(); }, [](wd::Clock::duration t) { std::this_thread::sleep_for(t); },
      [c] { ncclCommAbort(c->comm); });
  const int status = wd::statusOf(d.verdict);
  if (status == 0) return 0;
  const char* detail = ncclGetLastError(nullptr);
  c->abortStatus = status;
  c->abortMessage = d.message + (detail && *detail ? std::string(" (") + detail + ")" : std::string());
  return failWith(err, errLen, status, c->abortMessage);
}

// After a call on the non-blocking communicator: waits (bounded) until NCCL has settled what the
// call left in progress. A call that failed outright is judged like an asynchronous error.
int settle(Comm* c, ncclResult_t r, const char* what, char* err, size_t errLen) {
  if (r == ncclSuccess) return 0;
  ncclResult_t first = r;
  return watch(c, what, [c, &first] {
    ncclResult_t state = first;
    first = ncclInProgress;  // the call's own result once, then the communicator's state
    if (state == ncclInProgress) ncclCommGetAsyncError(c->comm, &state);
    return wd::Look{state == ncclSuccess, static_cast<int>(state), {}};
  }, err, errLen);
}

// A communicator aborted earlier fails every later call with the reason it was aborted.
int usable(Comm* c, char* err, size_t errLen) {
  if (c->abortStatus == 0) return 0;
  return failWith(err, errLen, c->abortStatus, "the NCCL communicator was aborted: " + c->abortMessage);
}

}  // namespace

extern "C" {

int alexnet_nccl_probe(char* out, size_t outLen) {
  int version = 0;
  ncclGetVersion(&version);
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return cudaFail(out, outLen, "cudaGetDeviceCount", e);
  if (count == 0) return fail(out, outLen, "no CUDA device found");
  std::snprintf(out, outLen, "NCCL %d.%d.%d, %d CUDA device(s)", version / 10000, (version / 100) % 100,
                version % 100, count);
  return 0;
}

int alexnet_nccl_unique_id(char* id, size_t idLen, char* err, size_t errLen) {
  if (idLen != sizeof(ncclUniqueId)) return fail(err, errLen, "the NCCL id must be 128 bytes");
  ncclUniqueId unique;
  if (ncclResult_t r = ncclGetUniqueId(&unique); r != ncclSuccess) return ncclFail(err, errLen, "ncclGetUniqueId", r);
  std::memcpy(id, &unique, sizeof unique);
  return 0;
}

int alexnet_nccl_create(int device, int rank, int size, const char* id, size_t idLen, double timeoutSeconds,
                        void** comm, char* err, size_t errLen) {
  if (idLen != sizeof(ncclUniqueId)) return fail(err, errLen, "the NCCL id must be 128 bytes");
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return cudaFail(err, errLen, "cudaSetDevice", e);
  auto* c = new Comm();
  c->device = device;
  c->rank = rank;
  c->size = size;
  c->timeoutSeconds = timeoutSeconds;
  if (cudaError_t e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking); e != cudaSuccess) {
    delete c;
    return cudaFail(err, errLen, "cudaStreamCreateWithFlags", e);
  }
  ncclUniqueId unique;
  std::memcpy(&unique, id, sizeof unique);
  // Non-blocking: forming the communicator waits for every rank, which a lost one never joins.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclResult_t r = ncclCommInitRankConfig(&c->comm, size, unique, rank, &config);
  if (r != ncclSuccess && !c->comm) {
    cudaStreamDestroy(c->stream);
    delete c;
    return ncclFail(err, errLen, "ncclCommInitRankConfig", r);
  }
  if (int s = settle(c, r, "forming the NCCL communicator", err, errLen)) {
    cudaStreamDestroy(c->stream);
    delete c;
    return s;
  }
  *comm = c;
  return 0;
}

void alexnet_nccl_destroy(void* comm) {
  auto* c = static_cast<Comm*>(comm);
  if (!c) return;
  cudaSetDevice(c->device);
  // An aborted communicator is gone already; a live one finishes its work (bounded) first.
  if (c->abortStatus == 0 && settle(c, ncclCommFinalize(c->comm), "closing the NCCL communicator", nullptr, 0) == 0)
    ncclCommDestroy(c->comm);
  cudaStreamDestroy(c->stream);
  delete c;
}

namespace {

// The communicator's stream waits for the work queued so far on `stream`; `*p` gets its done event.
int beginOnCommStream(Comm* c, void* stream, Pending** p, char* err, size_t errLen) {
  if (int s = usable(c, err, errLen)) return s;
  cudaSetDevice(c->device);
  cudaEvent_t ready = nullptr;
  auto* pending = new Pending();
  pending->comm = c;
  cudaError_t e = cudaEventCreateWithFlags(&ready, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&pending->done, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventRecord(ready, static_cast<cudaStream_t>(stream));
  if (e == cudaSuccess) e = cudaStreamWaitEvent(c->stream, ready, 0);
  if (ready) cudaEventDestroy(ready);
  if (e != cudaSuccess) {
    if (pending->done) cudaEventDestroy(pending->done);
    delete pending;
    return cudaFail(err, errLen, "cudaEventRecord", e);
  }
  *p = pending;
  return 0;
}

int endOnCommStream(Comm* c, Pending* p, void** pending, char* err, size_t errLen) {
  if (cudaError_t e = cudaEventRecord(p->done, c->stream); e != cudaSuccess) {
    cudaEventDestroy(p->done);
    delete p;
    return cudaFail(err, errLen, "cudaEventRecord", e);
  }
  *pending = p;
  return 0;
}

int abandon(Pending* p, int status) {
  cudaEventDestroy(p->done);
  delete p;
  return status;
}

struct Blocks {
  std::vector<size_t> offset;  // columns before rank q
  size_t total = 0;
  bool equal = true;
};

Blocks blocksOf(const Comm* c, const size_t* inner) {
  Blocks b;
  for (int q = 0; q < c->size; ++q) {
    b.offset.push_back(b.total);
    b.total += inner[q];
    if (inner[q] != inner[0]) b.equal = false;
  }
  return b;
}

// Rank-major blocks [outer, inner[q]] of `packed` to and from the columns of `whole` [outer, total].
cudaError_t copyBlocks(const Comm* c, const Blocks& b, const size_t* inner, size_t outer, float* packed, float* whole,
                       bool toWhole) {
  size_t at = 0;
  for (int q = 0; q < c->size; ++q) {
    const size_t w = inner[q] * sizeof(float);
    float* block = packed + at;
    float* columns = whole + b.offset[static_cast<size_t>(q)];
    cudaError_t e = inner[q] == 0 ? cudaSuccess
        : toWhole ? cudaMemcpy2DAsync(columns, b.total * sizeof(float), block, w, w, outer, cudaMemcpyDeviceToDevice, c->stream)
                  : cudaMemcpy2DAsync(block, w, columns, b.total * sizeof(float), w, outer, cudaMemcpyDeviceToDevice, c->stream);
    if (e != cudaSuccess) return e;
    at += outer * inner[q];
  }
  return cudaSuccess;
}

}  // namespace

int alexnet_nccl_start(void* comm, float* data, size_t count, int mean, int root, void* stream, void** pending,
                       char* err, size_t errLen) {
  auto* c = static_cast<Comm*>(comm);
  Pending* p = nullptr;
  if (int s = beginOnCommStream(c, stream, &p, err, errLen)) return s;
  ncclResult_t r = root >= 0
      ? ncclBroadcast(data, data, count, ncclFloat32, root, c->comm, c->stream)
      : ncclAllReduce(data, data, count, ncclFloat32, mean ? ncclAvg : ncclSum, c->comm, c->stream);
  p->what = root >= 0 ? "NCCL broadcast" : "NCCL all-reduce";
  if (int s = settle(c, r, p->what, err, errLen)) return abandon(p, s);
  return endOnCommStream(c, p, pending, err, errLen);
}

int alexnet_nccl_all_gather(void* comm, const float* send, float* recv, size_t outer, const size_t* inner, void* stream,
                            void** pending, char* err, size_t errLen) {
  auto* c = static_cast<Comm*>(comm);
  Pending* p = nullptr;
  if (int s = beginOnCommStream(c, stream, &p, err, errLen)) return s;
  const Blocks b = blocksOf(c, inner);
  // Rows of one column block each are gathered straight into recv; otherwise into rank-major
  // blocks, then moved into their columns.
  float* packed = recv;
  if (outer > 1) {
    void* tmp = nullptr;
    if (cudaError_t e = cudaMallocAsync(&tmp, outer * b.total * sizeof(float), c->stream); e != cudaSuccess)
      return abandon(p, cudaFail(err, errLen, "cudaMallocAsync", e));
    packed = static_cast<float*>(tmp);
  }
  ncclResult_t r = ncclSuccess;
  if (b.equal) {
    r = ncclAllGather(send, packed, outer * inner[0], ncclFloat32, c->comm, c->stream);
  } else {
    // Unequal blocks: one broadcast from each rank, as one group (send is read on its root only;
    // every rank passes a valid pointer).
    ncclGroupStart();
    for (int q = 0; q < c->size && (r == ncclSuccess || r == ncclInProgress); ++q)
      r = ncclBroadcast(send, packed + outer * b.offset[static_cast<size_t>(q)],
                        outer * inner[q], ncclFloat32, q, c->comm, c->stream);
    const ncclResult_t g = ncclGroupEnd();
    if (r == ncclSuccess || r == ncclInProgress) r = g;
  }
  p->what = "NCCL all-gather";
  if (int s = settle(c, r, p->what, err, errLen)) {
    if (packed != recv) cudaFreeAsync(packed, c->stream);
    return abandon(p, s);
  }
  if (packed != recv) {
    cudaError_t e = copyBlocks(c, b, inner, outer, packed, recv, true);
    cudaFreeAsync(packed, c->stream);
    if (e != cudaSuccess) return abandon(p, cudaFail(err, errLen, "cudaMemcpy2DAsync", e));
  }
  return endOnCommStream(c, p, pending, err, errLen);
}

int alexnet_nccl_reduce_scatter(void* comm, const float* send, float* recv, size_t outer, const size_t* inner, int mean,
                                void* stream, void** pending, char* err, size_t errLen) {
  auto* c = static_cast<Comm*>(comm);
  Pending* p = nullptr;
  if (int s = beginOnCommStream(c, stream, &p, err, errLen)) return s;
  const Blocks b = blocksOf(c, inner);
  const float* packed = send;
  void* tmp = nullptr;
  if (outer > 1) {
    if (cudaError_t e = cudaMallocAsync(&tmp, outer * b.total * sizeof(float), c->stream); e != cudaSuccess)
      return abandon(p, cudaFail(err, errLen, "cudaMallocAsync", e));
    if (cudaError_t e = copyBlocks(c, b, inner, outer, static_cast<float*>(tmp), const_cast<float*>(send), false);
        e != cudaSuccess) {
      cudaFreeAsync(tmp, c->stream);
      return abandon(p, cudaFail(err, errLen, "cudaMemcpy2DAsync", e));
    }
    packed = static_cast<const float*>(tmp);
  }
  const ncclRedOp_t op = mean ? ncclAvg : ncclSum;
  ncclResult_t r = ncclSuccess;
  if (b.equal) {
    r = ncclReduceScatter(packed, recv, outer * inner[0], ncclFloat32, op, c->comm, c->stream);
  } else {
    // Unequal blocks: one reduce to each rank, as one group (recv is written on its root only).
    ncclGroupStart();
    size_t at = 0;
    for (int q = 0; q < c->size && (r == ncclSuccess || r == ncclInProgress); ++q) {
      r = ncclReduce(packed + at, recv, outer * inner[q], ncclFloat32, op, q, c->comm, c->stream);
      at += outer * inner[q];
    }
    const ncclResult_t g = ncclGroupEnd();
    if (r == ncclSuccess || r == ncclInProgress) r = g;
  }
  p->what = "NCCL reduce-scatter";
  const int settled = settle(c, r, p->what, err, errLen);
  if (tmp) cudaFreeAsync(tmp, c->stream);  // after the (finished or aborted) transfer on the same stream
  if (settled) return abandon(p, settled);
  return endOnCommStream(c, p, pending, err, errLen);
}

int alexnet_nccl_wait(void* pending, void* stream, char* err, size_t errLen) {
  auto* p = static_cast<Pending*>(pending);
  Comm* c = p->comm;
  // The collective's completion, watched: this (the device's stream thread) waits on the host,
  // bounded by the timeout, instead of letting the compute stream wait on the GPU for ever.
  int status = usable(c, err, errLen);
  if (status == 0) {
    status = watch(c, p->what, [c, p] {
      wd::Look look;
      const cudaError_t q = cudaEventQuery(p->done);
      look.finished = q == cudaSuccess;
      if (q != cudaSuccess && q != cudaErrorNotReady) look.otherError = std::string("cudaEventQuery: ") + cudaGetErrorString(q);
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(c->comm, &state);
      look.asyncState = static_cast<int>(state);
      return look;
    }, err, errLen);
  }
  cudaError_t e = status == 0 ? cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), p->done, 0) : cudaSuccess;
  cudaEventDestroy(p->done);
  delete p;
  if (status) return status;
  return e == cudaSuccess ? 0 : cudaFail(err, errLen, "cudaStreamWaitEvent", e);
}

}  // extern "C"
