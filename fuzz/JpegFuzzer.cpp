//===- JpegFuzzer.cpp - Fuzzes the JPEG decoder behind readImageFolder ----===//
//
// Input: one JPEG file, decoded at the size it claims (ImageSize.h).
// libpng and libjpeg are Debian's, not instrumented: coverage is that of our
// decoder around them, and ASan checks our code's accesses and the libc
// calls (memcpy, ...) the libraries make, not their own loads and stores.
//
//===----------------------------------------------------------------------===//
#include "ImageSize.h"
#include "ReaderChecks.h"

#include "DataInternal.h"

using namespace simclr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  auto [height, width] = fuzz::jpegClaimedSize(data, size);
  Expected<data::DecodedImage> image =
      data::decodeJpeg("fuzz.jpeg", bytes, height, width);
  if (!image) {
    fuzz::checkMessage(image.status());
    return 0;
  }
  bool consistent =
      image->height == height && image->width == width &&
      (image->channels == data::kGrayChannels ||
       image->channels == data::kRgbChannels) &&
      static_cast<int64_t>(image->pixels.size()) ==
          image->height * image->width * image->channels;
  if (!consistent) {
    std::fprintf(stderr, "decoded %lldx%lldx%lld into %zu bytes, asked %lldx%lld\n",
                 (long long)image->height, (long long)image->width,
                 (long long)image->channels, image->pixels.size(),
                 (long long)height, (long long)width);
    std::abort();
  }
  return 0;
}
