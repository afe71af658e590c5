// The NCCL module on one GPU, without Node or MPI: what a machine with a single GPU can show of it.
// NCCL refuses two ranks on one GPU, so the collectives run in a communicator of one rank (each
// one's result is its input, or its mean over one rank), formed through the same non-blocking,
// watched path as a real group; that checks every entry point's NCCL and CUDA calls, the polling
// waits and the stream ordering. Then the watchdog itself: a communicator of two ranks that only
// this rank ever joins must fail with the lost-rank status (-2) within its timeout, aborted, not
// hang. Buffers and the stream come from the CUDA module's backend, as in the core.
// Without a GPU (or NCCL) it says so and exits 0, or 1 when ALEXNET_REQUIRE_GPU=1.
// Run: nccl_check libalexnet_nccl.so libalexnet_cuda.so (native/cuda/test/run_checks.sh does).
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../cuda/test/device_scratch.hpp"
#include "../../cuda/test/module_entries.hpp"
#include "../module.hpp"
#include "alexnet/backend.hpp"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", what.c_str(), ok ? "ok" : "FAILED");
  if (!ok) ++failures;
}

struct NcclEntries {
  decltype(&alexnet_nccl_probe) probe = nullptr;
  decltype(&alexnet_nccl_unique_id) uniqueId = nullptr;
  decltype(&alexnet_nccl_create) create = nullptr;
  decltype(&alexnet_nccl_destroy) destroy = nullptr;
  decltype(&alexnet_nccl_start) start = nullptr;
  decltype(&alexnet_nccl_all_gather) allGather = nullptr;
  decltype(&alexnet_nccl_reduce_scatter) reduceScatter = nullptr;
  decltype(&alexnet_nccl_wait) wait = nullptr;

  // 1: loaded; 0: the module does not load here (NCCL itself missing); -1: an entry point missing.
  int open(const char* path) {
    void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      std::printf("dlopen %s failed: %s\n", path, dlerror());
      return 0;
    }
    probe = reinterpret_cast<decltype(probe)>(dlsym(lib, "alexnet_nccl_probe"));
    uniqueId = reinterpret_cast<decltype(uniqueId)>(dlsym(lib, "alexnet_nccl_unique_id"));
    create = reinterpret_cast<decltype(create)>(dlsym(lib, "alexnet_nccl_create"));
    destroy = reinterpret_cast<decltype(destroy)>(dlsym(lib, "alexnet_nccl_destroy"));
    start = reinterpret_cast<decltype(start)>(dlsym(lib, "alexnet_nccl_start"));
    allGather = reinterpret_cast<decltype(allGather)>(dlsym(lib, "alexnet_nccl_all_gather"));
    reduceScatter = reinterpret_cast<decltype(reduceScatter)>(dlsym(lib, "alexnet_nccl_reduce_scatter"));
    wait = reinterpret_cast<decltype(wait)>(dlsym(lib, "alexnet_nccl_wait"));
    const bool all = probe && uniqueId && create && destroy && start && allGather && reduceScatter && wait;
    if (!all) std::printf("an entry point of %s is missing\n", path);
    return all ? 1 : -1;
  }
};

std::vector<float> ramp(size_t n, float from) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = from + 0.25f * static_cast<float>(i);
  return v;
}

// The collectives of one rank: each leaves its data as it was (sum or mean over one rank, a
// broadcast from itself, the gather and the scatter of its own columns).
void checkCollectives(const NcclEntries& nccl, void* comm, alexnet::Backend& b) {
  char err[512] = {0};
  Scratch buf(b);
  void* stream = b.nativeStream();
  const std::vector<float> values = ramp(1 << 20, -3.0f);
  for (int mean = 0; mean <= 1; ++mean) {
    float* data = buf.upload(values);
    void* pending = nullptr;
    int rc = nccl.start(comm, data, values.size(), mean, -1, stream, &pending, err, sizeof err);
    if (rc == 0) rc = nccl.wait(pending, stream, err, sizeof err);
    expect(rc == 0 && buf.download(data, values.size()) == values,
           std::string("all-reduce (") + (mean ? "mean" : "sum") + ") of 2^20 floats over one rank" + (rc ? std::string(": ") + err : ""));
  }
  {
    float* data = buf.upload(values);
    void* pending = nullptr;
    int rc = nccl.start(comm, data, values.size(), 0, 0, stream, &pending, err, sizeof err);
    if (rc == 0) rc = nccl.wait(pending, stream, err, sizeof err);
    expect(rc == 0 && buf.download(data, values.size()) == values, std::string("broadcast from rank 0") + (rc ? std::string(": ") + err : ""));
  }
  {
    // [outer 3, total 5]: this rank owns all five columns.
    const size_t outer = 3, inner[1] = {5};
    const std::vector<float> send = ramp(outer * inner[0], 1.0f);
    float* in = buf.upload(send);
    float* out = buf.upload(std::vector<float>(send.size(), -1.0f));
    void* pending = nullptr;
    int rc = nccl.allGather(comm, in, out, outer, inner, stream, &pending, err, sizeof err);
    if (rc == 0) rc = nccl.wait(pending, stream, err, sizeof err);
    expect(rc == 0 && buf.download(out, send.size()) == send, std::string("all-gather of [3, 5]") + (rc ? std::string(": ") + err : ""));
    float* scattered = buf.upload(std::vector<float>(send.size(), -1.0f));
    rc = nccl.reduceScatter(comm, in, scattered, outer, inner, 1, stream, &pending, err, sizeof err);
    if (rc == 0) rc = nccl.wait(pending, stream, err, sizeof err);
    expect(rc == 0 && buf.download(scattered, send.size()) == send, std::string("reduce-scatter (mean) of [3, 5]") + (rc ? std::string(": ") + err : ""));
  }
  b.synchronize();
}

// A communicator of two ranks that rank 1 never joins: forming it must end, aborted, with the
// lost-rank status within the timeout (and a little polling), not block for ever.
void checkWatchdog(const NcclEntries& nccl) {
  char id[128] = {0}, err[512] = {0};
  if (nccl.uniqueId(id, sizeof id, err, sizeof err) != 0) {
    expect(false, std::string("unique id for the watchdog check: ") + err);
    return;
  }
  const double timeout = 3.0;
  void* comm = nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = nccl.create(0, 0, 2, id, sizeof id, timeout, &comm, err, sizeof err);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("create(rank 0 of 2, rank 1 never joins, timeout %.0f s) = %d after %.1f s: %s\n", timeout, rc, seconds, err);
  expect(rc == -2 && seconds < timeout + 10, "the watchdog reports the missing rank as lost within the timeout");
  if (comm != nullptr) nccl.destroy(comm);
}

}  // namespace

int main(int argc, char** argv) {
  const char* ncclPath = argc > 1 ? argv[1] : "libalexnet_nccl.so";
  const char* cudaPath = argc > 2 ? argv[2] : "libalexnet_cuda.so";
  const char* require = std::getenv("ALEXNET_REQUIRE_GPU");
  const bool requireGpu = require != nullptr && std::string(require) == "1";
  NcclEntries nccl;
  // A machine without NCCL (libnccl.so.2) has nothing to check here, GPU or not.
  if (const int opened = nccl.open(ncclPath); opened <= 0) {
    if (opened == 0) std::printf("NCCL checks skipped: the module does not load (is libnccl.so.2 installed?)\n");
    return opened == 0 ? 0 : 1;
  }
  char text[512] = {0};
  if (nccl.probe(text, sizeof text) != 0) {
    std::printf("NCCL not usable here (%s): NCCL checks %s\n", text, requireGpu ? "FAILED" : "skipped");
    return requireGpu ? 1 : 0;
  }
  std::printf("%s\n", text);
  CudaModuleEntries cuda;
  if (cuda.open(cudaPath) == nullptr) return 1;
  char err[512] = {0};
  alexnet::Backend* b = cuda.create(0, err, sizeof err);
  if (b == nullptr) {
    std::printf("alexnet_cuda_create_backend failed: %s\n", err);
    return 1;
  }
  char id[128] = {0};
  void* comm = nullptr;
  int rc = nccl.uniqueId(id, sizeof id, err, sizeof err);
  if (rc == 0) rc = nccl.create(0, 0, 1, id, sizeof id, 30.0, &comm, err, sizeof err);
  expect(rc == 0, std::string("a communicator of one rank on GPU 0") + (rc ? std::string(": ") + err : ""));
  if (rc == 0) {
    try {
      checkCollectives(nccl, comm, *b);
    } catch (const std::exception& e) {
      expect(false, std::string("collectives: ") + e.what());
    }
    nccl.destroy(comm);
  }
  checkWatchdog(nccl);
  cuda.destroy(b);
  std::printf("%s\n", failures ? "FAILED" : "all NCCL checks ok");
  return failures != 0;
}
