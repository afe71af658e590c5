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
  auto staged = std::make_shared<std::vector<uint8_t>>(t.bytes());
  std::memcpy(staged->data(), data, t.bytes());
  auto storage = t.storage_;
  device.stream().submit([storage, staged](Backend& backend) {
    backend.copyFromHost(storage->data(), staged->data(), staged->size());
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
  download.bytes = std::make_shared<std::vector<uint8_t>>(bytes());
  auto storage = storage_;
  auto bytes = download.bytes;
  device().stream().submit([storage, bytes](Backend& backend) {
    backend.copyToHost(bytes->data(), storage->data(), bytes->size());
  });
  download.ready = device().stream().fence();
  return download;
}

void Tensor::toHost(void* out) const {
  HostDownload download = toHostAsync();
  download.ready.get();
  std::memcpy(out, download.bytes->data(), download.bytes->size());
}

Tensor Tensor::to(Device& target) const {
  Tensor result = empty(target, shape_, dtype_);
  auto src = storage_;
  auto dst = result.storage_;
  auto staged = std::make_shared<std::vector<uint8_t>>(bytes());
  if (&target == &device()) {
    target.stream().submit([src, dst, staged](Backend& backend) {
      backend.copyOnDevice(dst->data(), src->data(), staged->size());
    });
    return result;
  }
  // Download on the source stream, then upload on the target stream once the download is done.
  // Downloads never wait on another stream, so opposite copies cannot deadlock.
  auto downloaded = std::make_shared<std::promise<void>>();
  std::shared_future<void> ready = downloaded->get_future().share();
  device().stream().submit([src, staged, downloaded](Backend& backend) {
    try {
      backend.copyToHost(staged->data(), src->data(), staged->size());
      downloaded->set_value();
    } catch (...) {
      downloaded->set_exception(std::current_exception());
      throw;
    }
  });
  target.stream().submit([dst, staged, ready](Backend& backend) {
    ready.get();
    backend.copyFromHost(dst->data(), staged->data(), staged->size());
  });
  return result;
}

}  // namespace alexnet
