// Tensors: a shape and a dtype over reference-counted device storage. Work queued on a stream
// holds references to the storage it uses, so disposing a tensor while work on it is pending is
// safe: the block goes back to the cache when the last user is done.
//
// Size limits (checked wherever a shape is made, so no count computed from one can wrap): every
// dimension is in [1, kMaxDimension] (it fits the `int` fields of the backends' geometry structs)
// and a tensor has at most kMaxElements elements (4 TiB of float32, so byte counts and
// any product of a few dimensions stay far from overflowing 64 bits).
//
// Poison: when queued work fails, the storage it should have written keeps that error, and work
// reading poisoned storage does not run but passes the error on to what it writes (see
// Stream::submit). A download of poisoned storage rethrows the original error.
#pragma once

#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alexnet/bfloat16.hpp"
#include "alexnet/device.hpp"
#include "alexnet/float16.hpp"

namespace alexnet {

// BFloat16: alexnet/bfloat16.hpp (activations of mixed-precision training). Float16:
// alexnet/float16.hpp (stored and converted, never computed in).
enum class DType { Float32, Int32, UInt8, BFloat16, Float16 };
const char* dtypeName(DType dtype);
size_t elementSize(DType dtype);

class Storage {
 public:
  Storage(Device& device, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  Device& device() const { return device_; }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  // The error of the work that should have written this block; null when its contents are valid.
  std::exception_ptr poison() const;
  void setPoison(std::exception_ptr error);

 private:
  Device& device_;
  void* data_;
  size_t bytes_;
  mutable std::mutex poisonMutex_;
  std::exception_ptr poison_;
};

using Shape = std::vector<int64_t>;
constexpr int64_t kMaxDimension = 2147483647;          // 2^31 - 1
constexpr int64_t kMaxElements = int64_t(1) << 40;
std::string shapeString(const Shape& shape);
// The number of elements. Throws INVALID_ARGUMENT (never wraps) when a dimension is outside
// [0, kMaxDimension] or the count exceeds kMaxElements.
int64_t shapeNumel(const Shape& shape);
// Throws INVALID_ARGUMENT naming `what` unless every dimension is in [1, kMaxDimension] and the
// count is at most kMaxElements.
void checkShape(const Shape& shape, const char* what = "shape");

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised storage on the device.
  static Tensor empty(Device& device, const Shape& shape, DType dtype = DType::Float32);
  // Reads `data` (numel * elementSize bytes) before returning: on a CPU device straight into the
  // tensor, on a GPU into a page-locked staging block whose upload then runs on the stream.
  static Tensor fromHost(Device& device, const void* data, const Shape& shape,
                         DType dtype = DType::Float32);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shapeNumel(shape_); }
  size_t bytes() const { return static_cast<size_t>(numel()) * elementSize(dtype_); }
  DType dtype() const { return dtype_; }
  Device& device() const { return storage_->device(); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  // Device pointers: valid only inside work running on this tensor's stream.
  float* f32() const { return static_cast<float*>(storage_->data()); }
  int32_t* i32() const { return static_cast<int32_t*>(storage_->data()); }
  BFloat16* bf16() const { return static_cast<BFloat16*>(storage_->data()); }
  Float16* f16() const { return static_cast<Float16*>(storage_->data()); }

  // A view with the same storage and numel.
  Tensor reshape(const Shape& shape) const;
  // Asynchronous download: `ready` becomes ready once all earlier work on the stream is done and
  // `bytes` holds the tensor's contents, or holds the error that poisoned the tensor (the failure
  // of the op that computed it, or of one it was computed from). Failures of unrelated work never
  // reach it.
  struct HostDownload {
    std::shared_ptr<uint8_t> data;  // bytes() bytes; page-locked on CUDA devices
    size_t size = 0;
    std::shared_future<void> ready;
  };
  HostDownload toHostAsync() const;
  // Blocking download into `out` (numel elements of the dtype).
  void toHost(void* out) const;
  // A copy on another device, ordered after the work queued so far on both. Between devices of
  // one kind the source stream first copies into a block of its own (so later in-place work on
  // the source cannot race with the transfer), then the target stream waits for that with an
  // event and copies it over (peer to peer between GPUs). Between a CPU and a GPU the copy is
  // staged through page-locked host memory.
  Tensor to(Device& target) const;

 private:
  Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype)
      : storage_(std::move(storage)), shape_(std::move(shape)), dtype_(dtype) {}
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  DType dtype_ = DType::Float32;
};

}  // namespace alexnet
