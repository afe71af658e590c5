// Image sources held in memory or decoded from files, and the shared preparation step.
#include "alexnet/data/source.hpp"

#include "alexnet/error.hpp"

namespace alexnet::data {

MemorySource::MemorySource(std::vector<uint8_t> pixels, std::vector<int32_t> labels, int height, int width,
                           int channels, std::string name)
    : pixels_(std::move(pixels)), labels_(std::move(labels)), height_(height), width_(width),
      channels_(channels), name_(std::move(name)) {
  if (pixels_.size() != labels_.size() * static_cast<size_t>(height) * width * channels)
    invalidArgument("image data holds " + std::to_string(pixels_.size()) + " bytes, expected " +
                    std::to_string(labels_.size()) + " images of " + std::to_string(height) + "x" +
                    std::to_string(width) + "x" + std::to_string(channels));
}

std::string MemorySource::name(int64_t i) const { return name_ + "[" + std::to_string(i) + "]"; }

ImageView MemorySource::load(int64_t i, int, int, Scratch&) const {
  const size_t bytes = static_cast<size_t>(height_) * width_ * channels_;
  return {pixels_.data() + static_cast<size_t>(i) * bytes, height_, width_, channels_};
}

FileSource::FileSource(std::vector<std::string> paths, std::vector<int32_t> labels)
    : paths_(std::move(paths)), labels_(std::move(labels)) {
  if (paths_.size() != labels_.size())
    invalidArgument(std::to_string(paths_.size()) + " paths but " + std::to_string(labels_.size()) + " labels");
}

ImageView FileSource::load(int64_t i, int channels, int prepareSize, Scratch& scratch) const {
  scratch.decoder.decodeFile(paths_[static_cast<size_t>(i)], channels, prepareSize, scratch.decoded);
  return scratch.decoded.view();
}

SubsetSource::SubsetSource(std::shared_ptr<const ImageSource> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  for (int64_t i : indices_)
    if (i < 0 || i >= base_->size())
      invalidArgument("index " + std::to_string(i) + " is outside the source's " + std::to_string(base_->size()) + " images");
}

ImageView prepareImage(const ImageSource& source, int64_t i, int size, int channels, Scratch& scratch) {
  ImageView v = source.load(i, channels, size, scratch);
  // Convert where there are fewer channels to move: RGB -> grey before resizing, grey -> RGB after.
  if (v.channels > channels) {
    convertChannels(v, channels, scratch.converted);
    v = scratch.converted.view();
  }
  if (v.height != size || v.width != size || v.columns() != size) {
    resizeShorterSideCentreCrop(v, size, scratch.resized, scratch.resize);
    v = scratch.resized.view();
  }
  if (v.channels < channels) {
    convertChannels(v, channels, scratch.converted);
    v = scratch.converted.view();
  }
  return v;
}

}  // namespace alexnet::data
