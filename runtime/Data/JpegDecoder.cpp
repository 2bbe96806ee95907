//===- JpegDecoder.cpp - JPEG to 8-bit gray or RGB via libjpeg ------------===//
//
// libjpeg's default error handler calls exit(); ours longjmps back to the
// last setjmp instead. A longjmp that skips a C++ destructor is undefined
// behavior, so every libjpeg call that can fail is made from
// readJpegHeader() or readJpegPixels(): small functions whose only locals
// are POD, whose state lives in a POD struct, and which return false after
// a longjmp. The C++ objects live in decodeJpeg(), which no longjmp crosses.
//
//===----------------------------------------------------------------------===//
#include "DataInternal.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

namespace simclr {
namespace data {
namespace {

/// Everything libjpeg's callbacks and the setjmp functions touch; POD.
struct JpegReadState {
  jpeg_decompress_struct info;
  jpeg_error_mgr errors;
  std::jmp_buf jump;
  /// Where readJpegPixels() stores the decoded rows.
  uint8_t *pixels;
  size_t rowBytes;
  /// Set by readJpegHeader() for CMYK, YCCK and unknown color spaces.
  bool unsupportedColorSpace;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void onJpegError(j_common_ptr common) {
  auto *state = static_cast<JpegReadState *>(common->client_data);
  (*common->err->format_message)(common, state->message);
  std::longjmp(state->jump, 1);
}

/// Level -1 is a warning: libjpeg repaired corrupt data (a truncated scan
/// becomes gray, a bad Huffman code is skipped) and would hand back an image
/// that is not the one stored, so it fails like an error. Higher levels are
/// trace messages, which a library must not print.
void onJpegMessage(j_common_ptr common, int level) {
  if (level < 0)
    onJpegError(common);
}

/// Reads the header and sets up decoding to 8-bit gray or RGB, leaving the
/// output size in state->info. Returns false, with state->message set, if
/// libjpeg failed.
bool readJpegHeader(JpegReadState *state, const uint8_t *data, size_t size) {
  if (setjmp(state->jump))
    return false;
  jpeg_create_decompress(&state->info);
  jpeg_mem_src(&state->info, data, size);
  jpeg_read_header(&state->info, TRUE);
  switch (state->info.jpeg_color_space) {
  case JCS_GRAYSCALE:
    state->info.out_color_space = JCS_GRAYSCALE;
    break;
  case JCS_YCbCr:
  case JCS_RGB:
    state->info.out_color_space = JCS_RGB;
    break;
  default:
    // CMYK and YCCK need ink-model conversions libjpeg does not provide.
    state->unsupportedColorSpace = true;
    return true;
  }
  jpeg_calc_output_dimensions(&state->info);
  return true;
}

/// Decodes all scanlines into state->pixels and checks the rest of the
/// file. Returns false, with state->message set, if libjpeg failed.
bool readJpegPixels(JpegReadState *state) {
  if (setjmp(state->jump))
    return false;
  jpeg_start_decompress(&state->info);
  while (state->info.output_scanline < state->info.output_height) {
    JSAMPROW row =
        state->pixels + state->info.output_scanline * state->rowBytes;
    jpeg_read_scanlines(&state->info, &row, 1);
  }
  jpeg_finish_decompress(&state->info);
  return true;
}

/// Frees libjpeg's memory on scope exit; safe on a zeroed struct.
class JpegDestroyer {
public:
  explicit JpegDestroyer(JpegReadState &state) : state_(state) {}
  ~JpegDestroyer() { jpeg_destroy_decompress(&state_.info); }
  JpegDestroyer(const JpegDestroyer &) = delete;
  JpegDestroyer &operator=(const JpegDestroyer &) = delete;

private:
  JpegReadState &state_;
};

} // namespace

Expected<DecodedImage> decodeJpeg(const std::string &path,
                                  const std::vector<uint8_t> &bytes,
                                  int64_t height, int64_t width) {
  JpegReadState state;
  std::memset(&state, 0, sizeof(state));
  state.info.err = jpeg_std_error(&state.errors);
  state.errors.error_exit = onJpegError;
  state.errors.emit_message = onJpegMessage;
  state.info.client_data = &state;
  JpegDestroyer destroyer(state);

  if (!readJpegHeader(&state, bytes.data(), bytes.size()))
    return dataLoss(path + ": corrupt JPEG: " + state.message);
  if (state.unsupportedColorSpace)
    return invalidArgument(path + ": unsupported JPEG color space " +
                           std::to_string(state.info.jpeg_color_space) +
                           " (libjpeg's J_COLOR_SPACE; only gray, YCbCr and "
                           "RGB are read)");
  if (state.info.output_height != height || state.info.output_width != width)
    return invalidArgument(
        path + ": image is " +
        formatSize(state.info.output_height, state.info.output_width) +
        ", expected " + formatSize(height, width));
  int64_t expectedComponents = state.info.out_color_space == JCS_GRAYSCALE
                                   ? kGrayChannels
                                   : kRgbChannels;
  if (state.info.output_components != expectedComponents)
    return internalError(path + ": libjpeg would produce " +
                         std::to_string(state.info.output_components) +
                         " channels, expected " +
                         std::to_string(expectedComponents));

  DecodedImage image;
  image.height = height;
  image.width = width;
  image.channels = expectedComponents;
  image.pixels.resize(height * width * image.channels);
  state.pixels = image.pixels.data();
  state.rowBytes = width * image.channels;
  if (!readJpegPixels(&state))
    return dataLoss(path + ": corrupt JPEG: " + state.message);
  return image;
}

} // namespace data
} // namespace simclr
