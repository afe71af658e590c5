// libjpeg reports errors by calling error_exit, which must not return: it longjmps back to
// decodeJpeg. Nothing with a destructor lives in the frame between setjmp and the jump.
#include "jpeg.hpp"

#include <cstdio>
#include <csetjmp>
#include <jpeglib.h>

#include <algorithm>
#include <new>

namespace alexnet::data::detail {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void onError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Level -1 is a warning (corrupt data, premature end of file): a failure for training images.
void onMessage(j_common_ptr cinfo, int level) {
  if (level < 0) onError(cinfo);
}

bool allocate(Image& out, int h, int w, int c) {
  try {
    out.reshape(h, w, c);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

constexpr long kMaxPixels = long(1) << 28;

}  // namespace

JpegFailure decodeJpeg(const uint8_t* bytes, size_t size, int channels, int prepareSize, Image& out) {
  JpegFailure failure;
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = onError;
  err.pub.emit_message = onMessage;
  err.message[0] = '\0';
  // The pointer itself must be volatile (not the chars it points to): it changes between setjmp
  // and longjmp, and only a volatile object is sure to hold its latest value after the jump.
  const char* volatile call = "jpeg_create_decompress";
  volatile bool created = false;
  if (setjmp(err.jump)) {
    if (created) jpeg_destroy_decompress(&cinfo);
    failure.message = err.message;
    failure.call = call;
    return failure;
  }
  jpeg_create_decompress(&cinfo);
  created = true;
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
  call = "jpeg_read_header";
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
      static_cast<long>(cinfo.image_width) * static_cast<long>(cinfo.image_height) > kMaxPixels) {
    std::snprintf(err.message, sizeof err.message, "image of %ux%u pixels is empty or too large",
                  cinfo.image_width, cinfo.image_height);
    std::longjmp(err.jump, 1);
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  // 1/2, 1/4, 1/8 only: libjpeg-turbo's other DCT scales are not SIMD and decode slower than 1/1.
  const unsigned shorter = std::min(cinfo.image_width, cinfo.image_height);
  cinfo.scale_num = 1;
  cinfo.scale_denom = 1;
  for (unsigned denom = 2; prepareSize > 0 && denom <= 8 && (shorter + denom - 1) / denom >= unsigned(prepareSize); denom *= 2)
    cinfo.scale_denom = denom;
  call = "jpeg_start_decompress";
  jpeg_start_decompress(&cinfo);
  const int fullWidth = static_cast<int>(cinfo.output_width);
  JDIMENSION x0 = 0, width = cinfo.output_width;
  if (prepareSize > 0) {
    int first = 0, last = fullWidth;
    neededColumns(static_cast<int>(cinfo.output_height), fullWidth, prepareSize, first, last);
    if (first > 0 || last < fullWidth) {
      x0 = static_cast<JDIMENSION>(first);
      width = static_cast<JDIMENSION>(last - first);
      call = "jpeg_crop_scanline";
      jpeg_crop_scanline(&cinfo, &x0, &width);  // widened to whole iMCUs
    }
  }
  if (!allocate(out, static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width),
                cinfo.output_components)) {
    std::snprintf(err.message, sizeof err.message, "no memory for the decoded image");
    std::longjmp(err.jump, 1);
  }
  if (width != static_cast<JDIMENSION>(fullWidth)) {
    out.originX = static_cast<int>(x0);
    out.fullWidth = fullWidth;
  }
  call = "jpeg_read_scanlines";
  const size_t stride = static_cast<size_t>(out.width) * out.channels;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[16];
    const JDIMENSION n = std::min<JDIMENSION>(16, cinfo.output_height - cinfo.output_scanline);
    for (JDIMENSION r = 0; r < n; ++r) rows[r] = out.pixels.data() + (cinfo.output_scanline + r) * stride;
    jpeg_read_scanlines(&cinfo, rows, n);
  }
  call = "jpeg_finish_decompress";
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return failure;
}

}  // namespace alexnet::data::detail
