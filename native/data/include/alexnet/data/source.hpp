// Where images come from. A source knows how many images it has, their labels, and how to load
// image i as 8-bit HWC pixels; prepareImage() then gives every consumer (statistics, the packed
// cache, the batch pipeline) the same size x size square.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "alexnet/data/codec.hpp"
#include "alexnet/data/image.hpp"

namespace alexnet::data {

// Per-thread buffers for loading and preparing one image at a time.
struct Scratch {
  Decoder decoder;
  Image decoded, converted, resized;
  ResizeScratch resize;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual int64_t size() const = 0;
  virtual int32_t label(int64_t i) const = 0;
  // What to call image i in an error message (a file name, or "file[i]").
  virtual std::string name(int64_t i) const = 0;
  // Image i as stored or decoded, possibly pointing into `scratch`. `channels` and `prepareSize`
  // (the prepareImage size, 0 for none) are hints a decoder may use to do less work (see
  // Decoder::decode); the result may ignore them.
  virtual ImageView load(int64_t i, int channels, int prepareSize, Scratch& scratch) const = 0;
};

// Images held in memory, all of one shape: [count, height, width, channels] uint8.
class MemorySource final : public ImageSource {
 public:
  MemorySource(std::vector<uint8_t> pixels, std::vector<int32_t> labels, int height, int width,
               int channels, std::string name);
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int32_t label(int64_t i) const override { return labels_[static_cast<size_t>(i)]; }
  std::string name(int64_t i) const override;
  ImageView load(int64_t i, int channels, int prepareSize, Scratch& scratch) const override;
  const std::vector<int32_t>& labels() const { return labels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  int channels() const { return channels_; }

 private:
  std::vector<uint8_t> pixels_;
  std::vector<int32_t> labels_;
  int height_, width_, channels_;
  std::string name_;
};

// JPEG or PNG files, decoded when loaded.
class FileSource final : public ImageSource {
 public:
  FileSource(std::vector<std::string> paths, std::vector<int32_t> labels);
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  int32_t label(int64_t i) const override { return labels_[static_cast<size_t>(i)]; }
  std::string name(int64_t i) const override { return paths_[static_cast<size_t>(i)]; }
  ImageView load(int64_t i, int channels, int prepareSize, Scratch& scratch) const override;

 private:
  std::vector<std::string> paths_;
  std::vector<int32_t> labels_;
};

// Some images of another source, in a given order (a --limit, a train/validation split).
class SubsetSource final : public ImageSource {
 public:
  SubsetSource(std::shared_ptr<const ImageSource> base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  int32_t label(int64_t i) const override { return base_->label(at(i)); }
  std::string name(int64_t i) const override { return base_->name(at(i)); }
  ImageView load(int64_t i, int channels, int prepareSize, Scratch& scratch) const override {
    return base_->load(at(i), channels, prepareSize, scratch);
  }

 private:
  int64_t at(int64_t i) const { return indices_[static_cast<size_t>(i)]; }
  std::shared_ptr<const ImageSource> base_;
  std::vector<int64_t> indices_;
};

// Image i converted to `channels` channels, resized so the shorter side is `size` and centre
// cropped to size x size. Returns a view of `scratch` or of the source's own storage.
ImageView prepareImage(const ImageSource& source, int64_t i, int size, int channels, Scratch& scratch);

}  // namespace alexnet::data
