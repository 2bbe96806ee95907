//===- Kernels.h - Reference forward and backward kernels -------*- C++ -*-===//
//
// Plain-loop reference implementations of every kernel a SimCLR training step
// needs, forward and backward, with PyTorch's exact semantics. Generated
// CPU/CUDA kernels and the reference executor are checked against these, so
// they favour obviously-correct loops over speed.
//
// Conventions:
//  - Layouts are NCHW; T is float or double (explicitly instantiated for both).
//  - A shape mismatch is a caller bug, reported as an invalid-argument Status
//    naming the kernel and the offending shapes; nothing throws.
//  - Backward kernels return gradients with respect to the forward inputs and
//    take whatever forward values they need (inputs, outputs, statistics).
//  - Optimizer steps update the parameter and their state tensors in place.
//  - Hyperparameters are doubles, converted to T where applied.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_REFERENCE_KERNELS_H
#define SIMCLR_REFERENCE_KERNELS_H

#include "simclr/Reference/Tensor.h"
#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace simclr::ref {

/// Blocks template deduction through an optional operand so callers can pass
/// `nullptr` for it (C++20's std::type_identity_t).
template <typename T> using NoDeduce = typename std::enable_if<true, T>::type;

/// Gradients of a two-operand kernel (add, matmul).
template <typename T> struct BinaryGrads {
  Tensor<T> da;
  Tensor<T> db;
};

//===----------------------------------------------------------------------===//
// Convolution (Conv.cpp)
//===----------------------------------------------------------------------===//

/// Geometry of conv2d, as torch.nn.functional.conv2d's arguments
/// ({height, width} pairs).
struct Conv2dOptions {
  std::array<int64_t, 2> stride = {1, 1};
  std::array<int64_t, 2> padding = {0, 0};
  std::array<int64_t, 2> dilation = {1, 1};
  int64_t groups = 1;
};

/// Output extent of a convolution or pooling window along one axis:
/// floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1.
/// Returns a value <= 0 when the (padded) input is smaller than the window.
int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride,
                       int64_t padding, int64_t dilation);

/// y[N,F,OH,OW] = cross-correlation of x[N,C,H,W] (zero padded) with
/// w[F,C/groups,KH,KW], plus bias[F] when `bias` is non-null. Output channel f
/// reads input channels of group f / (F/groups).
template <typename T>
Expected<Tensor<T>> conv2d(const Tensor<T> &x, const Tensor<T> &w,
                           const NoDeduce<Tensor<T>> *bias,
                           const Conv2dOptions &options);

template <typename T> struct Conv2dGrads {
  Tensor<T> dx;
  Tensor<T> dw;
  /// Filled only when the forward had a bias; default-constructed otherwise.
  Tensor<T> dbias;
};

/// Gradients of conv2d given dy[N,F,OH,OW] and the forward operands; dbias[F]
/// is filled only when `hasBias`.
template <typename T>
Expected<Conv2dGrads<T>> conv2dBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                        const Tensor<T> &w, bool hasBias,
                                        const Conv2dOptions &options);

//===----------------------------------------------------------------------===//
// Normalization (Norm.cpp)
//===----------------------------------------------------------------------===//

template <typename T> struct BatchNormTrainResult {
  Tensor<T> y;
  /// Per-channel mean over N*H*W elements.
  Tensor<T> batchMean;
  /// Per-channel BIASED variance (divided by N*H*W), as used to normalize.
  Tensor<T> batchVar;
};

/// Training-mode batch norm of x[N,C] or x[N,C,H,W] with gamma[C], beta[C]:
/// y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics over all axes
/// but C. Needs N*H*W >= 2 (as PyTorch in training mode).
template <typename T>
Expected<BatchNormTrainResult<T>>
batchNormTrain(const Tensor<T> &x, const Tensor<T> &gamma,
               const Tensor<T> &beta, double eps);

template <typename T> struct BatchNormGrads {
  Tensor<T> dx;
  Tensor<T> dgamma;
  Tensor<T> dbeta;
};

/// Exact gradients of batchNormTrain (dx flows through the batch statistics),
/// given the forward input and the batchMean/batchVar it produced.
template <typename T>
Expected<BatchNormGrads<T>>
batchNormTrainBackward(const Tensor<T> &dy, const Tensor<T> &x,
                       const Tensor<T> &gamma, const Tensor<T> &batchMean,
                       const Tensor<T> &batchVar, double eps);

/// PyTorch's running-statistics update, in place:
/// runningMean = (1-m)*runningMean + m*batchMean,
/// runningVar = (1-m)*runningVar + m*batchVar*count/(count-1)
/// (the unbiased correction), where count = N*H*W >= 2.
template <typename T>
Status runningStatsUpdate(Tensor<T> &runningMean, Tensor<T> &runningVar,
                          const Tensor<T> &batchMean, const Tensor<T> &batchVar,
                          int64_t count, double momentum);

/// Inference-mode batch norm with given statistics mean[C], var[C]:
/// y = (x - mean) / sqrt(var + eps) * gamma + beta.
template <typename T>
Expected<Tensor<T>>
batchNormInference(const Tensor<T> &x, const Tensor<T> &gamma,
                   const Tensor<T> &beta, const Tensor<T> &mean,
                   const Tensor<T> &var, double eps);

/// Per-channel standardization of x[N,C,H,W] (torchvision's Normalize):
/// y = (x - mean[c]) / stddev[c], with C entries in mean and stddev, each > 0.
template <typename T>
Expected<Tensor<T>> normalize(const Tensor<T> &x,
                              const std::vector<double> &mean,
                              const std::vector<double> &stddev);

/// y[C] = sum of x[N,C] over N or of x[N,C,H,W] over N, H and W: the gradient
/// of a per-channel bias.
template <typename T> Expected<Tensor<T>> sumToChannels(const Tensor<T> &x);

/// torch.nn.functional.normalize's default eps.
constexpr double kL2NormalizeDefaultEps = 1e-12;

/// Row-wise y[N,D] = x / max(||x_row||_2, eps), as F.normalize(x, dim=1).
template <typename T>
Expected<Tensor<T>> l2Normalize(const Tensor<T> &x,
                                double eps = kL2NormalizeDefaultEps);

/// Gradient of l2Normalize given the forward input x. Rows with norm >= eps
/// get (dy - y*(y.dy)) / ||x||; rows clamped to eps get dy / eps (PyTorch's
/// clamp_min passes the gradient where norm >= eps).
template <typename T>
Expected<Tensor<T>> l2NormalizeBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                        double eps = kL2NormalizeDefaultEps);

//===----------------------------------------------------------------------===//
// Element-wise (Elementwise.cpp)
//===----------------------------------------------------------------------===//

/// y = max(x, 0); NaN propagates, as torch.relu.
template <typename T> Expected<Tensor<T>> relu(const Tensor<T> &x);

/// dx = dy where y > 0, else 0 (PyTorch's choice of 0 at the kink), given
/// the forward output y.
template <typename T>
Expected<Tensor<T>> reluBackward(const Tensor<T> &dy, const Tensor<T> &y);

/// c = a + b for equal shapes (no broadcasting).
template <typename T>
Expected<Tensor<T>> add(const Tensor<T> &a, const Tensor<T> &b);

/// da = db = dc.
template <typename T> Expected<BinaryGrads<T>> addBackward(const Tensor<T> &dc);

/// y = factor * x.
template <typename T> Tensor<T> scale(const Tensor<T> &x, double factor);

/// dx = factor * dy.
template <typename T>
Tensor<T> scaleBackward(const Tensor<T> &dy, double factor);

/// uint8 pixels to [0, 1]: y = x / 255, for x holding integers in [0, 255]
/// (the pixel values of a uint8 image batch, carried in a float tensor).
template <typename T> Expected<Tensor<T>> imageToFloat(const Tensor<T> &x);

//===----------------------------------------------------------------------===//
// Data movement (Elementwise.cpp)
//===----------------------------------------------------------------------===//

/// A tensor of `shape` with every element equal to the rank-0 `x`.
template <typename T>
Expected<Tensor<T>> broadcast(const Tensor<T> &x,
                              const std::vector<int64_t> &shape);

/// x's row-major elements with a new `shape` of the same element count.
template <typename T>
Expected<Tensor<T>> reshape(const Tensor<T> &x,
                            const std::vector<int64_t> &shape);

/// Joins one or more tensors of one rank along `dim`; every other extent must
/// agree. The pointers must be non-null; they are only read.
template <typename T>
Expected<Tensor<T>> concat(const std::vector<const Tensor<T> *> &inputs,
                           int64_t dim);

/// y[..., i, ...] = x[..., offset + i, ...] along `dim` for i < size.
template <typename T>
Expected<Tensor<T>> slice(const Tensor<T> &x, int64_t dim, int64_t offset,
                          int64_t size);

//===----------------------------------------------------------------------===//
// Pooling (Pool.cpp)
//===----------------------------------------------------------------------===//

/// Geometry of maxPool2d ({height, width} pairs); floor mode, no dilation.
struct Pool2dOptions {
  std::array<int64_t, 2> kernel = {1, 1};
  std::array<int64_t, 2> stride = {1, 1};
  /// Implicit -inf padding; at most half the kernel, as PyTorch requires.
  std::array<int64_t, 2> padding = {0, 0};
};

/// y[N,C,OH,OW] = max over each window of x[N,C,H,W]; NaN wins, as in
/// PyTorch's CPU kernel.
template <typename T>
Expected<Tensor<T>> maxPool2d(const Tensor<T> &x, const Pool2dOptions &options);

/// Routes each dy element to the FIRST maximal input of its window in
/// row-major scan order (PyTorch CPU), accumulating over overlapping windows.
template <typename T>
Expected<Tensor<T>> maxPool2dBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                      const Pool2dOptions &options);

/// y[N,C] = mean of x[N,C,H,W] over H and W.
template <typename T> Expected<Tensor<T>> globalAvgPool(const Tensor<T> &x);

/// dx[N,C,H,W] = dy[N,C] / (H*W); `inputShape` is the forward input's shape.
template <typename T>
Expected<Tensor<T>>
globalAvgPoolBackward(const Tensor<T> &dy,
                      const std::vector<int64_t> &inputShape);

//===----------------------------------------------------------------------===//
// Dense layers (Dense.cpp)
//===----------------------------------------------------------------------===//

/// y[N,M] = x[N,K] w[M,K]^T + b[M] (PyTorch's nn.Linear layout); `b` may be
/// null.
template <typename T>
Expected<Tensor<T>> linear(const Tensor<T> &x, const Tensor<T> &w,
                           const NoDeduce<Tensor<T>> *b);

template <typename T> struct LinearGrads {
  Tensor<T> dx;
  Tensor<T> dw;
  /// Filled only when the forward had a bias.
  Tensor<T> db;
};

template <typename T>
Expected<LinearGrads<T>> linearBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                        const Tensor<T> &w, bool hasBias);

/// c = op(a) op(b) for 2-D a, b where op transposes when asked.
template <typename T>
Expected<Tensor<T>> matmul(const Tensor<T> &a, const Tensor<T> &b,
                           bool transposeA, bool transposeB);

/// Gradients of matmul; da and db have the shapes of a and b.
template <typename T>
Expected<BinaryGrads<T>> matmulBackward(const Tensor<T> &dc, const Tensor<T> &a,
                                        const Tensor<T> &b, bool transposeA,
                                        bool transposeB);

//===----------------------------------------------------------------------===//
// Contrastive loss and its primitives (Loss.cpp)
//===----------------------------------------------------------------------===//

/// NT-Xent (SimCLR eq. 1) of z[2N,D]: zn = l2Normalize(z),
/// s = zn zn^T / temperature, p(i) = (i+N) mod 2N,
/// loss = mean_i(-s[i,p(i)] + logsumexp_{k != i} s[i,k]). Returns a rank-0
/// tensor. Stable for small temperatures (subtracts each row's maximum).
template <typename T>
Expected<Tensor<T>> ntXent(const Tensor<T> &z, double temperature);

/// dz given the forward input z and the upstream gradient dloss (rank 0).
template <typename T>
Expected<Tensor<T>> ntXentBackward(const Tensor<T> &dloss, const Tensor<T> &z,
                                   double temperature);

/// out[i,j] = scale*s[i,j] - logsumexp_{k != i}(scale*s[i,k]) for j != i and
/// out[i,i] = 0, for square s[M,M]: a log-softmax that excludes the diagonal.
template <typename T>
Expected<Tensor<T>> maskedScaledLogSoftmax(const Tensor<T> &s, double scale);

/// ds given the forward OUTPUT `out` (as PyTorch's log_softmax backward):
/// ds[i,j] = scale*(dout[i,j] - exp(out[i,j]) * sum_{k != i} dout[i,k]) for
/// j != i, ds[i,i] = 0.
template <typename T>
Expected<Tensor<T>> maskedScaledLogSoftmaxBackward(const Tensor<T> &dout,
                                                   const Tensor<T> &out,
                                                   double scale);

/// v[i] = m[i, (i+N) mod 2N] for m[2N,2N]: each row's positive pair.
template <typename T> Expected<Tensor<T>> gatherPositives(const Tensor<T> &m);

/// dm[2N,2N]: dv[i] at (i, (i+N) mod 2N), zero elsewhere.
template <typename T>
Expected<Tensor<T>> gatherPositivesBackward(const Tensor<T> &dv);

/// Mean of all elements of x (at least one), as a rank-0 tensor.
template <typename T> Expected<Tensor<T>> reduceMean(const Tensor<T> &x);

/// dx of `inputShape` filled with dy / numElements; dy is rank 0.
template <typename T>
Expected<Tensor<T>> reduceMeanBackward(const Tensor<T> &dy,
                                       const std::vector<int64_t> &inputShape);

//===----------------------------------------------------------------------===//
// Optimizers and schedule (Optimizers.cpp)
//===----------------------------------------------------------------------===//

/// torch.optim.SGD with dampening 0 and no Nesterov.
struct SgdOptions {
  double learningRate = 0;
  double momentum = 0;
  double weightDecay = 0;
};

/// One SGD step in place: g = grad + wd*p; buf = momentum*buf + g; p -= lr*buf.
/// `momentumBuffer` must start at zero, which makes the first buf equal g as
/// in PyTorch.
template <typename T>
Status sgdStep(Tensor<T> &param, const Tensor<T> &grad,
               Tensor<T> &momentumBuffer, const SgdOptions &options);

/// torch.optim.AdamW (amsgrad off).
struct AdamWOptions {
  double learningRate = 0;
  double beta1 = 0;
  double beta2 = 0;
  double epsilon = 0;
  double weightDecay = 0;
};

/// One AdamW step in place, `step` the 1-based step count:
/// p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps).
template <typename T>
Status adamWStep(Tensor<T> &param, const Tensor<T> &grad, Tensor<T> &expAvg,
                 Tensor<T> &expAvgSq, int64_t step,
                 const AdamWOptions &options);

/// SimCLR's TensorFlow LARSOptimizer with classic momentum, no Nesterov.
struct LarsOptions {
  double learningRate = 0;
  double momentum = 0;
  double weightDecay = 0;
  /// Trust coefficient ("eeta" in SimCLR's lars_optimizer.py).
  double eta = 0;
  /// False for biases and batch-norm parameters, which SimCLR excludes from
  /// both layer adaptation and weight decay.
  bool layerAdaptation = true;
};

/// One LARS step in place. With layer adaptation: g = grad + wd*p and
/// trust = eta*||p||/||g|| when both norms are positive, else 1; without:
/// g = grad, trust = 1. Then v = momentum*v + lr*trust*g; p -= v.
template <typename T>
Status larsStep(Tensor<T> &param, const Tensor<T> &grad, Tensor<T> &velocity,
                const LarsOptions &options);

/// SimCLR's learning rate at 0-based `step`: linear warm-up from 0 to baseLr
/// over warmupSteps, then cosine decay to finalLr over the remaining
/// totalSteps - warmupSteps steps, holding finalLr afterwards.
Expected<double> lrWarmupCosine(int64_t step, double baseLr, double finalLr,
                                int64_t warmupSteps, int64_t totalSteps);

} // namespace simclr::ref

#endif // SIMCLR_REFERENCE_KERNELS_H
