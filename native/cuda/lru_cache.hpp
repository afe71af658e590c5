// A map with a bound on its size that drops the entry used longest ago: the backend's caches of
// cuDNN descriptors and chosen algorithms per geometry, so that a program that sees many shapes
// (a changing batch size, evaluation at several sizes) does not hold descriptors for all of them.
// Free of CUDA types so that it runs in host tests.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <utility>

namespace alexnet::cuda {

template <class Key, class Value>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // The entry for key, made by make() when missing (which may drop the least recently used one).
  // The reference stays valid until `capacity` other keys have been asked for.
  template <class Make>
  Value& get(const Key& key, Make&& make) {
    auto found = index_.find(key);
    if (found != index_.end()) {
      order_.splice(order_.begin(), order_, found->second);  // now the most recently used
      return *found->second->second;
    }
    std::unique_ptr<Value> value = make();  // may throw: then nothing changes
    if (order_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    return *order_.front().second;
  }

  bool contains(const Key& key) const { return index_.count(key) != 0; }
  size_t size() const { return order_.size(); }
  size_t capacity() const { return capacity_; }
  void clear() {
    index_.clear();
    order_.clear();
  }

 private:
  using Entry = std::pair<Key, std::unique_ptr<Value>>;
  size_t capacity_;
  std::list<Entry> order_;  // most recently used first
  std::map<Key, typename std::list<Entry>::iterator> index_;
};

}  // namespace alexnet::cuda
