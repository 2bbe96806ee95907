//===- Augment.h - Reference augmentation kernels ----------------*- C++
//-*-===//
//
// Plain-loop kernels of the `simclr` augmentation ops (random_resized_crop,
// horizontal_flip, color_jitter, random_grayscale, gaussian_blur). They are
// the oracle the Halide and CUDA augmentation kernels must reproduce, so the
// random draws of every op are specified here word by word.
//
// Randomness: each random kernel takes the op's RngKey and processes image n
// of the batch with ImageStream(key, firstImage + n) (simclr/Support/Philox.h),
// whose draw d is word d mod 4 of philox4x32(key, (lo32(m), hi32(m), d / 4, 0))
// for m = firstImage + n. `firstImage` (default 0, the graph's semantics) is
// the batch's position in a larger batch: a data-parallel rank augmenting
// images [firstImage, firstImage + N) of the global batch draws exactly what
// one process augmenting the whole global batch draws for them. An image's
// result therefore depends only on (key, m, the image): not on the batch
// size, the other images or the thread count. Each op consumes its own
// stream from draw 0 (the graph gives every op a distinct folded key). In the
// list below "U(lo, hi)" is ImageStream::uniform(lo, hi) (one draw,
// lo + (hi - lo) * u with u = (word >> 8) * 2^-24) and "randint(lo, hi)" is
// ImageStream::randint (one draw, inclusive bounds). Parameters are computed
// in double; pixels in T.
//
// Draw order per image:
//  - random_resized_crop: for attempt a = 0..9: draw 2a is
//    area = H*W*U(scale0, scale1), draw 2a+1 is
//    aspect = exp(U(log ratio0, log ratio1)); w = round(sqrt(area*aspect)),
//    h = round(sqrt(area/aspect)) with round half to even (Python's round, as
//    torchvision); if 0 < w <= W and 0 < h <= H, draw 2a+2 is
//    top = randint(0, H-h), draw 2a+3 is left = randint(0, W-w), and
//    sampling stops. If no attempt fits (20 draws), the window is
//    torchvision's fallback with no further draws: with r = W/H, w = W and
//    h = round(W/ratio0) when r < ratio0, h = H and w = round(H*ratio1) when
//    r > ratio1, else the whole image; top = (H-h)/2, left = (W-w)/2
//    (floor). (A fallback side that rounds to 0, possible only for a ratio
//    bound beyond twice the image's side ratio, is raised to 1.)
//  - horizontal_flip: draw 0 is u; flip when u < p.
//  - color_jitter: always 8 draws. Draw 0 is u_apply (jitter when
//    u_apply < p). Draws 1..3 shuffle the order [brightness, contrast,
//    saturation, hue] by Fisher-Yates: for i = 3, 2, 1: j = randint(0, i),
//    swap(order[i], order[j]). Draw 4: b = U(max(0, 1-B), 1+B); draw 5:
//    c = U(max(0, 1-C), 1+C); draw 6: s = U(max(0, 1-S), 1+S); draw 7:
//    h = U(-Hue, Hue). The adjustments then run in `order`, skipping those
//    whose range is zero (B, C, S or Hue == 0).
//  - random_grayscale: draw 0 is u; grayscale when u < p.
//  - gaussian_blur: draw 0 is u_apply, draw 1 is sigma = U(sigma0, sigma1)
//    (both always drawn); blur when u_apply < p.
//
// Pixel formulas (torchvision's functional_tensor, per image, in T):
//  - gray = 0.299 R + 0.587 G + 0.114 B (the op definition's ITU-R 601
//    weights; torchvision's tensor code writes 0.2989 for R).
//  - brightness: clamp(b * x); contrast: clamp(c * x + (1 - c) * m) with m
//    the mean of gray over the image (the only channel when C = 1),
//    accumulated in double; saturation: clamp(s * x + (1 - s) * gray);
//    hue: torchvision's _rgb2hsv, H' = (H + h) - floor(H + h), _hsv2rgb,
//    clamp. clamp is to [0, 1].
//  - resize: bilinear with half-pixel centres, align_corners = false, no
//    antialiasing, as torch's upsample_bilinear2d: per axis
//    scale = in / out, src = max(scale * (dst + 0.5) - 0.5, 0),
//    i0 = min(floor(src), in - 1), i1 = i0 + (i0 < in - 1),
//    l1 = clamp(src - i0, 0, 1), l0 = 1 - l1; per output pixel
//    t_r = x[r, j0] * lx0 + x[r, j1] * lx1 for rows r = i0, i1, then
//    y = t_i0 * ly0 + t_i1 * ly1.
//  - blur: k[i] = e[i] / sum_j e[j] with e[i] = exp(-0.5 * ((i - r) /
//    sigma)^2), r = (K - 1) / 2, the sum in order j = 0..K-1; a horizontal
//    pass (along each row) then a vertical pass, each sum_i k[i] *
//    x[reflect(p + i - r)] in order i = 0..K-1, with torchvision's reflect
//    padding (-1 -> 1, n -> n - 2).
//
// Conventions as in Kernels.h: NCHW, T float or double, operand or option
// errors are invalid-argument Statuses naming the kernel.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_REFERENCE_AUGMENT_H
#define SIMCLR_REFERENCE_AUGMENT_H

#include "simclr/Reference/Tensor.h"
#include "simclr/Support/Philox.h"
#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <vector>

namespace simclr::ref {

/// A closed range [lo, hi] of an op attribute (scale, ratio, sigma).
using Range = std::array<double, 2>;

//===----------------------------------------------------------------------===//
// Random resized crop
//===----------------------------------------------------------------------===//

/// Attempts of torchvision's RandomResizedCrop.get_params before it falls
/// back to a central crop.
constexpr int kCropAttempts = 10;

/// A crop window of an H x W image: rows [top, top + height), columns
/// [left, left + width).
struct CropWindow {
  int64_t top = 0;
  int64_t left = 0;
  int64_t height = 0;
  int64_t width = 0;
};

inline bool operator==(const CropWindow &a, const CropWindow &b) {
  return a.top == b.top && a.left == b.left && a.height == b.height &&
         a.width == b.width;
}

/// Rounds to the nearest integer, ties to even (Python's round()).
int64_t roundHalfToEven(double value);

/// Samples one image's crop window from `stream` (draw order in the file
/// comment). Expects height, width >= 1, 0 < scale[0] <= scale[1] and
/// 0 < ratio[0] <= ratio[1] (randomResizedCrop checks them).
CropWindow sampleCropWindow(ImageStream &stream, int64_t height, int64_t width,
                            const Range &scale, const Range &ratio);

/// Resizes `window` of every image of x[N,C,H,W] to [N,C,outHeight,outWidth]
/// bilinearly (formula in the file comment). The window must lie inside the
/// image.
template <typename T>
Expected<Tensor<T>> resizedCrop(const Tensor<T> &x, const CropWindow &window,
                                int64_t outHeight, int64_t outWidth);

/// simclr.random_resized_crop: image n is resizedCrop of the window
/// sampleCropWindow(ImageStream(key, n), ...) samples. Needs
/// 0 < scale[0] <= scale[1] <= 1, 0 < ratio[0] <= ratio[1], a positive size.
template <typename T>
Expected<Tensor<T>> randomResizedCrop(const Tensor<T> &x, RngKey key,
                                      const Range &scale, const Range &ratio,
                                      int64_t outHeight, int64_t outWidth,
                                      uint64_t firstImage = 0);

//===----------------------------------------------------------------------===//
// Horizontal flip and grayscale
//===----------------------------------------------------------------------===//

/// simclr.horizontal_flip: image n is mirrored (y[n,c,h,w] = x[n,c,h,W-1-w])
/// when its draw 0 is < p; 0 <= p <= 1.
template <typename T>
Expected<Tensor<T>> horizontalFlip(const Tensor<T> &x, RngKey key, double p,
                                   uint64_t firstImage = 0);

/// Every channel of every image of x[N,3,H,W] set to
/// gray = 0.299 R + 0.587 G + 0.114 B.
template <typename T> Expected<Tensor<T>> toGrayscale(const Tensor<T> &x);

/// simclr.random_grayscale: image n becomes toGrayscale of itself when its
/// draw 0 is < p; C = 3, 0 <= p <= 1.
template <typename T>
Expected<Tensor<T>> randomGrayscale(const Tensor<T> &x, RngKey key, double p,
                                    uint64_t firstImage = 0);

//===----------------------------------------------------------------------===//
// Color jitter
//===----------------------------------------------------------------------===//

/// The four adjustments of color_jitter, numbered as torchvision's fn_idx.
enum class ColorAdjustment { kBrightness = 0, kContrast, kSaturation, kHue };
constexpr int kColorAdjustments = 4;

/// The strengths of simclr.color_jitter, as its attributes.
struct ColorJitterOptions {
  double brightness = 0;
  double contrast = 0;
  double saturation = 0;
  double hue = 0;
  double p = 1;
};

/// One image's sampled jitter: whether it applies, the order of the
/// adjustments and the four factors (all sampled even when not applied).
struct ColorJitterParams {
  bool apply = false;
  std::array<ColorAdjustment, kColorAdjustments> order{};
  double brightness = 1;
  double contrast = 1;
  double saturation = 1;
  double hue = 0;
};

/// Samples one image's jitter from `stream`: exactly 8 draws (file comment).
ColorJitterParams sampleColorJitter(ImageStream &stream,
                                    const ColorJitterOptions &options);

/// clamp(factor * x) for every image of x[N,C,H,W].
template <typename T>
Expected<Tensor<T>> adjustBrightness(const Tensor<T> &x, double factor);

/// clamp(factor * x + (1 - factor) * mean(gray(image))) per image; C is 1
/// or 3.
template <typename T>
Expected<Tensor<T>> adjustContrast(const Tensor<T> &x, double factor);

/// clamp(factor * x + (1 - factor) * gray(pixel)); C = 3.
template <typename T>
Expected<Tensor<T>> adjustSaturation(const Tensor<T> &x, double factor);

/// Rotates the hue of every pixel by `shift` turns (RGB -> HSV,
/// H' = fract(H + shift), HSV -> RGB, as torchvision); C = 3.
template <typename T>
Expected<Tensor<T>> adjustHue(const Tensor<T> &x, double shift);

/// simclr.color_jitter: image n is jittered with
/// sampleColorJitter(ImageStream(key, n), options). Needs brightness,
/// contrast, saturation >= 0, 0 <= hue <= 0.5, 0 <= p <= 1, C of 1 or 3, and
/// saturation = hue = 0 when C = 1.
template <typename T>
Expected<Tensor<T>> colorJitter(const Tensor<T> &x, RngKey key,
                                const ColorJitterOptions &options,
                                uint64_t firstImage = 0);

//===----------------------------------------------------------------------===//
// Gaussian blur
//===----------------------------------------------------------------------===//

/// One image's sampled blur: whether it applies and its sigma (both drawn).
struct GaussianBlurParams {
  bool apply = false;
  double sigma = 0;
};

/// Samples one image's blur from `stream`: exactly 2 draws.
GaussianBlurParams sampleGaussianBlur(ImageStream &stream, const Range &sigma,
                                      double p);

/// The normalized 1-D Gaussian of odd `kernelSize` K and `sigma` > 0:
/// k[i] = e[i] / sum_j e[j], e[i] = exp(-0.5 * ((i - (K-1)/2) / sigma)^2),
/// evaluated in T.
template <typename T>
std::vector<T> gaussianKernel1d(int64_t kernelSize, double sigma);

/// Blurs every image of x[N,C,H,W] with gaussianKernel1d(kernelSize, sigma),
/// rows then columns, reflect padding; needs K odd and K <= 2*min(H,W) - 1.
template <typename T>
Expected<Tensor<T>> blurWithSigma(const Tensor<T> &x, int64_t kernelSize,
                                  double sigma);

/// simclr.gaussian_blur: image n is blurred with the sigma of
/// sampleGaussianBlur(ImageStream(key, n), ...) when that applies. Needs
/// 0 < sigma[0] <= sigma[1], 0 <= p <= 1 and blurWithSigma's constraints.
template <typename T>
Expected<Tensor<T>> gaussianBlur(const Tensor<T> &x, RngKey key,
                                 int64_t kernelSize, const Range &sigma,
                                 double p, uint64_t firstImage = 0);

} // namespace simclr::ref

#endif // SIMCLR_REFERENCE_AUGMENT_H
