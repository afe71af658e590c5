// Device buffers of one GPU check on a backend of the CUDA module, freed at the end of it, with
// float32, label and 16-bit uploads and downloads (gpu_oracle_check.cpp, ../../nccl/test/nccl_check.cpp).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "alexnet/backend.hpp"
#include "bf16_bounds.hpp"

class Scratch {
 public:
  explicit Scratch(alexnet::Backend& b) : b_(b) {}
  ~Scratch() {
    for (auto& a : allocations_) b_.deallocate(a.first, a.second);
  }
  template <class T>
  T* alloc(size_t count) {
    void* p = b_.allocate(count * sizeof(T));
    allocations_.emplace_back(p, count * sizeof(T));
    return static_cast<T*>(p);
  }
  float* upload(const std::vector<float>& v) {
    float* p = alloc<float>(v.size());
    b_.copyFromHost(p, v.data(), v.size() * sizeof(float));
    return p;
  }
  int32_t* uploadLabels(const std::vector<float>& v) {
    std::vector<int32_t> labels(v.begin(), v.end());
    int32_t* p = alloc<int32_t>(labels.size());
    b_.copyFromHost(p, labels.data(), labels.size() * sizeof(int32_t));
    return p;
  }
  std::vector<float> download(const float* p, size_t count) {
    std::vector<float> v(count);
    b_.copyToHost(v.data(), p, count * sizeof(float));
    return v;
  }
  // bfloat16 and float16 (T): rounded on the host (alexnet/bfloat16.hpp, alexnet/float16.hpp, as
  // the device's casts round), and widened back for comparisons.
  template <class T>
  T* upload16(const std::vector<float>& v) {
    const std::vector<T> rounded = bf16check::roundTo<T>(v);
    auto* p = alloc<T>(v.size());
    b_.copyFromHost(p, rounded.data(), v.size() * sizeof(T));
    return p;
  }
  template <class T>
  std::vector<T> downloadBits(const T* p, size_t count) {
    std::vector<T> v(count);
    b_.copyToHost(v.data(), p, count * sizeof(T));
    return v;
  }
  template <class T>
  std::vector<float> download16(const T* p, size_t count) {
    return bf16check::widen(downloadBits(p, count));
  }

 private:
  alexnet::Backend& b_;
  std::vector<std::pair<void*, size_t>> allocations_;
};
