// JPEG decoding through libjpeg-turbo's libjpeg API, which (unlike TurboJPEG 2.1) can decode a
// window of columns. Internal to native/data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "alexnet/data/image.hpp"

namespace alexnet::data::detail {

struct JpegFailure {
  std::string message;  // empty on success
  const char* call = "";
};

// Decodes to `channels` (1 or 3), or to 4 (CMYK, as stored) when the file is CMYK/YCCK. With
// prepareSize > 0 the image is headed for resizeShorterSideCentreCrop(prepareSize): it is decoded
// at a DCT scale of 1/2, 1/4 or 1/8 when that keeps its shorter side >= prepareSize, and only the
// columns the resize reads are produced (`out` is then a window, see ImageView). Every row's
// entropy data is still decoded, so a truncated or corrupt file fails wherever the damage is.
// Warnings count as failures.
JpegFailure decodeJpeg(const uint8_t* bytes, size_t size, int channels, int prepareSize, Image& out);

}  // namespace alexnet::data::detail
