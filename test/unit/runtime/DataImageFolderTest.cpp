//===- DataImageFolderTest.cpp - Tests for the PNG/JPEG folder reader -----===//
#include "DataTestUtil.h"
#include "simclr/Runtime/Dataset.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstdio>
#include <random>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

namespace simclr {
namespace {

using testing::patternByte;
using testing::readBytes;
using testing::TempDir;
using testing::writeBytes;

/// Non-square so that a transposed read fails.
constexpr uint32_t kHeight = 9;
constexpr uint32_t kWidth = 10;
constexpr size_t kPlane = size_t(kHeight) * kWidth;

/// An interleaved (HWC) 8-bit image.
struct Image {
  uint32_t height = kHeight;
  uint32_t width = kWidth;
  int channels = 3;
  std::vector<uint8_t> samples;
};

Image patternImage(int channels, size_t seed = 0) {
  Image image;
  image.channels = channels;
  for (size_t i = 0; i < kPlane * channels; ++i)
    image.samples.push_back(patternByte(seed + i));
  return image;
}

/// `image` as CHW, the layout ImageDataset stores.
std::vector<uint8_t> toChw(const Image &image) {
  std::vector<uint8_t> chw(image.samples.size());
  size_t plane = size_t(image.height) * image.width;
  for (size_t p = 0; p < plane; ++p)
    for (int c = 0; c < image.channels; ++c)
      chw[c * plane + p] = image.samples[p * image.channels + c];
  return chw;
}

/// Writes a PNG with libpng's default error handling (abort on error, which
/// fails the test). `rows` holds height rows of packed samples, 16-bit ones
/// big-endian as PNG stores them.
void writePng(const std::string &path, uint32_t height, uint32_t width,
              int colorType, int bitDepth, const std::vector<uint8_t> &rows,
              int interlace = PNG_INTERLACE_NONE,
              const std::vector<png_color> &palette = {},
              const std::vector<png_byte> &transparency = {}) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  FILE *file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, bitDepth, colorType, interlace,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty())
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  if (!transparency.empty())
    png_set_tRNS(png, info, transparency.data(),
                 static_cast<int>(transparency.size()), nullptr);
  png_write_info(png, info);
  size_t rowBytes = rows.size() / height;
  std::vector<png_bytep> pointers;
  for (uint32_t y = 0; y < height; ++y)
    pointers.push_back(const_cast<png_bytep>(rows.data() + y * rowBytes));
  png_write_image(png, pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  ASSERT_EQ(std::fclose(file), 0);
}

void writePng(const std::string &path, const Image &image) {
  writePng(path, image.height, image.width,
           image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, 8,
           image.samples);
}

/// Writes a JPEG with libjpeg's default error handling (exit on error).
void writeJpeg(const std::string &path, const Image &image,
               J_COLOR_SPACE colorSpace, int quality) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  FILE *file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, file);
  info.image_width = image.width;
  info.image_height = image.height;
  info.input_components = image.channels;
  info.in_color_space = colorSpace;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  size_t rowBytes = size_t(image.width) * image.channels;
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.samples.data() +
                                        info.next_scanline * rowBytes);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  ASSERT_EQ(std::fclose(file), 0);
}

/// A smooth RGB gradient: JPEG's error on it stays small.
Image smoothImage() {
  Image image;
  for (uint32_t y = 0; y < kHeight; ++y)
    for (uint32_t x = 0; x < kWidth; ++x) {
      image.samples.push_back(static_cast<uint8_t>(20 + 10 * x));
      image.samples.push_back(static_cast<uint8_t>(200 - 8 * y));
      image.samples.push_back(static_cast<uint8_t>(100 + 3 * (x + y)));
    }
  return image;
}

/// At quality 95 libjpeg-turbo 2.1 round-trips smoothImage() within 6
/// levels (measured; 4:2:0 chroma subsampling dominates) and its luma within
/// 1. The errors this test exists to catch (swapped channels, a transposed
/// image, a wrong plane order) move samples by tens of levels.
constexpr int kJpegQuality = 95;
constexpr int kJpegTolerance = 8;

int maxAbsDifference(const std::vector<uint8_t> &a,
                     const std::vector<uint8_t> &b) {
  EXPECT_EQ(a.size(), b.size());
  int worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
  return worst;
}

std::vector<uint8_t> pixelsOf(const Expected<ImageDataset> &dataset) {
  EXPECT_TRUE(dataset) << dataset.status().toString();
  return dataset ? dataset->pixels : std::vector<uint8_t>();
}

TEST(DataImageFolderTest, ReadsRgbAndGrayPngExactly) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Image rgb = patternImage(3);
  Image gray = patternImage(1, 1000);
  writePng(dir.file("rgb/a.png"), rgb);
  writePng(dir.file("gray/a.png"), gray);

  Expected<ImageDataset> dataset =
      readImageFolder(dir.file("rgb"), 3, kHeight, kWidth);
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, 1);
  EXPECT_EQ(dataset->channels, 3);
  EXPECT_EQ(dataset->height, kHeight);
  EXPECT_EQ(dataset->width, kWidth);
  EXPECT_TRUE(dataset->labels.empty());
  EXPECT_EQ(dataset->pixels, toChw(rgb));
  EXPECT_EQ(pixelsOf(readImageFolder(dir.file("gray"), 1, kHeight, kWidth)),
            gray.samples);
}

TEST(DataImageFolderTest, PngVariantsDecodeToEightBitSamples) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Image rgb = patternImage(3);

  // Alpha is dropped.
  std::vector<uint8_t> rgba;
  for (size_t p = 0; p < kPlane; ++p) {
    rgba.insert(rgba.end(), rgb.samples.begin() + 3 * p,
                rgb.samples.begin() + 3 * p + 3);
    rgba.push_back(patternByte(p + 77));
  }
  writePng(dir.file("rgba/a.png"), kHeight, kWidth, PNG_COLOR_TYPE_RGB_ALPHA, 8,
           rgba);
  EXPECT_EQ(pixelsOf(readImageFolder(dir.file("rgba"), 3, kHeight, kWidth)),
            toChw(rgb));

  // 16-bit samples keep their high byte.
  std::vector<uint8_t> rgb16;
  for (uint8_t sample : rgb.samples) {
    rgb16.push_back(sample);
    rgb16.push_back(0xff);
  }
  writePng(dir.file("rgb16/a.png"), kHeight, kWidth, PNG_COLOR_TYPE_RGB, 16,
           rgb16);
  EXPECT_EQ(pixelsOf(readImageFolder(dir.file("rgb16"), 3, kHeight, kWidth)),
            toChw(rgb));

  // Adam7 interlacing.
  writePng(dir.file("interlaced/a.png"), kHeight, kWidth, PNG_COLOR_TYPE_RGB, 8,
           rgb.samples, PNG_INTERLACE_ADAM7);
  EXPECT_EQ(
      pixelsOf(readImageFolder(dir.file("interlaced"), 3, kHeight, kWidth)),
      toChw(rgb));

  // A palette with transparency expands to the palette's colors.
  std::vector<png_color> palette;
  constexpr int kPaletteSize = 256;
  for (int i = 0; i < kPaletteSize; ++i)
    palette.push_back(
        {patternByte(i), patternByte(i + 300), patternByte(i + 600)});
  std::vector<png_byte> transparency = {0, 128, 255};
  Image indices = patternImage(1, 5000);
  writePng(dir.file("palette/a.png"), kHeight, kWidth, PNG_COLOR_TYPE_PALETTE,
           8, indices.samples, PNG_INTERLACE_NONE, palette, transparency);
  Image expanded;
  for (uint8_t index : indices.samples)
    expanded.samples.insert(
        expanded.samples.end(),
        {palette[index].red, palette[index].green, palette[index].blue});
  EXPECT_EQ(pixelsOf(readImageFolder(dir.file("palette"), 3, kHeight, kWidth)),
            toChw(expanded));

  // 1-bit gray scales 1 to 255.
  std::vector<uint8_t> bits(kHeight * 2, 0);
  for (uint32_t y = 0; y < kHeight; ++y)
    bits[2 * y] = 0x80; // leftmost pixel of each row white
  writePng(dir.file("bits/a.png"), kHeight, kWidth, PNG_COLOR_TYPE_GRAY, 1,
           bits);
  std::vector<uint8_t> expectedBits(kPlane, 0);
  for (uint32_t y = 0; y < kHeight; ++y)
    expectedBits[y * kWidth] = 255;
  EXPECT_EQ(pixelsOf(readImageFolder(dir.file("bits"), 1, kHeight, kWidth)),
            expectedBits);

  // Gray with alpha.
  Image gray = patternImage(1, 42);
  std::vector<uint8_t> grayAlpha;
  for (uint8_t sample : gray.samples)
    grayAlpha.insert(grayAlpha.end(), {sample, 7});
  writePng(dir.file("grayalpha/a.png"), kHeight, kWidth,
           PNG_COLOR_TYPE_GRAY_ALPHA, 8, grayAlpha);
  EXPECT_EQ(
      pixelsOf(readImageFolder(dir.file("grayalpha"), 1, kHeight, kWidth)),
      gray.samples);
}

TEST(DataImageFolderTest, RgbToGrayMatchesPillowLuma) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // PIL: Image.new('RGB', (1, 1), c).convert('L') gives 76, 150 and 29 for
  // pure red, green and blue.
  Image primaries;
  primaries.height = 1;
  primaries.width = 5;
  primaries.samples = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0};
  writePng(dir.file("primaries/a.png"), primaries);
  EXPECT_EQ(pixelsOf(readImageFolder(dir.file("primaries"), 1, 1, 5)),
            (std::vector<uint8_t>{76, 150, 29, 255, 0}));

  // Elsewhere: ITU-R 601-2 luma in floating point, which Pillow's fixed point
  // approximates to within one level of rounding.
  Image rgb = patternImage(3);
  writePng(dir.file("pattern/a.png"), rgb);
  std::vector<uint8_t> luma =
      pixelsOf(readImageFolder(dir.file("pattern"), 1, kHeight, kWidth));
  ASSERT_EQ(luma.size(), kPlane);
  for (size_t p = 0; p < kPlane; ++p) {
    const uint8_t *c = rgb.samples.data() + 3 * p;
    double reference = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    EXPECT_NEAR(luma[p], reference, 1.0) << "pixel " << p;
  }
}

TEST(DataImageFolderTest, GrayToRgbReplicates) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Image gray = patternImage(1);
  writePng(dir.file("a.png"), gray);
  std::vector<uint8_t> expected;
  for (int c = 0; c < 3; ++c)
    expected.insert(expected.end(), gray.samples.begin(), gray.samples.end());
  EXPECT_EQ(pixelsOf(readImageFolder(dir.path(), 3, kHeight, kWidth)),
            expected);
}

TEST(DataImageFolderTest, RecursesInPathOrderAndSkipsOtherFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // Sorted paths: a/z.png < b.PNG < c.jpeg < sub.png/d.jpg.
  writePng(dir.file("b.PNG"), patternImage(3, 2));
  writePng(dir.file("a/z.png"), patternImage(3, 1));
  writeJpeg(dir.file("sub.png/d.jpg"), smoothImage(), JCS_RGB, kJpegQuality);
  writeJpeg(dir.file("c.jpeg"), smoothImage(), JCS_RGB, kJpegQuality);
  ASSERT_TRUE(writeBytes(dir.file("README.txt"), {'h', 'i'}));
  ASSERT_TRUE(writeBytes(dir.file("a/labels.csv"), {'1'}));
  Expected<ImageDataset> dataset =
      readImageFolder(dir.path(), 3, kHeight, kWidth);
  ASSERT_TRUE(dataset) << dataset.status().toString();
  ASSERT_EQ(dataset->count, 4);
  size_t bytes = dataset->imageBytes();
  EXPECT_EQ(std::vector<uint8_t>(dataset->image(0), dataset->image(0) + bytes),
            toChw(patternImage(3, 1)));
  EXPECT_EQ(std::vector<uint8_t>(dataset->image(1), dataset->image(1) + bytes),
            toChw(patternImage(3, 2)));
  for (int i = 2; i < 4; ++i)
    EXPECT_LE(maxAbsDifference(std::vector<uint8_t>(dataset->image(i),
                                                    dataset->image(i) + bytes),
                               toChw(smoothImage())),
              kJpegTolerance);
}

TEST(DataImageFolderTest, ReadsJpegWithinTolerance) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Image rgb = smoothImage();
  writeJpeg(dir.file("rgb/a.jpg"), rgb, JCS_RGB, kJpegQuality);
  EXPECT_LE(maxAbsDifference(
                pixelsOf(readImageFolder(dir.file("rgb"), 3, kHeight, kWidth)),
                toChw(rgb)),
            kJpegTolerance);

  // A color JPEG read as gray: Pillow's luma of the decoded colors.
  Image luma;
  luma.channels = 1;
  for (size_t p = 0; p < kPlane; ++p) {
    const uint8_t *c = rgb.samples.data() + 3 * p;
    luma.samples.push_back(static_cast<uint8_t>(
        std::lround(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2])));
  }
  EXPECT_LE(maxAbsDifference(
                pixelsOf(readImageFolder(dir.file("rgb"), 1, kHeight, kWidth)),
                luma.samples),
            kJpegTolerance);

  // A gray JPEG, read as gray and replicated to RGB.
  writeJpeg(dir.file("gray/a.jpg"), luma, JCS_GRAYSCALE, kJpegQuality);
  std::vector<uint8_t> gray =
      pixelsOf(readImageFolder(dir.file("gray"), 1, kHeight, kWidth));
  EXPECT_LE(maxAbsDifference(gray, luma.samples), kJpegTolerance);
  std::vector<uint8_t> replicated;
  for (int c = 0; c < 3; ++c)
    replicated.insert(replicated.end(), gray.begin(), gray.end());
  EXPECT_EQ(pixelsOf(readImageFolder(dir.file("gray"), 3, kHeight, kWidth)),
            replicated);
}

TEST(DataImageFolderTest, DecodesBySignatureNotExtension) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeJpeg(dir.file("jpeg/a.png"), smoothImage(), JCS_RGB, kJpegQuality);
  EXPECT_LE(maxAbsDifference(
                pixelsOf(readImageFolder(dir.file("jpeg"), 3, kHeight, kWidth)),
                toChw(smoothImage())),
            kJpegTolerance);
  ASSERT_TRUE(writeBytes(dir.file("text/a.png"), {'n', 'o', 't'}));
  Expected<ImageDataset> dataset =
      readImageFolder(dir.file("text"), 3, kHeight, kWidth);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("text/a.png") +
                ": byte 0: neither a PNG nor a JPEG signature");
}

TEST(DataImageFolderTest, WrongSizeIsRejectedNamingTheFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writePng(dir.file("png/a.png"), patternImage(3));
  writeJpeg(dir.file("jpeg/a.jpg"), smoothImage(), JCS_RGB, kJpegQuality);
  for (const char *sub : {"png/a.png", "jpeg/a.jpg"}) {
    std::string folder = std::filesystem::path(dir.file(sub)).parent_path();
    Expected<ImageDataset> dataset =
        readImageFolder(folder, 3, kWidth, kHeight);
    ASSERT_FALSE(dataset) << sub;
    EXPECT_EQ(dataset.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(dataset.status().message(),
              dir.file(sub) + ": image is 9x10, expected 10x9");
  }
}

TEST(DataImageFolderTest, CorruptPngIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writePng(dir.file("a.png"), patternImage(3));
  std::vector<uint8_t> bytes = readBytes(dir.file("a.png"));
  // The IEND chunk is the last 12 bytes; the byte before it is IDAT's CRC.
  constexpr size_t kIendBytes = 12;
  bytes[bytes.size() - kIendBytes - 1] ^= 0xff;
  ASSERT_TRUE(writeBytes(dir.file("a.png"), bytes));
  Expected<ImageDataset> dataset =
      readImageFolder(dir.path(), 3, kHeight, kWidth);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(dataset.status().message().rfind(
                dir.file("a.png") + ": corrupt PNG at byte ", 0),
            0u)
      << dataset.status().message();
  EXPECT_NE(dataset.status().message().find("CRC error"), std::string::npos)
      << dataset.status().message();
}

/// Checks that `name` in `dir` cut at every length fails naming it.
void expectEveryTruncationFails(const TempDir &dir, const std::string &name) {
  std::vector<uint8_t> bytes = readBytes(dir.file(name));
  ASSERT_FALSE(bytes.empty());
  for (size_t size = 0; size < bytes.size(); ++size) {
    ASSERT_TRUE(
        writeBytes(dir.file(name),
                   std::vector<uint8_t>(bytes.begin(), bytes.begin() + size)));
    Expected<ImageDataset> dataset =
        readImageFolder(dir.path(), 3, kHeight, kWidth);
    ASSERT_FALSE(dataset) << name << " cut at " << size;
    EXPECT_EQ(dataset.status().message().rfind(dir.file(name) + ": ", 0), 0u)
        << dataset.status().message();
  }
}

TEST(DataImageFolderTest, EveryTruncatedPngFails) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writePng(dir.file("a.png"), patternImage(3));
  expectEveryTruncationFails(dir, "a.png");
}

TEST(DataImageFolderTest, EveryTruncatedJpegFails) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeJpeg(dir.file("a.jpg"), smoothImage(), JCS_RGB, kJpegQuality);
  expectEveryTruncationFails(dir, "a.jpg");
}

TEST(DataImageFolderTest, RandomCorruptionNeverCrashes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writePng(dir.file("png/a.png"), patternImage(3));
  writeJpeg(dir.file("jpeg/a.jpg"), smoothImage(), JCS_RGB, kJpegQuality);
  std::mt19937 random(5678);
  constexpr int kTrialsPerFormat = 300;
  // A flipped byte in an ancillary chunk or in JPEG entropy data can still
  // decode; the point is that nothing crashes and errors name the file.
  for (const char *name : {"png/a.png", "jpeg/a.jpg"}) {
    std::vector<uint8_t> original = readBytes(dir.file(name));
    ASSERT_FALSE(original.empty());
    std::string folder = std::filesystem::path(dir.file(name)).parent_path();
    int rejected = 0;
    for (int trial = 0; trial < kTrialsPerFormat; ++trial) {
      std::vector<uint8_t> bytes = original;
      bytes[random() % bytes.size()] ^=
          static_cast<uint8_t>(1 + random() % 255);
      ASSERT_TRUE(writeBytes(dir.file(name), bytes));
      Expected<ImageDataset> dataset =
          readImageFolder(folder, 3, kHeight, kWidth);
      if (dataset)
        continue;
      ++rejected;
      EXPECT_EQ(dataset.status().message().rfind(dir.file(name) + ": ", 0), 0u)
          << dataset.status().message();
    }
    EXPECT_GT(rejected, 0) << name;
  }
}

TEST(DataImageFolderTest, CmykJpegIsUnsupported) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Image cmyk = patternImage(4);
  writeJpeg(dir.file("a.jpg"), cmyk, JCS_CMYK, kJpegQuality);
  Expected<ImageDataset> dataset =
      readImageFolder(dir.path(), 3, kHeight, kWidth);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dataset.status().message().rfind(
                dir.file("a.jpg") + ": unsupported JPEG color space", 0),
            0u)
      << dataset.status().message();
}

TEST(DataImageFolderTest, BadArgumentsAndEmptyFolders) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Expected<ImageDataset> missing =
      readImageFolder(dir.file("missing"), 3, 4, 4);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            dir.file("missing") + ": cannot open: No such file or directory");

  ASSERT_TRUE(writeBytes(dir.file("notes.txt"), {'x'}));
  Expected<ImageDataset> empty = readImageFolder(dir.path(), 3, 4, 4);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.status().message(),
            dir.path() + ": no .png, .jpg or .jpeg files");

  EXPECT_EQ(readImageFolder(dir.path(), 2, 4, 4).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(readImageFolder(dir.path(), 3, 0, 4).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(readImageFolder(dir.path(), 3, 4, 1 << 20).status().code(),
            StatusCode::kInvalidArgument);
}

} // namespace
} // namespace simclr
