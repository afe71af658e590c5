// JPEG (libjpeg-turbo: its libjpeg API to decode, TurboJPEG to encode) and PNG (libpng's
// simplified API) decoding, recognised by their signatures, and encoding for tools and tests.
// Failures throw alexnet::Error with code BAD_FILE (undecodable content) or IO_ERROR (unreadable
// file), naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "alexnet/data/image.hpp"

namespace alexnet::data {

// Per-thread decoder state: the buffers it reuses.
class Decoder {
 public:
  // Decodes `bytes` to `channels` (1 or 3) channels. With prepareSize > 0 the caller will resize
  // the image so its shorter side is prepareSize and keep the centred square
  // (resizeShorterSideCentreCrop); a JPEG is then decoded at a DCT scale of 1/2, 1/4 or 1/8 when
  // that keeps the shorter side >= prepareSize, and only the columns that resize reads are
  // decoded (`out` may be a window, see ImageView).
  void decode(const uint8_t* bytes, size_t size, int channels, int prepareSize, const std::string& name, Image& out);
  // readFile + decode.
  void decodeFile(const std::string& path, int channels, int prepareSize, Image& out);

 private:
  void decodeJpeg(const uint8_t* bytes, size_t size, int channels, int prepareSize, const std::string& name,
                  Image& out);
  Image decoded_;  // the JPEG decoder's output, swapped into the caller's image (no copy)
  std::vector<uint8_t> file_;
};

// Reads a whole file; IO_ERROR naming it (and errno's text) on failure, BAD_FILE if it is not a
// regular file (see openRegularFile).
void readFile(const std::string& path, std::vector<uint8_t>& out);

// Opens a regular file for reading and returns its descriptor (the caller closes it) and size. A
// FIFO, device, socket or directory is BAD_FILE naming the file: reading one could block forever
// or never end. IO_ERROR if it cannot be opened.
int openRegularFile(const std::string& path, int64_t& size);

std::vector<uint8_t> encodeJpeg(const ImageView& image, int quality);
std::vector<uint8_t> encodePng(const ImageView& image);

}  // namespace alexnet::data
