// The pre-processed cache: every image of a source prepared once (size x size, 8-bit) and stored
// in one packed file, so later epochs skip decoding. Images are read back with pread, not through
// a mapping: a file truncated while in use then gives BAD_FILE instead of SIGBUS.
//
// Layout (little-endian): a 4096-byte header
//   char magic[8] = "ALXPACK1"; uint32 version = 1; uint32 reserved; int64 count; int32 size;
//   int32 channels; uint64 fingerprint; int64 labelsOffset; int64 flagsOffset; int64 pixelsOffset
// then int32 labels[count], uint8 flags[count] (1 = could not be decoded when the cache was built)
// and, from pixelsOffset (4096-aligned), count images of size x size x channels bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "alexnet/data/source.hpp"

namespace alexnet::data {

class PackedSource final : public ImageSource {
 public:
  // Throws BAD_FILE if the file is not a complete cache (sizes checked against the file, with
  // overflow-checked arithmetic, before anything is allocated), IO_ERROR if it cannot be read.
  explicit PackedSource(const std::string& path);
  ~PackedSource() override;
  int64_t size() const override { return count_; }
  int32_t label(int64_t i) const override { return labels_[static_cast<size_t>(i)]; }
  std::string name(int64_t i) const override;
  // Reads image i into `scratch`. BAD_FILE for an image that could not be decoded when the cache
  // was built, or that the file no longer holds (it was truncated after being opened).
  ImageView load(int64_t i, int channels, int prepareSize, Scratch& scratch) const override;
  int imageSize() const { return size_; }
  int channels() const { return channels_; }
  uint64_t fingerprint() const { return fingerprint_; }
  int64_t unreadable() const;

 private:
  std::string path_;
  int fd_ = -1;
  int64_t count_ = 0;
  int size_ = 0, channels_ = 0;
  uint64_t fingerprint_ = 0;
  int64_t pixelsOffset_ = 0;
  std::vector<int32_t> labels_;
  std::vector<uint8_t> flags_;
};

struct PackResult {
  int64_t images = 0;
  int64_t unreadable = 0;  // marked in the flags (skipBad), not stored
};

// Prepares every image of `source` with `workers` threads and writes the cache to `path`
// (through a temporary file renamed at the end, so a crash never leaves a half cache). With
// skipBad, undecodable images are flagged instead of failing the whole build.
PackResult writePacked(const ImageSource& source, const std::string& path, int size, int channels,
                       uint64_t fingerprint, int workers, bool skipBad);

}  // namespace alexnet::data
