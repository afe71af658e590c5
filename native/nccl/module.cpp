// libalexnet_nccl.so: all-reduce and broadcast of CUDA memory with NCCL on a stream of its own,
// ordered with the device's compute stream by events (see module.hpp).
#include "module.hpp"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Comm {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
};

struct Pending {
  cudaEvent_t done = nullptr;
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

int alexnet_nccl_create(int device, int rank, int size, const char* id, size_t idLen, void** comm, char* err,
                        size_t errLen) {
  if (idLen != sizeof(ncclUniqueId)) return fail(err, errLen, "the NCCL id must be 128 bytes");
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return cudaFail(err, errLen, "cudaSetDevice", e);
  auto* c = new Comm();
  c->device = device;
  if (cudaError_t e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking); e != cudaSuccess) {
    delete c;
    return cudaFail(err, errLen, "cudaStreamCreateWithFlags", e);
  }
  ncclUniqueId unique;
  std::memcpy(&unique, id, sizeof unique);
  if (ncclResult_t r = ncclCommInitRank(&c->comm, size, unique, rank); r != ncclSuccess) {
    cudaStreamDestroy(c->stream);
    delete c;
    return ncclFail(err, errLen, "ncclCommInitRank", r);
  }
  *comm = c;
  return 0;
}

void alexnet_nccl_destroy(void* comm) {
  auto* c = static_cast<Comm*>(comm);
  if (!c) return;
  cudaSetDevice(c->device);
  ncclCommDestroy(c->comm);
  cudaStreamDestroy(c->stream);
  delete c;
}

int alexnet_nccl_start(void* comm, float* data, size_t count, int mean, int root, void* stream, void** pending,
                       char* err, size_t errLen) {
  auto* c = static_cast<Comm*>(comm);
  cudaSetDevice(c->device);
  cudaEvent_t ready = nullptr;
  auto* p = new Pending();
  cudaError_t e = cudaEventCreateWithFlags(&ready, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&p->done, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventRecord(ready, static_cast<cudaStream_t>(stream));
  if (e == cudaSuccess) e = cudaStreamWaitEvent(c->stream, ready, 0);
  if (ready) cudaEventDestroy(ready);  // released once the wait above has passed it
  if (e != cudaSuccess) {
    if (p->done) cudaEventDestroy(p->done);
    delete p;
    return cudaFail(err, errLen, "cudaEventRecord", e);
  }
  ncclResult_t r = root >= 0
      ? ncclBroadcast(data, data, count, ncclFloat32, root, c->comm, c->stream)
      : ncclAllReduce(data, data, count, ncclFloat32, mean ? ncclAvg : ncclSum, c->comm, c->stream);
  if (r != ncclSuccess) {
    cudaEventDestroy(p->done);
    delete p;
    return ncclFail(err, errLen, root >= 0 ? "ncclBroadcast" : "ncclAllReduce", r);
  }
  if (cudaError_t e2 = cudaEventRecord(p->done, c->stream); e2 != cudaSuccess) {
    cudaEventDestroy(p->done);
    delete p;
    return cudaFail(err, errLen, "cudaEventRecord", e2);
  }
  *pending = p;
  return 0;
}

int alexnet_nccl_wait(void* pending, void* stream, char* err, size_t errLen) {
  auto* p = static_cast<Pending*>(pending);
  cudaError_t e = cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), p->done, 0);
  cudaEventDestroy(p->done);
  delete p;
  return e == cudaSuccess ? 0 : cudaFail(err, errLen, "cudaStreamWaitEvent", e);
}

}  // extern "C"
