#include "alexnet/tensor.hpp"

#include <cstring>

#include "alexnet/error.hpp"

namespace alexnet {

const char* dtypeName(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

size_t elementSize(DType dtype) { return dtype == DType::UInt8 ? 1 : 4; }

std::string shapeString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shapeNumel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Storage::Storage(Device& device, size_t bytes)
    : device_(device), data_(device.allocator().allocate(bytes)), bytes_(bytes) {}

Storage::~Storage() { device_.allocator().release(data_, bytes_); }

static void checkShape(const Shape& shape) {
  for (int64_t d : shape)
    if (d <= 0) invalidArgument("every dimension of a shape must be positive, got " + shapeString(shape));
  if (shapeNumel(shape) > (int64_t(1) << 40)) invalidArgument("shape too large: " + shapeString(shape));
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
  device.stream().submit([storage, staged, bytes](Backend& backend) {
    backend.copyFromHost(storage->data(), staged.get(), bytes);
    backend.retainUntilDone(staged);
  });
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
  device().stream().submit([storage, data = download.data, size = download.size](Backend& backend) {
    backend.copyToHost(data.get(), storage->data(), size);
  });
  download.ready = device().stream().fence();
  return download;
}

void Tensor::toHost(void* out) const {
  HostDownload download = toHostAsync();
  download.ready.get();
  std::memcpy(out, download.data.get(), download.size);
}

namespace {

// Queues `work` on `stream`; the future holds what it returns, or its error (which also stays the
// stream's, for its next fence).
std::shared_future<std::shared_ptr<void>> submitForResult(
    Stream& stream, std::function<std::shared_ptr<void>(Backend&)> work) {
  auto promise = std::make_shared<std::promise<std::shared_ptr<void>>>();
  std::shared_future<std::shared_ptr<void>> result = promise->get_future().share();
  stream.submit([work = std::move(work), promise](Backend& backend) {
    try {
      promise->set_value(work(backend));
    } catch (...) {
      promise->set_exception(std::current_exception());
      throw;
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
    target.stream().submit([src, dst, size](Backend& backend) {
      backend.copyOnDevice(dst->data(), src->data(), size);
    });
    return result;
  }
  // Jobs on one stream never wait for a job queued later on another, so copies in opposite
  // directions cannot deadlock: the target's job waits only for the source's, queued first.
  if (target.kind() == source.kind()) {
    auto snapshot = std::make_shared<Storage>(source, size);
    auto event = submitForResult(source.stream(), [src, snapshot, size](Backend& backend) {
      backend.copyOnDevice(snapshot->data(), src->data(), size);
      return backend.recordEvent();
    });
    const int srcIndex = source.index();
    target.stream().submit([dst, snapshot, size, event, srcIndex](Backend& backend) {
      backend.waitEvent(event.get());
      backend.copyFromPeer(dst->data(), snapshot->data(), srcIndex, size);
      backend.retainUntilDone(snapshot);  // back to the source's cache once the copy has run
    });
    return result;
  }
  // CPU <-> GPU: download into a staging buffer of the GPU side (page-locked), then upload.
  Device& gpu = target.kind() == DeviceKind::Cuda ? target : source;
  std::shared_ptr<uint8_t> staged = gpu.stagingBuffer(size);
  auto downloaded = submitForResult(source.stream(), [src, staged, size](Backend& backend) {
    backend.copyToHost(staged.get(), src->data(), size);  // complete on return
    return std::shared_ptr<void>();
  });
  target.stream().submit([dst, staged, size, downloaded](Backend& backend) {
    downloaded.get();
    backend.copyFromHost(dst->data(), staged.get(), size);
    backend.retainUntilDone(staged);
  });
  return result;
}

}  // namespace alexnet
