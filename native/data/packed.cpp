// The packed cache file: written once in parallel with pwrite, read through mmap.
#include "alexnet/data/packed.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

int64_t alignUp(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

Header layout(int64_t count, int size, int channels, uint64_t fingerprint) {
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.count = count;
  h.size = size;
  h.channels = channels;
  h.fingerprint = fingerprint;
  h.labelsOffset = kAlign;
  h.flagsOffset = h.labelsOffset + count * 4;
  h.pixelsOffset = alignUp(h.flagsOffset + count);
  return h;
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
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) ioError(path, std::strerror(errno), "open");
  struct stat st;
  if (::fstat(f.fd, &st) != 0) ioError(path, std::strerror(errno), "fstat");
  Header h{};
  if (st.st_size < static_cast<off_t>(sizeof h) || ::pread(f.fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    badFile(path, "too short to be an image cache");
  if (std::memcmp(h.magic, kMagic, 8) != 0) badFile(path, "not an image cache (wrong magic)");
  if (h.version != kVersion) badFile(path, "image cache version " + std::to_string(h.version) + " is not supported");
  if (h.count < 0 || h.size <= 0 || (h.channels != 1 && h.channels != 3))
    badFile(path, "corrupt image cache header");
  const Header expect = layout(h.count, h.size, h.channels, h.fingerprint);
  const int64_t total = expect.pixelsOffset + h.count * int64_t(h.size) * h.size * h.channels;
  if (h.labelsOffset != expect.labelsOffset || h.flagsOffset != expect.flagsOffset ||
      h.pixelsOffset != expect.pixelsOffset || st.st_size != total)
    badFile(path, "truncated or corrupt image cache: " + std::to_string(st.st_size) + " bytes, expected " +
                      std::to_string(total));
  mapBytes_ = static_cast<size_t>(total);
  map_ = ::mmap(nullptr, mapBytes_, PROT_READ, MAP_SHARED, f.fd, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    ioError(path, std::strerror(errno), "mmap");
  }
  const auto* base = static_cast<const uint8_t*>(map_);
  count_ = h.count;
  size_ = h.size;
  channels_ = h.channels;
  fingerprint_ = h.fingerprint;
  labels_ = reinterpret_cast<const int32_t*>(base + h.labelsOffset);
  flags_ = base + h.flagsOffset;
  pixels_ = base + h.pixelsOffset;
}

PackedSource::~PackedSource() {
  if (map_) ::munmap(map_, mapBytes_);
}

std::string PackedSource::name(int64_t i) const { return path_ + "[" + std::to_string(i) + "]"; }

int64_t PackedSource::unreadable() const {
  int64_t n = 0;
  for (int64_t i = 0; i < count_; ++i) n += flags_[i] != 0;
  return n;
}

ImageView PackedSource::load(int64_t i, int, int, Scratch&) const {
  if (flags_[i]) badFile(name(i), "this image could not be decoded when the cache was built");
  const size_t bytes = static_cast<size_t>(size_) * size_ * channels_;
  return {pixels_ + static_cast<size_t>(i) * bytes, size_, size_, channels_};
}

PackResult writePacked(const ImageSource& source, const std::string& path, int size, int channels,
                       uint64_t fingerprint, int workers, bool skipBad) {
  const int64_t count = source.size();
  const Header h = layout(count, size, channels, fingerprint);
  const size_t perImage = static_cast<size_t>(size) * size * channels;
  const std::string temp = path + ".partial-" + std::to_string(::getpid());
  Fd f;
  f.fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f.fd < 0) ioError(temp, std::strerror(errno), "open");
  try {
    if (::ftruncate(f.fd, h.pixelsOffset + count * static_cast<int64_t>(perImage)) != 0)
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
