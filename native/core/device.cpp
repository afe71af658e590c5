#include "alexnet/device.hpp"

#include <cctype>
#include <map>
#include <unordered_map>

#include "../cpu/cpu_backend.hpp"
#include "alexnet/error.hpp"
#include "cuda_loader.hpp"

namespace alexnet {
namespace {

struct ParsedName {
  DeviceKind kind;
  int index;
  int lane;
  std::string canonical;
};

bool smallNumber(const std::string& s) {
  bool digits = !s.empty() && s.size() <= 4;
  for (char c : s) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  return digits;
}

ParsedName parseDeviceName(const std::string& name) {
  std::string kind = name, index = "0", lane = "0";
  auto slash = name.find('/');
  if (slash != std::string::npos) {
    kind = name.substr(0, slash);
    lane = name.substr(slash + 1);
  }
  auto colon = kind.find(':');
  if (colon != std::string::npos) {
    index = kind.substr(colon + 1);
    kind = kind.substr(0, colon);
  }
  if ((kind != "cpu" && kind != "cuda") || !smallNumber(index) || !smallNumber(lane))
    invalidArgument("device must be \"cpu\", \"cpu:N\", \"cuda\" or \"cuda:N\", optionally with a stream "
                    "\"/L\" (\"cuda:0/1\"), got \"" + name + "\"");
  const int i = std::stoi(index), l = std::stoi(lane);
  std::string canonical = kind + ":" + std::to_string(i) + (l > 0 ? "/" + std::to_string(l) : "");
  return {kind == "cpu" ? DeviceKind::Cpu : DeviceKind::Cuda, i, l, canonical};
}

// Devices live for the whole process: their stream threads may still hold work at exit.
std::mutex& registryMutex() {
  static auto* m = new std::mutex();
  return *m;
}
std::map<std::string, Device*>& registry() {
  static auto* r = new std::map<std::string, Device*>();
  return *r;
}
int requestedThreads = 0;  // 0: none set (guarded by registryMutex)

}  // namespace

Device::Device(std::string name, DeviceKind kind, int index, int lane,
               std::unique_ptr<Backend> backend, std::function<void(Backend*)> destroyBackend)
    : name_(std::move(name)), kind_(kind), index_(index), lane_(lane), backend_(std::move(backend)),
      destroyBackend_(std::move(destroyBackend)) {
  allocator_ = std::make_unique<CachingAllocator>(*backend_);
  hostAllocator_ = std::make_unique<CachingAllocator>(*backend_, CachingAllocator::Memory::Host);
  backend_->setBlockSource(allocator_.get());
  stream_ = std::make_unique<Stream>(*backend_, name_);
}

Device::~Device() {
  stream_.reset();
  backend_->setBlockSource(nullptr);
  allocator_.reset();
  hostAllocator_.reset();
  if (destroyBackend_) destroyBackend_(backend_.release());
}

Device& Device::get(const std::string& name) {
  // Devices live for the whole process, so a name once resolved stays valid: each thread keeps
  // what it resolved, and the common case (every tensor creation names its device) neither parses
  // nor locks. Names are cached as given ("cpu" and "cpu:0" are two entries for one device).
  thread_local std::unordered_map<std::string, Device*> resolved;
  auto known = resolved.find(name);
  if (known != resolved.end()) return *known->second;
  Device& device = resolve(name);
  if (resolved.size() < 64) resolved.emplace(name, &device);  // bounded: names come from users
  return device;
}

Device& Device::resolve(const std::string& name) {
  ParsedName parsed = parseDeviceName(name);
  std::lock_guard<std::mutex> lock(registryMutex());
  auto& devices = registry();
  auto it = devices.find(parsed.canonical);
  if (it != devices.end()) return *it->second;
  Device* device;
  if (parsed.kind == DeviceKind::Cpu) {
    device = new Device(parsed.canonical, DeviceKind::Cpu, parsed.index, parsed.lane,
                        createCpuBackend());
    const int count = requestedThreads;
    if (count > 0) device->stream().submit([count](Backend& backend) { backend.setNumThreads(count); });
  } else {
    Backend* backend = cuda_loader::createBackend(parsed.index);
    device = new Device(parsed.canonical, DeviceKind::Cuda, parsed.index, parsed.lane,
                        std::unique_ptr<Backend>(backend), cuda_loader::destroyBackend);
  }
  devices[parsed.canonical] = device;
  return *device;
}

std::string Device::cudaStatus() {
  std::string why;
  int count = cuda_loader::deviceCount(&why);
  if (count > 0) return "available: " + std::to_string(count) + " device(s)";
  return "unavailable: " + why;
}

int Device::cudaDeviceCount() { return cuda_loader::deviceCount(nullptr); }

std::string Device::describeCuda(int index) { return cuda_loader::describe(index); }

void Device::synchronize() { stream_->fence().get(); }

std::shared_ptr<uint8_t> Device::stagingBuffer(size_t bytes) {
  if (kind_ == DeviceKind::Cpu) {
    // Plain memory: caching it would only keep a second copy of every upload's size around.
    return std::shared_ptr<uint8_t>(new uint8_t[bytes == 0 ? 1 : bytes], std::default_delete<uint8_t[]>());
  }
  CachingAllocator* cache = hostAllocator_.get();
  void* block = cache->allocate(bytes);
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(block),
                                  [cache, bytes](uint8_t* p) { cache->release(p, bytes); });
}

void Device::setTensorFloat32(bool enable) {
  if (enable && kind_ != DeviceKind::Cuda)
    invalidArgument("TF32 exists only on CUDA devices; " + name_ + " always computes in FP32");
  tf32_ = enable;
  stream_->submit([enable](Backend& backend) { backend.setTensorFloat32(enable); });
}

void Device::setDeterministic(bool enable) {
  deterministic_ = enable;
  stream_->submit([enable](Backend& backend) { backend.setDeterministic(enable); });
}

void Device::setNumThreads(int count) {
  if (count < 1 || count > kMaxThreads)
    invalidArgument("threads must be an integer from 1 to " + std::to_string(kMaxThreads) + ", got " +
                    std::to_string(count));
  std::lock_guard<std::mutex> lock(registryMutex());
  requestedThreads = count;
  for (auto& [name, device] : registry()) {
    if (device->kind() != DeviceKind::Cpu) continue;
    device->stream().submit([count](Backend& backend) { backend.setNumThreads(count); });
  }
}

int Device::numThreads() {
  std::lock_guard<std::mutex> lock(registryMutex());
  return requestedThreads > 0 ? requestedThreads : cpuDefaultThreads();
}

void Device::drainAll() {
  std::vector<Device*> devices;
  {
    std::lock_guard<std::mutex> lock(registryMutex());
    for (auto& [name, device] : registry()) devices.push_back(device);
  }
  for (Device* device : devices) device->stream().fence().wait();
}

void Device::shutdownAll() {
  drainAll();  // every stream still running, so work that waits on another device can finish
  std::vector<Device*> devices;
  {
    std::lock_guard<std::mutex> lock(registryMutex());
    for (auto& [name, device] : registry()) devices.push_back(device);
  }
  for (Device* device : devices) device->stream().shutdown();
}

}  // namespace alexnet
