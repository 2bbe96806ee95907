//===- Augment.cpp - Reference augmentation kernels -----------------------===//
//
// Each random kernel is "sample this image's parameters from its own stream,
// then apply a fixed transform to that image"; the draw order and the pixel
// formulas are specified in Augment.h. Per-image helpers below work on one
// contiguous C x H x W image.
//
//===----------------------------------------------------------------------===//
#include "simclr/Reference/Augment.h"

#include "Checks.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>
#include <utility>

namespace simclr::ref {
namespace {

/// ITU-R BT.601 luma weights, as simclr.random_grayscale and color_jitter
/// define gray.
constexpr double kGrayRed = 0.299;
constexpr double kGrayGreen = 0.587;
constexpr double kGrayBlue = 0.114;
constexpr int64_t kRgbChannels = 3;
/// Largest hue shift torchvision's ColorJitter accepts: half a turn.
constexpr double kMaxHueShift = 0.5;
/// The HSV hexcone has six sectors of 1/6 turn each.
constexpr int kHueSectors = 6;

/// Extents of an NCHW batch; image n occupies [n * imageSize(), ...).
struct Dims {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t plane() const { return h * w; }
  int64_t imageSize() const { return c * h * w; }
};

template <typename T>
Expected<Dims> checkImages(const char *kernel, const Tensor<T> &x) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, 4));
  return Dims{x.dim(0), x.dim(1), x.dim(2), x.dim(3)};
}

Status optionError(const char *kernel, const std::string &problem) {
  return invalidArgument(std::string(kernel) + ": " + problem);
}

Status checkProbability(const char *kernel, double p) {
  if (!(p >= 0.0 && p <= 1.0))
    return optionError(kernel,
                       "p = " + std::to_string(p) + " must be in [0, 1]");
  return Status::ok();
}

/// Checks 0 < lo <= hi (<= upper when `upper` > 0).
Status checkRange(const char *kernel, const char *name, const Range &range,
                  double upper) {
  bool ok = range[0] > 0.0 && range[0] <= range[1] &&
            (upper <= 0.0 || range[1] <= upper);
  if (!ok)
    return optionError(
        kernel, std::string(name) + " = [" + std::to_string(range[0]) + ", " +
                    std::to_string(range[1]) + "] must satisfy 0 < lo <= hi" +
                    (upper > 0.0 ? " <= 1" : ""));
  return Status::ok();
}

Status checkChannels(const char *kernel, const Dims &d, int64_t channels) {
  if (d.c != channels)
    return optionError(kernel, "expected " + std::to_string(channels) +
                                   " channels, got " + std::to_string(d.c));
  return Status::ok();
}

template <typename T> T clampUnit(T value) {
  return std::min(std::max(value, T(0)), T(1));
}

/// gray = 0.299 R + 0.587 G + 0.114 B of pixel `i` of an RGB image.
template <typename T> T grayAt(const T *image, int64_t plane, int64_t i) {
  return static_cast<T>(kGrayRed) * image[i] +
         static_cast<T>(kGrayGreen) * image[plane + i] +
         static_cast<T>(kGrayBlue) * image[2 * plane + i];
}

//===----------------------------------------------------------------------===//
// Per-image transforms
//===----------------------------------------------------------------------===//

/// Source taps of linear interpolation along one axis (torch's
/// compute_indices_weights_linear with align_corners = false).
template <typename T> struct LinearTaps {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
};

template <typename T> LinearTaps<T> linearTaps(int64_t in, int64_t out) {
  LinearTaps<T> taps;
  T scale = static_cast<T>(in) / static_cast<T>(out);
  for (int64_t d = 0; d < out; ++d) {
    T src = scale * (static_cast<T>(d) + T(0.5)) - T(0.5);
    if (src < T(0))
      src = T(0);
    int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
    T l1 = std::min(std::max(src - static_cast<T>(i0), T(0)), T(1));
    taps.i0.push_back(i0);
    taps.i1.push_back(i0 < in - 1 ? i0 + 1 : i0);
    taps.l0.push_back(T(1) - l1);
    taps.l1.push_back(l1);
  }
  return taps;
}

/// Bilinear resize of `window` of one image to outH x outW (Augment.h).
template <typename T>
void resizeWindow(const T *in, const Dims &d, const CropWindow &window,
                  int64_t outH, int64_t outW, T *out) {
  LinearTaps<T> rows = linearTaps<T>(window.height, outH);
  LinearTaps<T> cols = linearTaps<T>(window.width, outW);
  for (int64_t c = 0; c < d.c; ++c) {
    const T *channel = in + c * d.plane();
    T *outChannel = out + c * outH * outW;
    for (int64_t oy = 0; oy < outH; ++oy) {
      const T *row0 = channel + (window.top + rows.i0[oy]) * d.w + window.left;
      const T *row1 = channel + (window.top + rows.i1[oy]) * d.w + window.left;
      for (int64_t ox = 0; ox < outW; ++ox) {
        int64_t j0 = cols.i0[ox], j1 = cols.i1[ox];
        T t0 = row0[j0] * cols.l0[ox] + row0[j1] * cols.l1[ox];
        T t1 = row1[j0] * cols.l0[ox] + row1[j1] * cols.l1[ox];
        outChannel[oy * outW + ox] = t0 * rows.l0[oy] + t1 * rows.l1[oy];
      }
    }
  }
}

template <typename T> void flipImage(T *image, const Dims &d) {
  for (int64_t row = 0; row < d.c * d.h; ++row)
    std::reverse(image + row * d.w, image + (row + 1) * d.w);
}

template <typename T> void grayscaleImage(T *image, const Dims &d) {
  int64_t plane = d.plane();
  for (int64_t i = 0; i < plane; ++i) {
    T gray = grayAt(image, plane, i);
    for (int64_t c = 0; c < kRgbChannels; ++c)
      image[c * plane + i] = gray;
  }
}

/// torchvision's _blend: clamp(factor * x + (1 - factor) * other).
template <typename T> T blend(T x, T other, double factor) {
  return clampUnit(static_cast<T>(factor) * x +
                   static_cast<T>(1.0 - factor) * other);
}

template <typename T>
void brightnessImage(T *image, const Dims &d, double factor) {
  for (int64_t i = 0; i < d.imageSize(); ++i)
    image[i] = clampUnit(static_cast<T>(factor) * image[i]);
}

template <typename T>
void contrastImage(T *image, const Dims &d, double factor) {
  int64_t plane = d.plane();
  double sum = 0;
  for (int64_t i = 0; i < plane; ++i)
    sum += static_cast<double>(d.c == kRgbChannels ? grayAt(image, plane, i)
                                                   : image[i]);
  T mean = static_cast<T>(sum / static_cast<double>(plane));
  for (int64_t i = 0; i < d.imageSize(); ++i)
    image[i] = blend(image[i], mean, factor);
}

template <typename T>
void saturationImage(T *image, const Dims &d, double factor) {
  int64_t plane = d.plane();
  for (int64_t i = 0; i < plane; ++i) {
    T gray = grayAt(image, plane, i);
    for (int64_t c = 0; c < kRgbChannels; ++c)
      image[c * plane + i] = blend(image[c * plane + i], gray, factor);
  }
}

/// torchvision's _rgb2hsv for one pixel: returns (h, s, v).
template <typename T> std::array<T, 3> rgbToHsv(T r, T g, T b) {
  T maxc = std::max(r, std::max(g, b));
  T minc = std::min(r, std::min(g, b));
  bool equal = maxc == minc;
  T range = maxc - minc;
  T s = range / (equal ? T(1) : maxc);
  T divisor = equal ? T(1) : range;
  T rc = (maxc - r) / divisor, gc = (maxc - g) / divisor,
    bc = (maxc - b) / divisor;
  // Exactly one of torchvision's three masked terms is selected.
  T h;
  if (maxc == r)
    h = bc - gc;
  else if (maxc == g)
    h = T(2) + rc - bc;
  else
    h = T(4) + gc - rc;
  h = std::fmod(h / static_cast<T>(kHueSectors) + T(1), T(1));
  return {h, s, maxc};
}

/// torchvision's _hsv2rgb for one pixel.
template <typename T> std::array<T, 3> hsvToRgb(T h, T s, T v) {
  T sector = std::floor(h * static_cast<T>(kHueSectors));
  T f = h * static_cast<T>(kHueSectors) - sector;
  int i = static_cast<int>(sector) % kHueSectors;
  if (i < 0)
    i += kHueSectors;
  T p = clampUnit(v * (T(1) - s));
  T q = clampUnit(v * (T(1) - s * f));
  T t = clampUnit(v * (T(1) - s * (T(1) - f)));
  switch (i) {
  case 0:
    return {v, t, p};
  case 1:
    return {q, v, p};
  case 2:
    return {p, v, t};
  case 3:
    return {p, q, v};
  case 4:
    return {t, p, v};
  default:
    return {v, p, q};
  }
}

template <typename T> void hueImage(T *image, const Dims &d, double shift) {
  int64_t plane = d.plane();
  T *red = image, *green = image + plane, *blue = image + 2 * plane;
  for (int64_t i = 0; i < plane; ++i) {
    std::array<T, 3> hsv = rgbToHsv(red[i], green[i], blue[i]);
    // torch's remainder by 1: the fractional part, in [0, 1] (1 only when a
    // tiny negative sum rounds up, which hsvToRgb maps to sector 0).
    T shifted = hsv[0] + static_cast<T>(shift);
    T hue = shifted - std::floor(shifted);
    std::array<T, 3> rgb = hsvToRgb(hue, hsv[1], hsv[2]);
    red[i] = clampUnit(rgb[0]);
    green[i] = clampUnit(rgb[1]);
    blue[i] = clampUnit(rgb[2]);
  }
}

/// torchvision's "reflect" padding: -1 -> 1, n -> n - 2. Valid for indices
/// within n - 1 of the image, which blurWithSigma's kernel-size check ensures.
int64_t reflect(int64_t i, int64_t n) {
  if (i < 0)
    return -i;
  if (i >= n)
    return 2 * (n - 1) - i;
  return i;
}

template <typename T>
void blurImage(T *image, const Dims &d, const std::vector<T> &kernel) {
  int64_t size = static_cast<int64_t>(kernel.size());
  int64_t radius = (size - 1) / 2;
  std::vector<T> rows(static_cast<size_t>(d.plane()));
  for (int64_t c = 0; c < d.c; ++c) {
    T *channel = image + c * d.plane();
    for (int64_t y = 0; y < d.h; ++y)
      for (int64_t x = 0; x < d.w; ++x) {
        T sum = T(0);
        for (int64_t i = 0; i < size; ++i)
          sum += kernel[i] * channel[y * d.w + reflect(x + i - radius, d.w)];
        rows[y * d.w + x] = sum;
      }
    for (int64_t y = 0; y < d.h; ++y)
      for (int64_t x = 0; x < d.w; ++x) {
        T sum = T(0);
        for (int64_t i = 0; i < size; ++i)
          sum += kernel[i] * rows[reflect(y + i - radius, d.h) * d.w + x];
        channel[y * d.w + x] = sum;
      }
  }
}

/// Applies `transform(image, dims)` in place to every image n of a copy of
/// x for which `chosen(n)` holds.
template <typename T, typename Choose, typename Transform>
Tensor<T> perImage(const Tensor<T> &x, const Dims &d, Choose chosen,
                   Transform transform) {
  Tensor<T> y = x;
  for (int64_t n = 0; n < d.n; ++n)
    if (chosen(n))
      transform(y.data.data() + n * d.imageSize(), d);
  return y;
}

//===----------------------------------------------------------------------===//
// Option checks shared by the fixed and the random kernels
//===----------------------------------------------------------------------===//

Status checkJitterOptions(const char *kernel, const Dims &d,
                          const ColorJitterOptions &options) {
  SIMCLR_RETURN_IF_ERROR(checkProbability(kernel, options.p));
  if (!(options.brightness >= 0.0 && options.contrast >= 0.0 &&
        options.saturation >= 0.0))
    return optionError(kernel,
                       "brightness, contrast and saturation must be >= 0");
  if (!(options.hue >= 0.0 && options.hue <= kMaxHueShift))
    return optionError(kernel, "hue = " + std::to_string(options.hue) +
                                   " must be in [0, 0.5]");
  if (d.c != 1 && d.c != kRgbChannels)
    return optionError(kernel,
                       "expected 1 or 3 channels, got " + std::to_string(d.c));
  if (d.c == 1 && (options.saturation > 0.0 || options.hue > 0.0))
    return optionError(kernel,
                       "saturation and hue need 3 channels; the input has 1");
  return Status::ok();
}

Status checkBlurGeometry(const char *kernel, const Dims &d,
                         int64_t kernelSize) {
  if (kernelSize < 1 || kernelSize % 2 == 0)
    return optionError(kernel, "kernel size " + std::to_string(kernelSize) +
                                   " must be odd and positive");
  int64_t side = std::min(d.h, d.w);
  if (kernelSize > 2 * side - 1)
    return optionError(kernel,
                       "kernel size " + std::to_string(kernelSize) +
                           " is too large for a " + std::to_string(d.h) + "x" +
                           std::to_string(d.w) + " image (reflect padding)");
  return Status::ok();
}

} // namespace

//===----------------------------------------------------------------------===//
// Random resized crop
//===----------------------------------------------------------------------===//

int64_t roundHalfToEven(double value) {
  double floorValue = std::floor(value);
  double fraction = value - floorValue;
  auto result = static_cast<int64_t>(floorValue);
  if (fraction > 0.5 || (fraction == 0.5 && result % 2 != 0))
    ++result;
  return result;
}

CropWindow sampleCropWindow(ImageStream &stream, int64_t height, int64_t width,
                            const Range &scale, const Range &ratio) {
  double area = static_cast<double>(height) * static_cast<double>(width);
  double logRatioLo = std::log(ratio[0]), logRatioHi = std::log(ratio[1]);
  for (int attempt = 0; attempt < kCropAttempts; ++attempt) {
    double targetArea = area * stream.uniform(scale[0], scale[1]);
    double aspect = std::exp(stream.uniform(logRatioLo, logRatioHi));
    int64_t w = roundHalfToEven(std::sqrt(targetArea * aspect));
    int64_t h = roundHalfToEven(std::sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      int64_t top = stream.randint(0, height - h);
      int64_t left = stream.randint(0, width - w);
      return CropWindow{top, left, h, w};
    }
  }
  // torchvision's fallback: the central crop with the aspect ratio clamped.
  double imageRatio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (imageRatio < ratio[0])
    h = std::max<int64_t>(1,
                          roundHalfToEven(static_cast<double>(w) / ratio[0]));
  else if (imageRatio > ratio[1])
    w = std::max<int64_t>(1,
                          roundHalfToEven(static_cast<double>(h) * ratio[1]));
  return CropWindow{(height - h) / 2, (width - w) / 2, h, w};
}

template <typename T>
Expected<Tensor<T>> resizedCrop(const Tensor<T> &x, const CropWindow &window,
                                int64_t outHeight, int64_t outWidth) {
  const char *kernel = "resizedCrop";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  Dims d = *dims;
  if (window.top < 0 || window.left < 0 || window.height < 1 ||
      window.width < 1 || window.top + window.height > d.h ||
      window.left + window.width > d.w)
    return detail::operandError(
        kernel, "x", x,
        "the crop window (top " + std::to_string(window.top) + ", left " +
            std::to_string(window.left) + ", " + std::to_string(window.height) +
            "x" + std::to_string(window.width) + ") is not inside the image");
  if (outHeight < 1 || outWidth < 1)
    return optionError(kernel, "the output size must be positive");
  Tensor<T> y = Tensor<T>::zeros({d.n, d.c, outHeight, outWidth});
  for (int64_t n = 0; n < d.n; ++n)
    resizeWindow(x.data.data() + n * d.imageSize(), d, window, outHeight,
                 outWidth, y.data.data() + n * d.c * outHeight * outWidth);
  return y;
}

template <typename T>
Expected<Tensor<T>> randomResizedCrop(const Tensor<T> &x, RngKey key,
                                      const Range &scale, const Range &ratio,
                                      int64_t outHeight, int64_t outWidth,
                                      uint64_t firstImage) {
  const char *kernel = "randomResizedCrop";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  Dims d = *dims;
  if (d.h < 1 || d.w < 1)
    return detail::operandError(kernel, "x", x, "the images are empty");
  SIMCLR_RETURN_IF_ERROR(checkRange(kernel, "scale", scale, /*upper=*/1.0));
  SIMCLR_RETURN_IF_ERROR(checkRange(kernel, "ratio", ratio, /*upper=*/0.0));
  if (outHeight < 1 || outWidth < 1)
    return optionError(kernel, "the output size must be positive");
  Tensor<T> y = Tensor<T>::zeros({d.n, d.c, outHeight, outWidth});
  for (int64_t n = 0; n < d.n; ++n) {
    ImageStream stream(key, firstImage + static_cast<uint64_t>(n));
    CropWindow window = sampleCropWindow(stream, d.h, d.w, scale, ratio);
    resizeWindow(x.data.data() + n * d.imageSize(), d, window, outHeight,
                 outWidth, y.data.data() + n * d.c * outHeight * outWidth);
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Horizontal flip and grayscale
//===----------------------------------------------------------------------===//

template <typename T>
Expected<Tensor<T>> horizontalFlip(const Tensor<T> &x, RngKey key, double p,
                                   uint64_t firstImage) {
  const char *kernel = "horizontalFlip";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkProbability(kernel, p));
  auto chosen = [&](int64_t n) {
    return ImageStream(key, firstImage + static_cast<uint64_t>(n)).uniform() < p;
  };
  return perImage(x, *dims, chosen, flipImage<T>);
}

template <typename T> Expected<Tensor<T>> toGrayscale(const Tensor<T> &x) {
  const char *kernel = "toGrayscale";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkChannels(kernel, *dims, kRgbChannels));
  return perImage(
      x, *dims, [](int64_t) { return true; }, grayscaleImage<T>);
}

template <typename T>
Expected<Tensor<T>> randomGrayscale(const Tensor<T> &x, RngKey key, double p,
                                    uint64_t firstImage) {
  const char *kernel = "randomGrayscale";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkChannels(kernel, *dims, kRgbChannels));
  SIMCLR_RETURN_IF_ERROR(checkProbability(kernel, p));
  auto chosen = [&](int64_t n) {
    return ImageStream(key, firstImage + static_cast<uint64_t>(n)).uniform() < p;
  };
  return perImage(x, *dims, chosen, grayscaleImage<T>);
}

//===----------------------------------------------------------------------===//
// Color jitter
//===----------------------------------------------------------------------===//

ColorJitterParams sampleColorJitter(ImageStream &stream,
                                    const ColorJitterOptions &options) {
  ColorJitterParams params;
  params.apply = stream.uniform() < options.p;
  params.order = {ColorAdjustment::kBrightness, ColorAdjustment::kContrast,
                  ColorAdjustment::kSaturation, ColorAdjustment::kHue};
  for (int i = kColorAdjustments - 1; i >= 1; --i) {
    int64_t j = stream.randint(0, i);
    std::swap(params.order[static_cast<size_t>(i)],
              params.order[static_cast<size_t>(j)]);
  }
  params.brightness = stream.uniform(std::max(0.0, 1.0 - options.brightness),
                                     1.0 + options.brightness);
  params.contrast = stream.uniform(std::max(0.0, 1.0 - options.contrast),
                                   1.0 + options.contrast);
  params.saturation = stream.uniform(std::max(0.0, 1.0 - options.saturation),
                                     1.0 + options.saturation);
  params.hue = stream.uniform(-options.hue, options.hue);
  return params;
}

template <typename T>
Expected<Tensor<T>> adjustBrightness(const Tensor<T> &x, double factor) {
  Expected<Dims> dims = checkImages("adjustBrightness", x);
  if (!dims)
    return dims.takeStatus();
  return perImage(
      x, *dims, [](int64_t) { return true; },
      [&](T *image, const Dims &d) { brightnessImage(image, d, factor); });
}

template <typename T>
Expected<Tensor<T>> adjustContrast(const Tensor<T> &x, double factor) {
  const char *kernel = "adjustContrast";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  if (dims->c != 1 && dims->c != kRgbChannels)
    return optionError(kernel, "expected 1 or 3 channels, got " +
                                   std::to_string(dims->c));
  return perImage(
      x, *dims, [](int64_t) { return true; },
      [&](T *image, const Dims &d) { contrastImage(image, d, factor); });
}

template <typename T>
Expected<Tensor<T>> adjustSaturation(const Tensor<T> &x, double factor) {
  const char *kernel = "adjustSaturation";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkChannels(kernel, *dims, kRgbChannels));
  return perImage(
      x, *dims, [](int64_t) { return true; },
      [&](T *image, const Dims &d) { saturationImage(image, d, factor); });
}

template <typename T>
Expected<Tensor<T>> adjustHue(const Tensor<T> &x, double shift) {
  const char *kernel = "adjustHue";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkChannels(kernel, *dims, kRgbChannels));
  return perImage(
      x, *dims, [](int64_t) { return true; },
      [&](T *image, const Dims &d) { hueImage(image, d, shift); });
}

template <typename T>
Expected<Tensor<T>> colorJitter(const Tensor<T> &x, RngKey key,
                                const ColorJitterOptions &options,
                                uint64_t firstImage) {
  const char *kernel = "colorJitter";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkJitterOptions(kernel, *dims, options));
  Tensor<T> y = x;
  for (int64_t n = 0; n < dims->n; ++n) {
    ImageStream stream(key, firstImage + static_cast<uint64_t>(n));
    ColorJitterParams params = sampleColorJitter(stream, options);
    if (!params.apply)
      continue;
    T *image = y.data.data() + n * dims->imageSize();
    for (ColorAdjustment adjustment : params.order) {
      switch (adjustment) {
      case ColorAdjustment::kBrightness:
        if (options.brightness > 0.0)
          brightnessImage(image, *dims, params.brightness);
        break;
      case ColorAdjustment::kContrast:
        if (options.contrast > 0.0)
          contrastImage(image, *dims, params.contrast);
        break;
      case ColorAdjustment::kSaturation:
        if (options.saturation > 0.0)
          saturationImage(image, *dims, params.saturation);
        break;
      case ColorAdjustment::kHue:
        if (options.hue > 0.0)
          hueImage(image, *dims, params.hue);
        break;
      }
    }
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Gaussian blur
//===----------------------------------------------------------------------===//

GaussianBlurParams sampleGaussianBlur(ImageStream &stream, const Range &sigma,
                                      double p) {
  GaussianBlurParams params;
  params.apply = stream.uniform() < p;
  params.sigma = stream.uniform(sigma[0], sigma[1]);
  return params;
}

template <typename T>
std::vector<T> gaussianKernel1d(int64_t kernelSize, double sigma) {
  assert(kernelSize >= 1 && kernelSize % 2 == 1 && sigma > 0.0 &&
         "gaussianKernel1d: needs an odd size and a positive sigma");
  T radius = static_cast<T>(kernelSize - 1) / T(2);
  std::vector<T> kernel;
  T sum = T(0);
  for (int64_t i = 0; i < kernelSize; ++i) {
    T scaled = (static_cast<T>(i) - radius) / static_cast<T>(sigma);
    kernel.push_back(std::exp(T(-0.5) * scaled * scaled));
    sum += kernel.back();
  }
  for (T &weight : kernel)
    weight /= sum;
  return kernel;
}

template <typename T>
Expected<Tensor<T>> blurWithSigma(const Tensor<T> &x, int64_t kernelSize,
                                  double sigma) {
  const char *kernel = "blurWithSigma";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkBlurGeometry(kernel, *dims, kernelSize));
  if (!(sigma > 0.0))
    return optionError(kernel, "sigma = " + std::to_string(sigma) +
                                   " must be positive");
  std::vector<T> weights = gaussianKernel1d<T>(kernelSize, sigma);
  return perImage(
      x, *dims, [](int64_t) { return true; },
      [&](T *image, const Dims &d) { blurImage(image, d, weights); });
}

template <typename T>
Expected<Tensor<T>> gaussianBlur(const Tensor<T> &x, RngKey key,
                                 int64_t kernelSize, const Range &sigma,
                                 double p, uint64_t firstImage) {
  const char *kernel = "gaussianBlur";
  Expected<Dims> dims = checkImages(kernel, x);
  if (!dims)
    return dims.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkBlurGeometry(kernel, *dims, kernelSize));
  SIMCLR_RETURN_IF_ERROR(checkRange(kernel, "sigma", sigma, /*upper=*/0.0));
  SIMCLR_RETURN_IF_ERROR(checkProbability(kernel, p));
  Tensor<T> y = x;
  for (int64_t n = 0; n < dims->n; ++n) {
    ImageStream stream(key, firstImage + static_cast<uint64_t>(n));
    GaussianBlurParams params = sampleGaussianBlur(stream, sigma, p);
    if (params.apply)
      blurImage(y.data.data() + n * dims->imageSize(), *dims,
                gaussianKernel1d<T>(kernelSize, params.sigma));
  }
  return y;
}

#define SIMCLR_INSTANTIATE_AUGMENT(T)                                          \
  template Expected<Tensor<T>> resizedCrop(                                    \
      const Tensor<T> &, const CropWindow &, int64_t, int64_t);                \
  template Expected<Tensor<T>> randomResizedCrop(const Tensor<T> &, RngKey,    \
                                                 const Range &, const Range &, \
                                                 int64_t, int64_t, uint64_t);  \
  template Expected<Tensor<T>> horizontalFlip(const Tensor<T> &, RngKey,       \
                                              double, uint64_t);               \
  template Expected<Tensor<T>> toGrayscale(const Tensor<T> &);                 \
  template Expected<Tensor<T>> randomGrayscale(const Tensor<T> &, RngKey,      \
                                               double, uint64_t);              \
  template Expected<Tensor<T>> adjustBrightness(const Tensor<T> &, double);    \
  template Expected<Tensor<T>> adjustContrast(const Tensor<T> &, double);      \
  template Expected<Tensor<T>> adjustSaturation(const Tensor<T> &, double);    \
  template Expected<Tensor<T>> adjustHue(const Tensor<T> &, double);           \
  template Expected<Tensor<T>> colorJitter(const Tensor<T> &, RngKey,          \
                                           const ColorJitterOptions &,         \
                                           uint64_t);                          \
  template std::vector<T> gaussianKernel1d<T>(int64_t, double);                \
  template Expected<Tensor<T>> blurWithSigma(const Tensor<T> &, int64_t,       \
                                             double);                          \
  template Expected<Tensor<T>> gaussianBlur(const Tensor<T> &, RngKey,         \
                                            int64_t, const Range &, double,    \
                                            uint64_t);

SIMCLR_INSTANTIATE_AUGMENT(float)
SIMCLR_INSTANTIATE_AUGMENT(double)

} // namespace simclr::ref
