//===- PngDecoder.cpp - PNG to 8-bit gray or RGB via libpng ---------------===//
//
// libpng reports errors by longjmp from its error callback to the last
// setjmp. A longjmp that skips a C++ destructor is undefined behavior, so
// every libpng call that can fail is made from readPngHeader() or
// readPngRows(): small functions whose only locals are POD, whose state
// lives in a POD struct, and which return false after a longjmp. The C++
// objects (the pixel vector, the Status) live in decodePng(), which no
// longjmp crosses.
//
//===----------------------------------------------------------------------===//
#include "DataInternal.h"

#include <png.h>

#include <cstdio>
#include <cstring>

namespace simclr {
namespace data {
namespace {

/// Room for libpng's error message, which it keeps short.
constexpr size_t kPngMessageBytes = 256;
/// Every image is decoded to one byte per sample.
constexpr png_byte kOutputBitDepth = 8;
/// PNG's only sample depth wider than a byte (PNG spec, section 11.2.2).
constexpr png_byte kWideBitDepth = 16;

/// Everything libpng's callbacks and the setjmp functions touch; POD.
struct PngReadState {
  png_structp png;
  png_infop info;
  const uint8_t *data;
  size_t size;
  size_t position;
  png_uint_32 width;
  png_uint_32 height;
  int channels;
  char message[kPngMessageBytes];
};

[[noreturn]] void onPngError(png_structp png, png_const_charp message) {
  auto *state = static_cast<PngReadState *>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof(state->message), "%s", message);
  png_longjmp(png, 1);
}

/// Warnings concern ancillary data (a bad CRC in a text chunk, an unknown
/// chunk); the pixels are intact, and a library must not print to stderr.
void onPngWarning(png_structp, png_const_charp) {}

void readPngBytes(png_structp png, png_bytep out, size_t count) {
  auto *state = static_cast<PngReadState *>(png_get_io_ptr(png));
  if (state->size - state->position < count)
    png_error(png, "unexpected end of file");
  std::memcpy(out, state->data + state->position, count);
  state->position += count;
}

/// Reads the header and sets up conversion to 8-bit gray or RGB. Returns
/// false, with state->message set, if libpng failed.
bool readPngHeader(PngReadState *state) {
  if (setjmp(png_jmpbuf(state->png)))
    return false;
  png_set_read_fn(state->png, state, readPngBytes);
  png_read_info(state->png, state->info);
  png_byte colorType = png_get_color_type(state->png, state->info);
  png_byte bitDepth = png_get_bit_depth(state->png, state->info);
  if (colorType == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(state->png);
  if (colorType == PNG_COLOR_TYPE_GRAY && bitDepth < kOutputBitDepth)
    png_set_expand_gray_1_2_4_to_8(state->png);
  // Keeping the high byte matches how Pillow unpacks 16-bit RGB.
  if (bitDepth == kWideBitDepth)
    png_set_strip_16(state->png);
  // Unconditional: palette expansion turns tRNS into an alpha channel too.
  png_set_strip_alpha(state->png);
  png_set_interlace_handling(state->png);
  png_read_update_info(state->png, state->info);
  state->width = png_get_image_width(state->png, state->info);
  state->height = png_get_image_height(state->png, state->info);
  state->channels = png_get_channels(state->png, state->info);
  return true;
}

/// Decodes the pixels into `rows` and checks the rest of the file. Returns
/// false, with state->message set, if libpng failed.
bool readPngRows(PngReadState *state, png_bytepp rows) {
  if (setjmp(png_jmpbuf(state->png)))
    return false;
  png_read_image(state->png, rows);
  png_read_end(state->png, nullptr);
  return true;
}

/// Frees libpng's structures on scope exit.
class PngDestroyer {
public:
  explicit PngDestroyer(PngReadState &state) : state_(state) {}
  ~PngDestroyer() {
    png_destroy_read_struct(&state_.png, state_.info ? &state_.info : nullptr,
                            nullptr);
  }
  PngDestroyer(const PngDestroyer &) = delete;
  PngDestroyer &operator=(const PngDestroyer &) = delete;

private:
  PngReadState &state_;
};

} // namespace

Expected<DecodedImage> decodePng(const std::string &path,
                                 const std::vector<uint8_t> &bytes,
                                 int64_t height, int64_t width) {
  PngReadState state;
  std::memset(&state, 0, sizeof(state));
  state.data = bytes.data();
  state.size = bytes.size();
  state.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, onPngError,
                                     onPngWarning);
  if (!state.png)
    return ioError(path + ": cannot initialize libpng");
  PngDestroyer destroyer(state);
  state.info = png_create_info_struct(state.png);
  if (!state.info)
    return ioError(path + ": cannot initialize libpng");

  if (!readPngHeader(&state))
    return dataLoss(path + ": corrupt PNG at byte " +
                    std::to_string(state.position) + ": " + state.message);
  if (state.height != height || state.width != width)
    return invalidArgument(path + ": image is " +
                           formatSize(state.height, state.width) +
                           ", expected " + formatSize(height, width));
  if (state.channels != kGrayChannels && state.channels != kRgbChannels)
    return internalError(path + ": libpng produced " +
                         std::to_string(state.channels) +
                         " channels after conversion to gray or RGB");

  DecodedImage image;
  image.height = height;
  image.width = width;
  image.channels = state.channels;
  image.pixels.resize(height * width * image.channels);
  std::vector<png_bytep> rows(height);
  for (int64_t y = 0; y < height; ++y)
    rows[y] = image.pixels.data() + y * width * image.channels;
  if (!readPngRows(&state, rows.data()))
    return dataLoss(path + ": corrupt PNG at byte " +
                    std::to_string(state.position) + ": " + state.message);
  return image;
}

} // namespace data
} // namespace simclr
