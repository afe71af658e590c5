// IDX files (LeCun's MNIST format, used by Fashion-MNIST), gzip-compressed or plain: zlib's gzread
// reads both.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "alexnet/data/codec.hpp"
#include "alexnet/data/errors.hpp"
#include "alexnet/data/readers.hpp"

namespace alexnet::data {
namespace {

struct GzFile {
  gzFile f = nullptr;
  ~GzFile() {
    if (f) gzclose(f);
  }
};

// Reads exactly n bytes or throws BAD_FILE ("truncated") / IO_ERROR naming the file. `before` and
// `total` place the n bytes within a longer read, for the message.
void readExactly(GzFile& gz, const std::string& path, uint8_t* out, size_t n, const char* what,
                 size_t before = 0, size_t total = 0) {
  size_t done = 0;
  while (done < n) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, size_t(1) << 30));
    int got = gzread(gz.f, out + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(gz.f, &code);
      if (code == Z_ERRNO) ioError(path, std::strerror(errno), "gzread");
      badFile(path, std::string("corrupt gzip data while reading ") + what + ": " + message, "gzread");
    }
    if (got == 0) {
      int code = 0;
      const char* message = gzerror(gz.f, &code);
      badFile(path, "truncated: expected " + std::to_string(total ? total : n) + " bytes of " + what + ", found " +
                        std::to_string(before + done) + (code != Z_OK ? std::string(" (") + message + ")" : ""));
    }
    done += static_cast<size_t>(got);
  }
}

// Reads the n bytes a header announces into `out`, which grows only as data arrives: a header
// may claim far more than its file holds (compressed, the file's size does not say), and memory
// is not committed for bytes that are not there.
void readAnnounced(GzFile& gz, const std::string& path, std::vector<uint8_t>& out, size_t n, const char* what) {
  constexpr size_t kPiece = size_t(1) << 24;
  out.clear();
  while (out.size() < n) {
    const size_t at = out.size(), piece = std::min(n - at, kPiece);
    out.resize(at + piece);
    readExactly(gz, path, out.data() + at, piece, what, at, n);
  }
}

uint32_t bigEndian(const uint8_t* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

// Opens an IDX file and checks its magic (0x0000 08 <dims>: unsigned bytes, `dims` dimensions).
std::vector<uint32_t> openIdx(GzFile& gz, const std::string& path, int dims) {
  int64_t size = 0;
  const int fd = openRegularFile(path, size);  // a FIFO would block gzopen
  gz.f = gzdopen(fd, "rb");
  if (!gz.f) {
    ::close(fd);
    ioError(path, "cannot start reading", "gzdopen");
  }
  gzbuffer(gz.f, 1 << 20);
  uint8_t header[4];
  readExactly(gz, path, header, 4, "header");
  const uint32_t magic = bigEndian(header);
  const uint32_t expected = 0x00000800u | uint32_t(dims);
  if (magic != expected) {
    char found[16], want[16];
    std::snprintf(found, sizeof found, "0x%08X", magic);
    std::snprintf(want, sizeof want, "0x%08X", expected);
    badFile(path, std::string("wrong IDX magic ") + found + ", expected " + want + " (unsigned bytes, " +
                      std::to_string(dims) + " dimensions)");
  }
  std::vector<uint32_t> shape(dims);
  for (int d = 0; d < dims; ++d) {
    readExactly(gz, path, header, 4, "header");
    shape[d] = bigEndian(header);
  }
  return shape;
}

}  // namespace

std::shared_ptr<MemorySource> readIdx(const std::string& imagesPath, const std::string& labelsPath, int numClasses) {
  if (numClasses < 1) invalidArgument("numClasses must be >= 1, got " + std::to_string(numClasses));
  GzFile images, labels;
  std::vector<uint32_t> imageShape = openIdx(images, imagesPath, 3);
  std::vector<uint32_t> labelShape = openIdx(labels, labelsPath, 1);
  const uint64_t count = imageShape[0], rows = imageShape[1], cols = imageShape[2];
  // count < 2^32 and rows, cols <= 2^16: the product fits in 64 bits.
  if (rows == 0 || cols == 0 || rows > 65536 || cols > 65536 || count * rows * cols > (uint64_t(1) << 36))
    badFile(imagesPath, "implausible image dimensions " + std::to_string(count) + "x" + std::to_string(rows) + "x" +
                            std::to_string(cols));
  if (labelShape[0] != count)
    badFile(labelsPath, "holds " + std::to_string(labelShape[0]) + " labels but " + imagesPath + " holds " +
                            std::to_string(count) + " images");

  std::vector<uint8_t> pixels;
  readAnnounced(images, imagesPath, pixels, count * rows * cols, "pixels");
  std::vector<uint8_t> raw;
  readAnnounced(labels, labelsPath, raw, count, "labels");
  for (size_t i = 0; i < raw.size(); ++i)
    if (raw[i] >= numClasses)
      badFile(labelsPath, "label " + std::to_string(raw[i]) + " of image " + std::to_string(i) + " is outside the " +
                              std::to_string(numClasses) + " classes (0.." + std::to_string(numClasses - 1) + ")");
  std::vector<int32_t> labelValues(raw.begin(), raw.end());
  std::string name = imagesPath.substr(imagesPath.find_last_of('/') + 1);
  return std::make_shared<MemorySource>(std::move(pixels), std::move(labelValues), static_cast<int>(rows),
                                        static_cast<int>(cols), 1, name);
}

}  // namespace alexnet::data
