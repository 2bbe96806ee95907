//===- ImageFolder.cpp - Unlabeled PNG/JPEG images from a directory tree --===//
#include "DataInternal.h"
#include "simclr/Runtime/Dataset.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace simclr {
namespace {

using data::DecodedImage;
using data::kGrayChannels;
using data::kRgbChannels;

/// JPEG stores sizes in 16-bit fields (ITU-T T.81, B.2.2); bounding the
/// requested size by it also keeps count * channels * height * width far
/// from overflow.
constexpr int64_t kMaxImageSide = 65535;

/// Pillow's ITU-R 601-2 luma in 16-bit fixed point, so that a 1-channel
/// image equals PIL's convert('L') (Pillow src/libImaging/Convert.c, L24):
/// L = (19595 R + 38470 G + 7471 B + 2^15) >> 16. The weights sum to 2^16.
constexpr uint32_t kLumaRed = 19595;
constexpr uint32_t kLumaGreen = 38470;
constexpr uint32_t kLumaBlue = 7471;
constexpr int kLumaShift = 16;
constexpr uint32_t kLumaRounding = 1u << (kLumaShift - 1);

/// The PNG signature (PNG spec, section 5.2) and JPEG's SOI marker followed
/// by the 0xFF that starts the next marker (ITU-T T.81, B.1.1.2).
constexpr uint8_t kPngSignature[] = {0x89, 'P',  'N',  'G',
                                     '\r', '\n', 0x1a, '\n'};
constexpr uint8_t kJpegSignature[] = {0xff, 0xd8, 0xff};

template <size_t N>
bool startsWith(const std::vector<uint8_t> &bytes, const uint8_t (&prefix)[N]) {
  return bytes.size() >= N && std::memcmp(bytes.data(), prefix, N) == 0;
}

bool hasImageExtension(const std::filesystem::path &path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return extension == ".png" || extension == ".jpg" || extension == ".jpeg";
}

/// Every image file under `dir`, sorted. The iterator keeps its own stack,
/// so deep trees need no recursion here.
Expected<std::vector<std::string>> listImageFiles(const std::string &dir) {
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(dir, error);
  if (error) {
    std::string message = dir + ": cannot open: " + error.message();
    if (error == std::errc::no_such_file_or_directory)
      return notFound(message);
    return ioError(message);
  }
  std::vector<std::string> files;
  for (; it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    if (error)
      break;
    // Anything but a directory is kept, so that a broken symbolic link named
    // like an image fails naming it instead of vanishing from the dataset.
    std::error_code typeError;
    if (hasImageExtension(it->path()) && !it->is_directory(typeError))
      files.push_back(it->path().string());
  }
  if (error)
    return ioError(dir + ": cannot list directory: " + error.message());
  std::sort(files.begin(), files.end());
  return files;
}

/// Writes `image` (HWC, 1 or 3 channels) to `out` as CHW with `channels`
/// channels.
void storeChw(const DecodedImage &image, int64_t channels, uint8_t *out) {
  int64_t plane = image.height * image.width;
  const uint8_t *in = image.pixels.data();
  if (image.channels == kRgbChannels && channels == kGrayChannels) {
    for (int64_t p = 0; p < plane; ++p) {
      const uint8_t *rgb = in + p * kRgbChannels;
      out[p] = static_cast<uint8_t>((kLumaRed * rgb[0] + kLumaGreen * rgb[1] +
                                     kLumaBlue * rgb[2] + kLumaRounding) >>
                                    kLumaShift);
    }
    return;
  }
  // Same channel count, or gray replicated into every output channel.
  for (int64_t c = 0; c < channels; ++c) {
    int64_t source = image.channels == channels ? c : 0;
    for (int64_t p = 0; p < plane; ++p)
      out[c * plane + p] = in[p * image.channels + source];
  }
}

/// Decodes the file at `path` by its signature.
Expected<DecodedImage> decodeImageFile(const std::string &path, int64_t height,
                                       int64_t width) {
  Expected<std::vector<uint8_t>> bytes = data::readRawFile(path);
  if (!bytes)
    return bytes.takeStatus();
  if (startsWith(*bytes, kPngSignature))
    return data::decodePng(path, *bytes, height, width);
  if (startsWith(*bytes, kJpegSignature))
    return data::decodeJpeg(path, *bytes, height, width);
  return dataLoss(path + ": byte 0: neither a PNG nor a JPEG signature");
}

} // namespace

Expected<ImageDataset> readImageFolder(const std::string &dir, int64_t channels,
                                       int64_t height, int64_t width) {
  if (channels != kGrayChannels && channels != kRgbChannels)
    return invalidArgument("readImageFolder: channels must be 1 or 3, got " +
                           std::to_string(channels));
  if (height < 1 || height > kMaxImageSide || width < 1 ||
      width > kMaxImageSide)
    return invalidArgument(
        "readImageFolder: image size " + data::formatSize(height, width) +
        " is outside 1x1 .. " + data::formatSize(kMaxImageSide, kMaxImageSide));
  return data::catchOutOfMemory(dir, [&]() -> Expected<ImageDataset> {
    Expected<std::vector<std::string>> files = listImageFiles(dir);
    if (!files)
      return files.takeStatus();
    if (files->empty())
      return notFound(dir + ": no .png, .jpg or .jpeg files");
    ImageDataset dataset;
    dataset.count = static_cast<int64_t>(files->size());
    dataset.channels = channels;
    dataset.height = height;
    dataset.width = width;
    dataset.pixels.resize(dataset.count * dataset.imageBytes());
    for (int64_t i = 0; i < dataset.count; ++i) {
      Expected<DecodedImage> image =
          decodeImageFile((*files)[i], height, width);
      if (!image)
        return image.takeStatus();
      storeChw(*image, channels,
               dataset.pixels.data() + i * dataset.imageBytes());
    }
    return dataset;
  });
}

} // namespace simclr
