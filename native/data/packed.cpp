// The packed cache file: written once in parallel with pwrite, read back with pread.
#include "alexnet/data/packed.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "alexnet/data/codec.hpp"
#include "alexnet/data/errors.hpp"
#include "alexnet/data/parallel.hpp"

namespace alexnet::data {
namespace {

constexpr char kMagic[8] = {'A', 'L', 'X', 'P', 'A', 'C', 'K', '1'};
constexpr uint32_t kVersion = 1;
constexpr int64_t kAlign = 4096;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  int64_t count;
  int32_t size;
  int32_t channels;
  uint64_t fingerprint;
  int64_t labelsOffset;
  int64_t flagsOffset;
  int64_t pixelsOffset;
};

// The largest prepared side a cache may hold (the loaders' own bound on `size`).
constexpr int kMaxSize = 65536;

bool mulOverflows(int64_t a, int64_t b, int64_t& out) { return __builtin_mul_overflow(a, b, &out); }
bool addOverflows(int64_t a, int64_t b, int64_t& out) { return __builtin_add_overflow(a, b, &out); }

// The header of a cache of `count` images and its total size in bytes; false when a size does not
// fit in 64 bits (a crafted header must not wrap around to a size that matches its file).
bool layout(int64_t count, int size, int channels, uint64_t fingerprint, Header& h, int64_t& total) {
  h = Header{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.count = count;
  h.size = size;
  h.channels = channels;
  h.fingerprint = fingerprint;
  h.labelsOffset = kAlign;
  int64_t labelBytes, flagsEnd, perImage, pixelBytes;
  if (count < 0 || size <= 0 || size > kMaxSize || (channels != 1 && channels != 3)) return false;
  if (mulOverflows(count, 4, labelBytes) || addOverflows(h.labelsOffset, labelBytes, h.flagsOffset) ||
      addOverflows(h.flagsOffset, count, flagsEnd) || addOverflows(flagsEnd, kAlign - 1, h.pixelsOffset))
    return false;
  h.pixelsOffset = h.pixelsOffset / kAlign * kAlign;
  perImage = int64_t(size) * size * channels;  // <= 2^34: cannot overflow
  return !mulOverflows(count, perImage, pixelBytes) && !addOverflows(h.pixelsOffset, pixelBytes, total);
}

// Reads exactly n bytes at `offset`; a short read means the file shrank after it was checked.
void readAt(int fd, void* out, size_t n, int64_t offset, const std::string& path, const std::string& what) {
  auto* p = static_cast<uint8_t*>(out);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, offset);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) ioError(path, std::strerror(errno), "pread");
    if (r == 0)
      badFile(path, "the cache file ends before " + what + " (it was truncated or overwritten after being opened)",
              "pread");
    p += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
}

void writeAll(int fd, const void* data, size_t n, int64_t offset, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, offset);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ioError(path, w < 0 ? std::strerror(errno) : "no space written", "pwrite");
    p += w;
    n -= static_cast<size_t>(w);
    offset += w;
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

PackedSource::PackedSource(const std::string& path) : path_(path) {
  int64_t fileSize = 0;
  Fd f;
  f.fd = openRegularFile(path, fileSize);
  Header h{};
  if (fileSize < static_cast<int64_t>(sizeof h) || ::pread(f.fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    badFile(path, "too short to be an image cache");
  if (std::memcmp(h.magic, kMagic, 8) != 0) badFile(path, "not an image cache (wrong magic)");
  if (h.version != kVersion) badFile(path, "image cache version " + std::to_string(h.version) + " is not supported");
  // Every image takes at least 6 bytes (label, flag, one pixel): a larger count is a lie, and
  // refusing it before any arithmetic keeps a crafted header from allocating for it.
  if (h.count < 0 || h.count > fileSize / 6 || h.size <= 0 || h.size > kMaxSize || (h.channels != 1 && h.channels != 3))
    badFile(path, "corrupt image cache header (" + std::to_string(h.count) + " images of " + std::to_string(h.size) +
                      "x" + std::to_string(h.size) + "x" + std::to_string(h.channels) + " in " +
                      std::to_string(fileSize) + " bytes)");
  Header expect;
  int64_t total = 0;
  if (!layout(h.count, h.size, h.channels, h.fingerprint, expect, total))
    badFile(path, "corrupt image cache header (its sizes overflow)");
  if (h.labelsOffset != expect.labelsOffset || h.flagsOffset != expect.flagsOffset ||
      h.pixelsOffset != expect.pixelsOffset || fileSize != total)
    badFile(path, "truncated or corrupt image cache: " + std::to_string(fileSize) + " bytes, expected " +
                      std::to_string(total));
  labels_.resize(static_cast<size_t>(h.count));
  flags_.resize(static_cast<size_t>(h.count));
  readAt(f.fd, labels_.data(), labels_.size() * sizeof(int32_t), h.labelsOffset, path, "its labels");
  readAt(f.fd, flags_.data(), flags_.size(), h.flagsOffset, path, "its flags");
  for (size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] < 0)
      badFile(path, "image " + std::to_string(i) + " has label " + std::to_string(labels_[i]) +
                        " (labels are class indices, >= 0)");
  count_ = h.count;
  size_ = h.size;
  channels_ = h.channels;
  fingerprint_ = h.fingerprint;
  pixelsOffset_ = h.pixelsOffset;
  fd_ = f.fd;
  f.fd = -1;
}

PackedSource::~PackedSource() {
  if (fd_ >= 0) ::close(fd_);
}

std::string PackedSource::name(int64_t i) const { return path_ + "[" + std::to_string(i) + "]"; }

int64_t PackedSource::unreadable() const {
  int64_t n = 0;
  for (uint8_t flag : flags_) n += flag != 0;
  return n;
}

ImageView PackedSource::load(int64_t i, int, int, Scratch& scratch) const {
  if (flags_[static_cast<size_t>(i)]) badFile(name(i), "this image could not be decoded when the cache was built");
  const int64_t bytes = int64_t(size_) * size_ * channels_;
  Image& out = scratch.decoded;
  out.reshape(size_, size_, channels_);
  readAt(fd_, out.pixels.data(), static_cast<size_t>(bytes), pixelsOffset_ + i * bytes, path_,
         "image " + std::to_string(i));
  return out.view();
}

PackResult writePacked(const ImageSource& source, const std::string& path, int size, int channels,
                       uint64_t fingerprint, int workers, bool skipBad) {
  const int64_t count = source.size();
  Header h;
  int64_t total = 0;
  if (!layout(count, size, channels, fingerprint, h, total))
    invalidArgument("a cache of " + std::to_string(count) + " images of " + std::to_string(size) + "x" +
                    std::to_string(size) + "x" + std::to_string(channels) + " is not possible (size 1.." +
                    std::to_string(kMaxSize) + ", channels 1 or 3)");
  const size_t perImage = static_cast<size_t>(size) * size * channels;
  const std::string temp = path + ".partial-" + std::to_string(::getpid());
  Fd f;
  f.fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f.fd < 0) ioError(temp, std::strerror(errno), "open");
  try {
    if (::ftruncate(f.fd, total) != 0)
      ioError(temp, std::strerror(errno), "ftruncate");
    std::vector<uint8_t> flags(static_cast<size_t>(count), 0);
    std::vector<int32_t> labels(static_cast<size_t>(count));
    workers = std::max(1, workers);
    std::vector<Scratch> scratch(static_cast<size_t>(workers));
    parallelFor(count, workers, [&](int64_t i, int worker) {
      labels[static_cast<size_t>(i)] = source.label(i);
      ImageView img;
      try {
        img = prepareImage(source, i, size, channels, scratch[static_cast<size_t>(worker)]);
      } catch (const Error& e) {
        if (!skipBad || (e.code() != "BAD_FILE" && e.code() != "IO_ERROR")) throw;
        flags[static_cast<size_t>(i)] = 1;
        return;
      }
      writeAll(f.fd, img.data, perImage, h.pixelsOffset + i * static_cast<int64_t>(perImage), temp);
    });
    writeAll(f.fd, labels.data(), labels.size() * 4, h.labelsOffset, temp);
    writeAll(f.fd, flags.data(), flags.size(), h.flagsOffset, temp);
    // The header last: a file without it is never mistaken for a complete cache.
    writeAll(f.fd, &h, sizeof h, 0, temp);
    if (::fsync(f.fd) != 0) ioError(temp, std::strerror(errno), "fsync");
    ::close(f.fd);
    f.fd = -1;
    if (::rename(temp.c_str(), path.c_str()) != 0) ioError(path, std::strerror(errno), "rename");
    PackResult r;
    for (uint8_t flag : flags) r.unreadable += flag;
    r.images = count - r.unreadable;
    return r;
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
}

}  // namespace alexnet::data
