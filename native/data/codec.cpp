// JPEG and PNG decoding and encoding.
#include <fcntl.h>
#include <sys/stat.h>
#include <png.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "alexnet/data/codec.hpp"
#include "alexnet/data/errors.hpp"
#include "jpeg.hpp"

namespace alexnet::data {

void ioError(const std::string& file, const std::string& what, const std::string& call) {
  throw Error("IO_ERROR", file + ": " + what, call);
}

namespace {

// Larger images are refused rather than risking gigabytes of pixels for one corrupt header.
constexpr int64_t kMaxPixels = int64_t(1) << 28;

bool isJpeg(const uint8_t* b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
bool isPng(const uint8_t* b, size_t n) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return n >= 8 && std::memcmp(b, sig, 8) == 0;
}

void checkDimensions(const std::string& name, int64_t w, int64_t h) {
  if (w <= 0 || h <= 0 || w * h > kMaxPixels)
    badFile(name, "image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels is empty or too large");
}

// libpng's simplified reader holds its decoder state (about 1.7 KB) until png_image_free, which
// every exit must reach, including the exceptions thrown between begin and finish.
struct PngReader {
  png_image image;
  PngReader() {
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
  }
  ~PngReader() { png_image_free(&image); }  // a no-op once finish_read has freed it
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;
};

void decodePng(const uint8_t* bytes, size_t size, int channels, const std::string& name, Image& out) {
  PngReader png;
  png_image& image = png.image;
  if (!png_image_begin_read_from_memory(&image, bytes, size))
    badFile(name, std::string("not a readable PNG: ") + image.message, "png_image_begin_read_from_memory");
  checkDimensions(name, image.width, image.height);
  image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  out.reshape(static_cast<int>(image.height), static_cast<int>(image.width), channels);
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr))
    badFile(name, std::string("corrupt or truncated PNG: ") + image.message, "png_image_finish_read");
}

// Adobe CMYK JPEGs store inverted ink values, so R = C * K / 255 on the stored bytes.
void cmykTo(const Image& cmyk, Image& out) {
  const size_t n = static_cast<size_t>(out.height) * out.width;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &cmyk.pixels[4 * i];
    uint8_t rgb[3];
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>((p[c] * p[3] + 127) / 255);
    if (out.channels == 3) std::memcpy(&out.pixels[3 * i], rgb, 3);
    else out.pixels[i] = static_cast<uint8_t>((19595u * rgb[0] + 38470u * rgb[1] + 7471u * rgb[2] + 32768u) >> 16);
  }
}

}  // namespace

void Decoder::decodeJpeg(const uint8_t* bytes, size_t size, int channels, int prepareSize, const std::string& name,
                         Image& out) {
  detail::JpegFailure f = detail::decodeJpeg(bytes, size, channels, prepareSize, decoded_);
  if (!f.message.empty()) {
    const bool header = std::string(f.call) == "jpeg_read_header";
    badFile(name, std::string(header ? "not a readable JPEG" : "corrupt or truncated JPEG") + " (" + f.call +
                      "): " + f.message, f.call);
  }
  if (decoded_.channels == 4) {  // CMYK
    out.reshape(decoded_.height, decoded_.width, channels);
    out.originX = decoded_.originX;
    out.fullWidth = decoded_.fullWidth;
    cmykTo(decoded_, out);
  } else {
    std::swap(out, decoded_);
  }
}

void Decoder::decode(const uint8_t* bytes, size_t size, int channels, int prepareSize, const std::string& name,
                     Image& out) {
  if (isJpeg(bytes, size)) decodeJpeg(bytes, size, channels, prepareSize, name, out);
  else if (isPng(bytes, size)) decodePng(bytes, size, channels, name, out);
  else badFile(name, size == 0 ? "empty file" : "neither a JPEG nor a PNG (unknown signature)");
}

void Decoder::decodeFile(const std::string& path, int channels, int prepareSize, Image& out) {
  readFile(path, file_);
  decode(file_.data(), file_.size(), channels, prepareSize, path, out);
}

int openRegularFile(const std::string& path, int64_t& size) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat can
  // tell what it is.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) ioError(path, std::strerror(errno), "open");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    ioError(path, std::strerror(e), "fstat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) ? "a character device"
                     : S_ISBLK(st.st_mode) ? "a block device" : S_ISDIR(st.st_mode) ? "a directory"
                     : S_ISSOCK(st.st_mode) ? "a socket" : "not a regular file";
    badFile(path, std::string("is ") + kind + ", not a regular file");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  size = static_cast<int64_t>(st.st_size);
  return fd;
}

void readFile(const std::string& path, std::vector<uint8_t>& out) {
  int64_t size = 0;
  int fd = openRegularFile(path, size);
  try {
    out.resize(static_cast<size_t>(size));
  } catch (...) {
    ::close(fd);
    throw;
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ioError(path, n == 0 ? "file shrank while being read" : std::strerror(e), "read");
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

std::vector<uint8_t> encodeJpeg(const ImageView& image, int quality) {
  tjhandle tj = tjInitCompress();
  if (!tj) throw Error("INTERNAL", std::string("cannot create a JPEG encoder: ") + tjGetErrorStr2(nullptr), "tjInitCompress");
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  const int subsampling = image.channels == 1 ? TJSAMP_GRAY : TJSAMP_420;
  int rc = tjCompress2(tj, image.data, image.width, 0, image.height, format, &buffer, &size, subsampling, quality, 0);
  std::string message = rc != 0 ? tjGetErrorStr2(tj) : "";
  std::vector<uint8_t> out;
  if (rc == 0) out.assign(buffer, buffer + size);
  tjFree(buffer);
  tjDestroy(tj);
  if (rc != 0) throw Error("INTERNAL", "JPEG encoding failed: " + message, "tjCompress2");
  return out;
}

std::vector<uint8_t> encodePng(const ImageView& image) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.data, 0, nullptr))
    throw Error("INTERNAL", std::string("PNG encoding failed: ") + png.message, "png_image_write_to_memory");
  std::vector<uint8_t> out(size);
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.data, 0, nullptr))
    throw Error("INTERNAL", std::string("PNG encoding failed: ") + png.message, "png_image_write_to_memory");
  out.resize(size);
  return out;
}

}  // namespace alexnet::data
