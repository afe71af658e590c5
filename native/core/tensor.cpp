#include "alexnet/tensor.hpp"

#include <cstring>

#include "alexnet/error.hpp"

namespace alexnet {

const char* dtypeName(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
    case DType::BFloat16: return "bfloat16";
    case DType::Float16: return "float16";
  }
  return "?";
}

size_t elementSize(DType dtype) {
  switch (dtype) {
    case DType::UInt8: return 1;
    case DType::BFloat16:
    case DType::Float16: return 2;
    default: return 4;
  }
}

std::string shapeString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shapeNumel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxDimension)
      invalidArgument("every dimension of a shape must be in [1, " + std::to_string(kMaxDimension) +
                      "], got " + shapeString(shape));
    if (d != 0 && n > kMaxElements / d)
      invalidArgument("shape " + shapeString(shape) + " has more than the maximum 2^40 elements");
    n *= d;
  }
  if (n > kMaxElements) invalidArgument("shape " + shapeString(shape) + " has more than the maximum 2^40 elements");
  return n;
}

void checkShape(const Shape& shape, const char* what) {
  for (int64_t d : shape)
    if (d < 1 || d > kMaxDimension)
      invalidArgument(std::string("every dimension of ") + what + " must be in [1, " +
                      std::to_string(kMaxDimension) + "], got " + shapeString(shape));
  try {
    shapeNumel(shape);
  } catch (const Error&) {
    invalidArgument(std::string(what) + " " + shapeString(shape) + " has more than the maximum 2^40 elements");
  }
}

Storage::Storage(Device& device, size_t bytes)
    : device_(device), data_(device.allocator().allocate(bytes)), bytes_(bytes) {}

Storage::~Storage() { device_.allocator().release(data_, bytes_); }

std::exception_ptr Storage::poison() const {
  std::lock_guard<std::mutex> lock(poisonMutex_);
  return poison_;
}

void Storage::setPoison(std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(poisonMutex_);
  poison_ = std::move(error);
}

Tensor Tensor::empty(Device& device, const Shape& shape, DType dtype) {
  checkShape(shape);
  auto storage = std::make_shared<Storage>(device, static_cast<size_t>(shapeNumel(shape)) * elementSize(dtype));
  return Tensor(std::move(storage), shape, dtype);
}

Tensor Tensor::fromHost(Device& device, const void* data, const Shape& shape, DType dtype) {
  Tensor t = empty(device, shape, dtype);
  const size_t bytes = t.bytes();
  if (device.kind() == DeviceKind::Cpu) {
    // Host memory that no queued work uses: a block returns to the cache only after the last job
    // holding it has run, and CPU jobs are finished when they return. So copy straight in.
    std::memcpy(t.storage_->data(), data, bytes);
    return t;
  }
  std::shared_ptr<uint8_t> staged = device.stagingBuffer(bytes);
  std::memcpy(staged.get(), data, bytes);
  auto storage = t.storage_;
  device.stream().submit(
      [storage, staged, bytes](Backend& backend) {
        backend.copyFromHost(storage->data(), staged.get(), bytes);
        backend.retainUntilDone(staged);
      },
      {}, {storage});
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  checkShape(shape);
  if (shapeNumel(shape) != numel())
    invalidArgument("cannot reshape " + shapeString(shape_) + " (" + std::to_string(numel()) +
                    " elements) to " + shapeString(shape) + " (" +
                    std::to_string(shapeNumel(shape)) + " elements)");
  return Tensor(storage_, shape, dtype_);
}

Tensor::HostDownload Tensor::toHostAsync() const {
  HostDownload download;
  download.size = bytes();
  download.data = device().stagingBuffer(download.size);
  auto storage = storage_;
  auto promise = std::make_shared<std::promise<void>>();
  download.ready = promise->get_future().share();
  // A read, not an op: it writes no tensor, so its outcome goes to this download alone (a poisoned
  // tensor's error, or the copy's own failure), never to the stream's next fence.
  device().stream().submit([storage, promise, data = download.data, size = download.size](Backend& backend) {
    try {
      if (std::exception_ptr poison = storage->poison()) std::rethrow_exception(poison);
      backend.copyToHost(data.get(), storage->data(), size);  // complete on return
      promise->set_value();
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  return download;
}

void Tensor::toHost(void* out) const {
  HostDownload download = toHostAsync();
  download.ready.get();
  std::memcpy(out, download.data.get(), download.size);
}

namespace {

// Queues `work`, which reads `source`, on `stream`; the future holds what it returns, or its
// error: the poison of `source`, or its own failure. The consumer of the future (the other half of
// a copy, on the target stream) passes the error on to what it writes.
std::shared_future<std::shared_ptr<void>> submitForResult(
    Stream& stream, const StorageRef& source, std::function<std::shared_ptr<void>(Backend&)> work) {
  auto promise = std::make_shared<std::promise<std::shared_ptr<void>>>();
  std::shared_future<std::shared_ptr<void>> result = promise->get_future().share();
  stream.submit([source, work = std::move(work), promise](Backend& backend) {
    try {
      if (std::exception_ptr poison = source->poison()) std::rethrow_exception(poison);
      promise->set_value(work(backend));
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  return result;
}

}  // namespace

Tensor Tensor::to(Device& target) const {
  Tensor result = empty(target, shape_, dtype_);
  auto src = storage_;
  auto dst = result.storage_;
  const size_t size = bytes();
  Device& source = device();
  if (&target == &source) {
    target.stream().submit(
        [src, dst, size](Backend& backend) { backend.copyOnDevice(dst->data(), src->data(), size); },
        {src}, {dst});
    return result;
  }
  // Jobs on one stream never wait for a job queued later on another, so copies in opposite
  // directions cannot deadlock: the target's job waits only for the source's, queued first.
  if (target.kind() == source.kind()) {
    auto snapshot = std::make_shared<Storage>(source, size);
    auto event = submitForResult(source.stream(), src, [src, snapshot, size](Backend& backend) {
      backend.copyOnDevice(snapshot->data(), src->data(), size);
      return backend.recordEvent();
    });
    const int srcIndex = source.index();
    target.stream().submit(
        [snapshot, size, event, srcIndex, dst](Backend& backend) {
          backend.waitEvent(event.get());  // rethrows the source half's error
          backend.copyFromPeer(dst->data(), snapshot->data(), srcIndex, size);
          backend.retainUntilDone(snapshot);  // back to the source's cache once the copy has run
        },
        {}, {dst});
    return result;
  }
  // CPU <-> GPU: download into a staging buffer of the GPU side (page-locked), then upload.
  Device& gpu = target.kind() == DeviceKind::Cuda ? target : source;
  std::shared_ptr<uint8_t> staged = gpu.stagingBuffer(size);
  auto downloaded = submitForResult(source.stream(), src, [src, staged, size](Backend& backend) {
    backend.copyToHost(staged.get(), src->data(), size);  // complete on return
    return std::shared_ptr<void>();
  });
  target.stream().submit(
      [staged, size, downloaded, dst](Backend& backend) {
        downloaded.get();  // rethrows the source half's error
        backend.copyFromHost(dst->data(), staged.get(), size);
        backend.retainUntilDone(staged);
      },
      {}, {dst});
  return result;
}

}  // namespace alexnet
