//===- ImageSize.h - The size a PNG or JPEG file claims, for the decoders -*- C++ -*-===//
//
// decodePng/decodeJpeg refuse an image that is not the size asked for before
// decoding it, so the fuzzers ask for the size the file itself claims (read
// here without libpng or libjpeg); past kMaxFuzzedPixels they ask for 1x1,
// which exercises the refusal instead of a multi-gigabyte allocation that
// libFuzzer's memory limit would report.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_FUZZ_IMAGESIZE_H
#define SIMCLR_FUZZ_IMAGESIZE_H

#include <cstddef>
#include <cstdint>
#include <utility>

namespace simclr::fuzz {

/// 4096 x 4096: far above any training image, far below the memory limit.
inline constexpr int64_t kMaxFuzzedPixels = int64_t(1) << 24;

inline uint32_t bigEndian(const uint8_t *p, int bytes) {
  uint32_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value = value << 8 | p[i];
  return value;
}

/// (height, width) to request, given what the file claims.
inline std::pair<int64_t, int64_t> boundedSize(int64_t height, int64_t width) {
  // Each side first: two 32-bit PNG sides can overflow their product.
  if (height < 1 || width < 1 || height > kMaxFuzzedPixels ||
      width > kMaxFuzzedPixels || height * width > kMaxFuzzedPixels)
    return {1, 1};
  return {height, width};
}

/// A PNG's IHDR width and height: bytes 16..23 (signature, chunk length,
/// "IHDR"; PNG spec, section 11.2.2).
inline std::pair<int64_t, int64_t> pngClaimedSize(const uint8_t *data,
                                                  size_t size) {
  constexpr size_t kIhdrWidthOffset = 16;
  if (size < kIhdrWidthOffset + 8)
    return {1, 1};
  return boundedSize(bigEndian(data + kIhdrWidthOffset + 4, 4),
                     bigEndian(data + kIhdrWidthOffset, 4));
}

/// A JPEG's frame size: the first SOFn marker segment (FFC0..FFCF except
/// DHT C4, JPG C8, DAC CC; ITU-T T.81, B.2.2): length(2) precision(1)
/// height(2) width(2).
inline std::pair<int64_t, int64_t> jpegClaimedSize(const uint8_t *data,
                                                   size_t size) {
  for (size_t i = 0; i + 9 <= size; ++i) {
    if (data[i] != 0xff)
      continue;
    uint8_t marker = data[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
        marker != 0xcc)
      return boundedSize(bigEndian(data + i + 5, 2), bigEndian(data + i + 7, 2));
  }
  return {1, 1};
}

} // namespace simclr::fuzz

#endif // SIMCLR_FUZZ_IMAGESIZE_H
