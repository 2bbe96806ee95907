//===- SimclrOps.td - Ops of the simclr dialect -------------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_TD
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_TD

include "simclr/Dialect/Simclr/IR/SimclrDialect.td"
include "simclr/Dialect/Simclr/IR/SimclrTypes.td"
include "simclr/Dialect/Simclr/IR/SimclrInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Type and attribute constraints
//===----------------------------------------------------------------------===//

class Simclr_FloatTensorOfRank<list<int> ranks, string what>
    : RankedTensorOf<[F32, BF16, F16], [HasStaticShapePred, HasAnyRankOfPred<ranks>],
                     "statically shaped " # what>;

def Simclr_FloatTensor : RankedTensorOf<[F32, BF16, F16], [HasStaticShapePred],
                                        "statically shaped tensor">;
def Simclr_ImageBatch : Simclr_FloatTensorOfRank<[4], "NCHW tensor">;
def Simclr_FeatureBatch : Simclr_FloatTensorOfRank<[2, 4], "N x C or NCHW tensor">;
def Simclr_Matrix : Simclr_FloatTensorOfRank<[2], "2-D tensor">;
def Simclr_Vector : Simclr_FloatTensorOfRank<[1], "1-D tensor">;
def Simclr_Scalar : Simclr_FloatTensorOfRank<[0], "0-D tensor">;
def Simclr_U8ImageBatch : RankedTensorOf<[UI8], [HasStaticShapePred, HasAnyRankOfPred<[4]>],
                                         "statically shaped NCHW tensor">;
def Simclr_StepTensor : Type<
    CPred<"$_self == ::mlir::RankedTensorType::get({}, ::mlir::IntegerType::get($_self.getContext(), 64))">,
    "0-D tensor of i64 (a step count)", "::mlir::RankedTensorType"> {
  let builderCall = "::mlir::RankedTensorType::get({}, $_builder.getI64Type())";
}

def Simclr_Pair : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<2>]>;
def Simclr_PositivePair : ConfinedAttr<DenseI64ArrayAttr,
    [DenseArrayCount<2>, DenseArrayStrictlyPositive<DenseI64ArrayAttr>]>;
def Simclr_NonNegativePair : ConfinedAttr<DenseI64ArrayAttr,
    [DenseArrayCount<2>, DenseArrayNonNegative<DenseI64ArrayAttr>]>;
// Float attributes are finite (issue 14): the emitters print each one as a
// C++ or CUDA literal and inf/nan have none. validateSpec keeps specs from
// producing them; these constraints refuse hand-written or built IR.
def Simclr_FiniteF64Attr : ConfinedAttr<F64Attr, [AttrConstraint<
    CPred<"::llvm::cast<::mlir::FloatAttr>($_self).getValue().isFinite()">,
    "whose value is finite">]>;
def Simclr_FiniteF64Values : AttrConstraint<
    CPred<"::llvm::all_of(::llvm::cast<::mlir::DenseF64ArrayAttr>($_self).asArrayRef(), "
          "[](double v) { return ::llvm::APFloat(v).isFinite(); })">,
    "whose values are finite">;
def Simclr_FiniteF64Array : ConfinedAttr<DenseF64ArrayAttr, [Simclr_FiniteF64Values]>;
def Simclr_F64Range : ConfinedAttr<DenseF64ArrayAttr,
    [DenseArrayCount<2>, Simclr_FiniteF64Values]>;

class Simclr_Op<string mnemonic, list<Trait> traits = []>
    : Op<Simclr_Dialect, mnemonic, traits>;

// Ops that simclr-autodiff differentiates; adjoints in SimclrAdjoints.cpp.
def DifferentiableOp : DeclareOpInterfaceMethods<Simclr_DifferentiableOpInterface>;

// Elementwise ops: each result element depends only on the operand elements
// at the same index (after broadcast's index remap). The fusion passes
// (simclr-fuse-*) group them and the kernel code generator emits them as
// per-element expressions inside one loop nest, so both rely on exactly this
// list: relu, relu_backward, add, scale, fill (0-D or any shape), broadcast
// (result[i] = input[remap(i)]: a 0-D input or a per-channel vector) and
// image_to_float. Each has one result; every operand and the result have
// one shape, except broadcast's input and 0-D tensors. The C++ trait is
// mlir::simclr::ElementwiseOp (SimclrOps.h).
def Simclr_Elementwise : NativeOpTrait<"ElementwiseOp"> {
  let cppNamespace = "::mlir::simclr";
}

// An op whose result types follow from its operands and attributes, so its
// builders need no result types. MLIR's InferTypeOpInterface verification
// can only say "failed to infer returned types"; instead, inference yields
// a placeholder when operands are inconsistent, isCompatibleReturnTypes
// defers to verify(), and verify() reports the precise problem (operand
// shapes that do not compose, or a written result type that differs from
// the inferred one) at the op.
class Simclr_InferredOp<string mnemonic, list<Trait> traits = []>
    : Simclr_Op<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])> {
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    static bool isCompatibleReturnTypes(::mlir::TypeRange inferred,
                                        ::mlir::TypeRange actual);
  }];
}

//===----------------------------------------------------------------------===//
// Randomness and input conversion
//===----------------------------------------------------------------------===//

def Simclr_RngFoldInOp : Simclr_Op<"rng_fold_in", [Pure]> {
  let summary = "Derives an independent key from a key and a tag";
  let description = [{
    Returns the key `philox(key, counter = tag)` truncated to its first two
    words: a key statistically independent of `key` and of every other tag.
    Used to give the two views of a batch (tags 0 and 1) independent
    augmentation streams.

    Example:
    ```mlir
    %view0 = simclr.rng_fold_in %key {tag = 0 : i64}
    ```
  }];
  let arguments = (ins Simclr_RngKeyType:$key, I64Attr:$tag);
  let results = (outs Simclr_RngKeyType:$result);
  let assemblyFormat = "$key attr-dict";
}

def Simclr_ImageToFloatOp : Simclr_Op<"image_to_float", [Pure, Simclr_Elementwise]> {
  let summary = "Converts uint8 images to floating point in [0, 1]";
  let description = [{
    `result[n, c, h, w] = input[n, c, h, w] / 255`. Images are stored as
    uint8 and converted only here, at the start of the augmentation chain.
    The result has the input's shape and a floating-point element type.

    Example:
    ```mlir
    %x = simclr.image_to_float %images : tensor<8x1x28x28xui8> -> tensor<8x1x28x28xf32>
    ```
  }];
  let arguments = (ins Simclr_U8ImageBatch:$input);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Augmentations (not differentiated; each image draws from philox(key, n))
//===----------------------------------------------------------------------===//

def Simclr_RandomResizedCropOp : Simclr_InferredOp<"random_resized_crop",
    [Pure]> {
  let summary = "Crops a random area and aspect ratio, resized bilinearly";
  let description = [{
    For each image `n` of `input` (N x C x H x W), samples a crop exactly as
    torchvision's `RandomResizedCrop.get_params`: up to 10 attempts of
    `area = H*W*U(scale[0], scale[1])`,
    `aspect = exp(U(log ratio[0], log ratio[1]))`,
    `w = round(sqrt(area*aspect))`, `h = round(sqrt(area/aspect))`; the
    first attempt with `0 < w <= W` and `0 < h <= H` places the crop at
    `top = randint(0, H-h)`, `left = randint(0, W-w)` (inclusive). If all
    attempts fail, the crop is the central one with the aspect ratio clamped
    to `ratio`. The crop is resized to `size` = [h_out, w_out] by bilinear
    interpolation with half-pixel centres (`align_corners = false`, no
    antialiasing). Result: N x C x h_out x w_out.

    Constraints: 0 < scale[0] <= scale[1] <= 1; 0 < ratio[0] <= ratio[1];
    size positive.

    Example:
    ```mlir
    %y = simclr.random_resized_crop %key, %x {scale = array<f64: 0.08, 1.0>,
           ratio = array<f64: 0.75, 1.3333333333333333>, size = array<i64: 24, 24>}
         : tensor<8x3x32x32xf32> -> tensor<8x3x24x24xf32>
    ```
  }];
  let arguments = (ins Simclr_RngKeyType:$key, Simclr_ImageBatch:$input,
                       Simclr_F64Range:$scale, Simclr_F64Range:$ratio,
                       Simclr_PositivePair:$size);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$key `,` $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Simclr_HorizontalFlipOp : Simclr_Op<"horizontal_flip",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Mirrors each image left-right with probability p";
  let description = [{
    For each image `n`, with probability `p` (one uniform draw u < p):
    `result[n, c, h, w] = input[n, c, h, W-1-w]`; otherwise a copy.
    Constraint: 0 <= p <= 1.

    Example:
    ```mlir
    %y = simclr.horizontal_flip %key, %x {p = 5.000000e-01 : f64} : tensor<8x3x32x32xf32>
    ```
  }];
  let arguments = (ins Simclr_RngKeyType:$key, Simclr_ImageBatch:$input, Simclr_FiniteF64Attr:$p);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$key `,` $input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Simclr_ColorJitterOp : Simclr_Op<"color_jitter",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Random brightness, contrast, saturation and hue, with probability p";
  let description = [{
    For each image, with probability `p`, applies torchvision's ColorJitter:
    factors `b ~ U(max(0, 1-brightness), 1+brightness)`, `c` and `s` alike
    from `contrast` and `saturation`, `h ~ U(-hue, hue)`; the four
    adjustments (those with a non-zero range) run in a uniformly random
    order, each clamping to [0, 1]:
    * brightness: `x * b`;
    * contrast: `c * x + (1 - c) * mean(gray(x))`, the mean over the image;
    * saturation: `s * x + (1 - s) * gray(x)`;
    * hue: RGB to HSV, `H = (H + h) mod 1`, back to RGB;
    where `gray = 0.299 R + 0.587 G + 0.114 B` (ITU-R 601), or the only
    channel of a 1-channel image. Saturation and hue need C = 3.
    Constraints: brightness, contrast, saturation >= 0; 0 <= hue <= 0.5;
    0 <= p <= 1; C is 1 or 3.

    Example:
    ```mlir
    %y = simclr.color_jitter %key, %x {brightness = 4.0e-01 : f64, contrast = 4.0e-01 : f64,
           saturation = 4.0e-01 : f64, hue = 1.0e-01 : f64, p = 8.0e-01 : f64} : tensor<8x3x32x32xf32>
    ```
  }];
  let arguments = (ins Simclr_RngKeyType:$key, Simclr_ImageBatch:$input,
                       Simclr_FiniteF64Attr:$brightness, Simclr_FiniteF64Attr:$contrast,
                       Simclr_FiniteF64Attr:$saturation, Simclr_FiniteF64Attr:$hue, Simclr_FiniteF64Attr:$p);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$key `,` $input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Simclr_RandomGrayscaleOp : Simclr_Op<"random_grayscale",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Replaces every channel by the luma, with probability p";
  let description = [{
    For each image, with probability `p`:
    `result[n, c, h, w] = 0.299 R + 0.587 G + 0.114 B` for every channel c
    (torchvision's `rgb_to_grayscale` with 3 output channels).
    Constraints: C = 3; 0 <= p <= 1.

    Example:
    ```mlir
    %y = simclr.random_grayscale %key, %x {p = 2.0e-01 : f64} : tensor<8x3x32x32xf32>
    ```
  }];
  let arguments = (ins Simclr_RngKeyType:$key, Simclr_ImageBatch:$input, Simclr_FiniteF64Attr:$p);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$key `,` $input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Simclr_GaussianBlurOp : Simclr_Op<"gaussian_blur",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Blurs with a Gaussian of random sigma, with probability p";
  let description = [{
    For each image, with probability `p`: draws `sigma ~ U(sigma[0],
    sigma[1])` and convolves each channel with the separable kernel
    `k[i] = exp(-(i - r)^2 / (2 sigma^2)) / sum_j exp(-(j - r)^2 / (2 sigma^2))`,
    `i` in [0, K), `r = (K - 1) / 2`, K = `kernel_size`, first along rows then
    columns, with reflect padding (torchvision's GaussianBlur).
    Constraints: K odd and >= 1; 0 < sigma[0] <= sigma[1]; 0 <= p <= 1;
    K <= min(H, W) * 2 - 1 so reflection stays inside the image.

    Example:
    ```mlir
    %y = simclr.gaussian_blur %key, %x {kernel_size = 9 : i64,
           sigma = array<f64: 0.1, 2.0>, p = 5.0e-01 : f64} : tensor<8x3x96x96xf32>
    ```
  }];
  let arguments = (ins Simclr_RngKeyType:$key, Simclr_ImageBatch:$input,
                       I64Attr:$kernel_size, Simclr_F64Range:$sigma, Simclr_FiniteF64Attr:$p);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$key `,` $input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Simclr_NormalizeOp : Simclr_Op<"normalize",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Per-channel standardization";
  let description = [{
    `result[n, c, h, w] = (input[n, c, h, w] - mean[c]) / std[c]`.
    Constraints: `mean` and `std` have C entries; every std > 0.

    Example:
    ```mlir
    %y = simclr.normalize %x {mean = array<f64: 0.286>, std = array<f64: 0.353>} : tensor<8x1x28x28xf32>
    ```
  }];
  let arguments = (ins Simclr_ImageBatch:$input, Simclr_FiniteF64Array:$mean,
                       Simclr_FiniteF64Array:$std);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Encoder
//===----------------------------------------------------------------------===//

def Simclr_Conv2DOp : Simclr_InferredOp<"conv2d",
    [DifferentiableOp, Pure]> {
  let summary = "2-D convolution (cross-correlation), NCHW x FCHW";
  let description = [{
    `result[n, f, y, x] = bias[f] + sum_{c, i, j} input[n, g*Cg + c,
    y*stride[0] - padding[0] + i*dilation[0],
    x*stride[1] - padding[1] + j*dilation[1]] * filter[f, c, i, j]`
    with zero padding, `g = f / (F / groups)`, `Cg = C / groups`: exactly
    torch.nn.functional.conv2d. Shapes: input N x C x H x W, filter
    F x (C/groups) x KH x KW, optional bias F, result N x F x OH x OW with
    `OH = (H + 2 padding[0] - dilation[0] (KH - 1) - 1) / stride[0] + 1`
    (floor division), OW likewise. Constraints: groups divides C and F;
    stride and dilation positive, padding non-negative; OH, OW >= 1.

    Example:
    ```mlir
    %y = simclr.conv2d %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>,
           dilation = array<i64: 1, 1>, groups = 1 : i64}
         : (tensor<8x16x28x28xf32>, tensor<32x16x3x3xf32>) -> tensor<8x32x14x14xf32>
    ```
  }];
  let arguments = (ins Simclr_ImageBatch:$input, Simclr_ImageBatch:$filter,
                       Optional<Simclr_Vector>:$bias,
                       Simclr_PositivePair:$stride, Simclr_NonNegativePair:$padding,
                       Simclr_PositivePair:$dilation,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Simclr_BatchNormTrainOp : Simclr_InferredOp<"batch_norm_train",
    [DifferentiableOp, Pure]> {
  let summary = "Batch normalization with the batch's own statistics";
  let description = [{
    For input N x C (x H x W), per channel c over all n, h, w
    (M = N*H*W elements): `mean[c] = sum x / M`,
    `var[c] = sum (x - mean[c])^2 / M` (biased), and
    `output = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + shift[c]`.
    Results: output (the input's type), batch_mean (C), batch_var (C,
    biased). Running statistics are updated functionally from batch_mean and
    batch_var by `simclr.running_stats_update`. Constraints: scale and
    shift have C entries; epsilon > 0.

    Example:
    ```mlir
    %y, %mean, %var = simclr.batch_norm_train %x, %gamma, %beta {epsilon = 1.0e-05 : f64}
        : (tensor<8x16x28x28xf32>, tensor<16xf32>, tensor<16xf32>)
        -> (tensor<8x16x28x28xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$input, Simclr_Vector:$scale,
                       Simclr_Vector:$shift, Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_FeatureBatch:$output, Simclr_Vector:$batch_mean,
                      Simclr_Vector:$batch_var);
  let assemblyFormat = "$input `,` $scale `,` $shift attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Simclr_BatchNormInferenceOp : Simclr_Op<"batch_norm_inference",
    [Pure, AllTypesMatch<["input", "output"]>,
     AllTypesMatch<["scale", "shift", "mean", "variance"]>]> {
  let summary = "Batch normalization with fixed (running) statistics";
  let description = [{
    `output = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + shift[c]`
    for input N x C (x H x W); mean, var, scale and shift have C entries.
    Used when features are extracted for evaluation.

    Example:
    ```mlir
    %y = simclr.batch_norm_inference %x, %gamma, %beta, %rm, %rv {epsilon = 1.0e-05 : f64}
        : tensor<8x16x28x28xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$input, Simclr_Vector:$scale,
                       Simclr_Vector:$shift, Simclr_Vector:$mean,
                       Simclr_Vector:$variance, Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_FeatureBatch:$output);
  let assemblyFormat = [{
    $input `,` $scale `,` $shift `,` $mean `,` $variance attr-dict `:` type($input) `,` type($scale)
  }];
  let hasVerifier = 1;
}

def Simclr_RunningStatsUpdateOp : Simclr_Op<"running_stats_update",
    [Pure, AllTypesMatch<["running_mean", "running_var", "batch_mean", "batch_var",
                          "new_mean", "new_var"]>]> {
  let summary = "Exponential moving average of batch-norm statistics";
  let description = [{
    PyTorch's update of BatchNorm running statistics:
    `new_mean = (1 - momentum) * running_mean + momentum * batch_mean`,
    `new_var = (1 - momentum) * running_var + momentum * batch_var * count / (count - 1)`
    where `batch_var` is biased and `count` (>= 2) is the number of elements
    each batch statistic was taken over (N*H*W), making the stored variance
    unbiased. Constraint: 0 <= momentum <= 1.

    Example:
    ```mlir
    %m, %v = simclr.running_stats_update %rm, %rv, %mean, %var {momentum = 1.0e-01 : f64,
               count = 6272 : i64} : tensor<16xf32>
    ```
  }];
  let arguments = (ins Simclr_Vector:$running_mean, Simclr_Vector:$running_var,
                       Simclr_Vector:$batch_mean, Simclr_Vector:$batch_var,
                       Simclr_FiniteF64Attr:$momentum, I64Attr:$count);
  let results = (outs Simclr_Vector:$new_mean, Simclr_Vector:$new_var);
  let assemblyFormat = [{
    $running_mean `,` $running_var `,` $batch_mean `,` $batch_var attr-dict `:` type($running_mean)
  }];
  let hasVerifier = 1;
}

def Simclr_ReluOp : Simclr_Op<"relu", [DifferentiableOp, Pure, Simclr_Elementwise, AllTypesMatch<["input", "result"]>]> {
  let summary = "Elementwise max(x, 0)";
  let description = [{
    `result = max(input, 0)` elementwise, any shape.

    Example:
    ```mlir
    %y = simclr.relu %x : tensor<8x16x28x28xf32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$input);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Simclr_AddOp : Simclr_Op<"add",
    [DifferentiableOp, Pure, Commutative, Simclr_Elementwise, AllTypesMatch<["lhs", "rhs", "result"]>]> {
  let summary = "Elementwise sum of two tensors of one type";
  let description = [{
    `result = lhs + rhs` elementwise; both operands and the result have the
    same shape and element type (no broadcasting). Used for residual
    connections.

    Example:
    ```mlir
    %y = simclr.add %a, %b : tensor<8x16x28x28xf32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$lhs, Simclr_FloatTensor:$rhs);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Simclr_MaxPool2DOp : Simclr_InferredOp<"max_pool2d",
    [DifferentiableOp, Pure]> {
  let summary = "2-D max pooling, NCHW";
  let description = [{
    `result[n, c, y, x] = max_{i < kernel[0], j < kernel[1]}
    input[n, c, y*stride[0] - padding[0] + i, x*stride[1] - padding[1] + j]`
    where positions outside the input count as -infinity (floor mode, as
    torch.nn.functional.max_pool2d). `OH = (H + 2 padding[0] - kernel[0]) /
    stride[0] + 1`, OW likewise. Constraints: padding[i] <= kernel[i] / 2;
    OH, OW >= 1.

    Example:
    ```mlir
    %y = simclr.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>,
           padding = array<i64: 1, 1>} : tensor<8x64x112x112xf32> -> tensor<8x64x56x56xf32>
    ```
  }];
  let arguments = (ins Simclr_ImageBatch:$input, Simclr_PositivePair:$kernel,
                       Simclr_PositivePair:$stride, Simclr_NonNegativePair:$padding);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Simclr_GlobalAvgPoolOp : Simclr_InferredOp<"global_avg_pool",
    [DifferentiableOp, Pure]> {
  let summary = "Mean over the spatial dimensions, NCHW to N x C";
  let description = [{
    `result[n, c] = sum_{h, w} input[n, c, h, w] / (H * W)`: the encoder's
    representation h of SimCLR.

    Example:
    ```mlir
    %h = simclr.global_avg_pool %x : tensor<8x512x4x4xf32> -> tensor<8x512xf32>
    ```
  }];
  let arguments = (ins Simclr_ImageBatch:$input);
  let results = (outs Simclr_Matrix:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Simclr_LinearOp : Simclr_InferredOp<"linear",
    [DifferentiableOp, Pure]> {
  let summary = "Fully connected layer, y = x W^T + b";
  let description = [{
    `result[n, m] = sum_k input[n, k] * weight[m, k] + bias[m]`: input N x K,
    weight M x K (PyTorch's nn.Linear layout), optional bias M, result N x M.

    Example:
    ```mlir
    %y = simclr.linear %h, %w, %b : (tensor<8x512xf32>, tensor<128x512xf32>, tensor<128xf32>) -> tensor<8x128xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$input, Simclr_Matrix:$weight,
                       Optional<Simclr_Vector>:$bias);
  let results = (outs Simclr_Matrix:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Simclr_ReshapeOp : Simclr_Op<"reshape", [DifferentiableOp, Pure]> {
  let summary = "Reinterprets a tensor's row-major elements with a new shape";
  let description = [{
    The result holds the input's elements in the same row-major order; the
    element type and the number of elements are unchanged.

    Example:
    ```mlir
    %y = simclr.reshape %x : tensor<8x64x1x1xf32> -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$input);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Simclr_ConcatOp : Simclr_InferredOp<"concat",
    [DifferentiableOp, Pure]> {
  let summary = "Concatenates tensors along one dimension";
  let description = [{
    Joins one or more tensors of one rank and element type along `dim`; all
    other dimensions must agree. The result's size along `dim` is the sum.
    Stacks the two augmented views into one 2N batch.

    Example:
    ```mlir
    %v = simclr.concat %a, %b {dim = 0 : i64} : (tensor<8x1x28x28xf32>, tensor<8x1x28x28xf32>) -> tensor<16x1x28x28xf32>
    ```
  }];
  let arguments = (ins Variadic<Simclr_FloatTensor>:$inputs,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$dim);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, results)";
}

//===----------------------------------------------------------------------===//
// Projection head and loss
//===----------------------------------------------------------------------===//

def Simclr_L2NormalizeOp : Simclr_Op<"l2_normalize",
    [DifferentiableOp, Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Scales each row to unit Euclidean norm";
  let description = [{
    `result[n, :] = input[n, :] / max(||input[n, :]||_2, epsilon)` for an
    N x D input (torch.nn.functional.normalize). Constraint: epsilon > 0.

    Example:
    ```mlir
    %y = simclr.l2_normalize %z {epsilon = 1.0e-12 : f64} : tensor<16x128xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$input, Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_Matrix:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Simclr_NtXentOp : Simclr_InferredOp<"nt_xent",
    [DifferentiableOp, Pure]> {
  let summary = "SimCLR's normalized temperature-scaled cross-entropy loss";
  let description = [{
    For embeddings z of shape 2N x D, rows [0, N) the first views and rows
    [N, 2N) the second views of the same N images:
    `u = l2_normalize(z, 1e-12)`, `s[i, k] = (u[i] . u[k]) / temperature`,
    the positive of anchor i is `p(i) = (i + N) mod 2N`, and
    `loss = (1 / 2N) sum_i ( -s[i, p(i)] + log sum_{k != i} exp(s[i, k]) )`,
    the log-sum-exp taken stably (row maximum subtracted). The sum over all
    2N anchors makes the loss symmetric in the two views; self-similarity is
    excluded from every denominator. The result is a 0-D tensor of z's
    element type. It equals the primitive chain produced by
    `simclr-decompose-nt-xent`: l2_normalize, matmul (transpose_rhs),
    masked_scaled_log_softmax (scale 1/temperature), gather_positives,
    reduce_mean, scale by -1. Constraints: 2N rows with N >= 2 (so every
    anchor has negatives); temperature > 0.

    Example:
    ```mlir
    %loss = simclr.nt_xent %z {temperature = 5.0e-01 : f64} : tensor<16x128xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$embeddings, Simclr_FiniteF64Attr:$temperature);
  let results = (outs Simclr_Scalar:$loss);
  let assemblyFormat = "$embeddings attr-dict `:` type($embeddings) `->` type($loss)";
  let hasVerifier = 1;
}

def Simclr_MatmulOp : Simclr_InferredOp<"matmul",
    [DifferentiableOp, Pure]> {
  let summary = "2-D matrix product with optional transposed operands";
  let description = [{
    `result = op(lhs) * op(rhs)` where `op(x)` is `x^T` if the corresponding
    `transpose_*` flag is set: op(lhs) is M x K, op(rhs) is K x P, result
    M x P.

    Example:
    ```mlir
    %s = simclr.matmul %u, %u {transpose_lhs = false, transpose_rhs = true}
         : (tensor<16x128xf32>, tensor<16x128xf32>) -> tensor<16x16xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$lhs, Simclr_Matrix:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs);
  let results = (outs Simclr_Matrix:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Simclr_MaskedScaledLogSoftmaxOp : Simclr_Op<"masked_scaled_log_softmax",
    [DifferentiableOp, Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Row-wise log-softmax of scale * x with the diagonal excluded";
  let description = [{
    For a square M x M input:
    `result[i, j] = scale * x[i, j] - log sum_{k != i} exp(scale * x[i, k])`
    for j != i, and `result[i, i] = 0` (the excluded entry; it is never a
    probability). The log-sum-exp subtracts the row maximum first.
    Constraints: square input, M >= 2, scale > 0.

    Example:
    ```mlir
    %l = simclr.masked_scaled_log_softmax %s {scale = 2.0 : f64} : tensor<16x16xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$input, Simclr_FiniteF64Attr:$scale);
  let results = (outs Simclr_Matrix:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Simclr_GatherPositivesOp : Simclr_InferredOp<"gather_positives",
    [DifferentiableOp, Pure]> {
  let summary = "Picks each row's sibling-view column";
  let description = [{
    For a 2N x 2N input, `result[i] = input[i, (i + N) mod 2N]`: the entry of
    each anchor's positive pair. Constraint: square with an even size >= 4.

    Example:
    ```mlir
    %p = simclr.gather_positives %l : tensor<16x16xf32> -> tensor<16xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$input);
  let results = (outs Simclr_Vector:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Simclr_ReduceMeanOp : Simclr_InferredOp<"reduce_mean",
    [DifferentiableOp, Pure]> {
  let summary = "Mean of all elements";
  let description = [{
    `result = sum(input) / numel(input)`, a 0-D tensor of the input's
    element type. The input has at least one element.

    Example:
    ```mlir
    %m = simclr.reduce_mean %p : tensor<16xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$input);
  let results = (outs Simclr_Scalar:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Simclr_ScaleOp : Simclr_Op<"scale", [DifferentiableOp, Pure, Simclr_Elementwise, AllTypesMatch<["input", "result"]>]> {
  let summary = "Multiplies every element by a constant";
  let description = [{
    `result = factor * input` elementwise, any shape.

    Example:
    ```mlir
    %n = simclr.scale %m {factor = -1.0 : f64} : tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$input, Simclr_FiniteF64Attr:$factor);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Optimizers and learning-rate schedule
//===----------------------------------------------------------------------===//

def Simclr_LrScheduleOp : Simclr_InferredOp<"lr_schedule",
    [Pure]> {
  let summary = "Linear warm-up followed by cosine decay";
  let description = [{
    For the 0-based step t (a 0-D i64 tensor), W = warmup_steps,
    T = total_steps - W:
    * t < W: `lr = base_lr * t / W` (SimCLR's warm-up from 0);
    * otherwise, with `s = min(t - W, T)`:
      `lr = final_lr + (base_lr - final_lr) * (1 + cos(pi * s / T)) / 2`,
      or `base_lr` when T = 0.
    Result: 0-D f32. Constraints: base_lr > 0, 0 <= final_lr <= base_lr,
    0 <= warmup_steps <= total_steps, total_steps >= 1.

    `steps_per_epoch` (optional; the frontend sets it) states that W and
    total_steps are whole epochs of that many steps, so that
    simclr-data-parallel can rescale them to a global batch of R replicas
    (floor(steps_per_epoch / R) steps per epoch) at run time.

    Example:
    ```mlir
    %lr = simclr.lr_schedule %step {base_lr = 1.0 : f64, final_lr = 0.0 : f64,
            warmup_steps = 970 : i64, total_steps = 48500 : i64} : tensor<i64> -> tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_StepTensor:$step, Simclr_FiniteF64Attr:$base_lr, Simclr_FiniteF64Attr:$final_lr,
                       I64Attr:$warmup_steps, I64Attr:$total_steps,
                       OptionalAttr<I64Attr>:$steps_per_epoch);
  let results = (outs Simclr_Scalar:$lr);
  let assemblyFormat = "$step attr-dict `:` type($step) `->` type($lr)";
  let hasVerifier = 1;
}

def Simclr_SgdUpdateOp : Simclr_Op<"sgd_update",
    [Pure, AllTypesMatch<["param", "grad", "momentum_buffer", "new_param", "new_momentum_buffer"]>]> {
  let summary = "One SGD step with momentum and weight decay (PyTorch's)";
  let description = [{
    `g = grad + weight_decay * param`; `buf' = momentum * buf + g`;
    `param' = param - lr * buf'` (dampening 0, no Nesterov; a zero initial
    buffer makes the first step PyTorch's `buf = g`). `lr` is a 0-D tensor.
    Constraints: momentum in [0, 1); weight_decay >= 0.

    Example:
    ```mlir
    %p2, %b2 = simclr.sgd_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64,
                 weight_decay = 1.0e-04 : f64} : tensor<64x3x3x3xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$param, Simclr_FloatTensor:$grad,
                       Simclr_FloatTensor:$momentum_buffer, Simclr_Scalar:$lr,
                       Simclr_FiniteF64Attr:$momentum, Simclr_FiniteF64Attr:$weight_decay);
  let results = (outs Simclr_FloatTensor:$new_param,
                      Simclr_FloatTensor:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad `,` $momentum_buffer `,` $lr attr-dict `:` type($param) `,` type($lr)
  }];
  let hasVerifier = 1;
}

def Simclr_AdamWUpdateOp : Simclr_Op<"adamw_update",
    [Pure, AllTypesMatch<["param", "grad", "exp_avg", "exp_avg_sq",
                          "new_param", "new_exp_avg", "new_exp_avg_sq"]>]> {
  let summary = "One AdamW step (decoupled weight decay, PyTorch's)";
  let description = [{
    With t = step + 1 (step is the 0-based 0-D i64 step):
    `param1 = param * (1 - lr * weight_decay)`;
    `m' = beta1 * m + (1 - beta1) * grad`;
    `v' = beta2 * v + (1 - beta2) * grad^2`;
    `param' = param1 - lr * (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + epsilon)`.
    Constraints: beta1, beta2 in [0, 1); epsilon > 0; weight_decay >= 0.

    Example:
    ```mlir
    %p2, %m2, %v2 = simclr.adamw_update %p, %g, %m, %v, %lr, %step {beta1 = 9.0e-01 : f64,
        beta2 = 9.990000e-01 : f64, epsilon = 1.0e-08 : f64, weight_decay = 1.0e-04 : f64}
        : tensor<128x512xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$param, Simclr_FloatTensor:$grad,
                       Simclr_FloatTensor:$exp_avg, Simclr_FloatTensor:$exp_avg_sq,
                       Simclr_Scalar:$lr, Simclr_StepTensor:$step,
                       Simclr_FiniteF64Attr:$beta1, Simclr_FiniteF64Attr:$beta2, Simclr_FiniteF64Attr:$epsilon,
                       Simclr_FiniteF64Attr:$weight_decay);
  let results = (outs Simclr_FloatTensor:$new_param, Simclr_FloatTensor:$new_exp_avg,
                      Simclr_FloatTensor:$new_exp_avg_sq);
  let assemblyFormat = [{
    $param `,` $grad `,` $exp_avg `,` $exp_avg_sq `,` $lr `,` $step attr-dict `:` type($param) `,` type($lr)
  }];
  let hasVerifier = 1;
}

def Simclr_LarsUpdateOp : Simclr_Op<"lars_update",
    [Pure, AllTypesMatch<["param", "grad", "momentum_buffer", "new_param", "new_momentum_buffer"]>]> {
  let summary = "One LARS step, as SimCLR's LARSOptimizer";
  let description = [{
    If `layer_adaptation`: `g = grad + weight_decay * param` and
    `trust = trust_coefficient * ||param|| / ||g||` when both norms are
    positive, else 1. Otherwise (biases and batch-norm parameters, which
    SimCLR excludes from weight decay and adaptation; weight_decay must then
    be 0): `g = grad`, `trust = 1`. Then `buf' = momentum * buf + lr * trust * g`
    and `param' = param - buf'` (classic momentum, no Nesterov). Norms are
    Euclidean over the whole tensor.
    Constraints: momentum in [0, 1); weight_decay >= 0; trust_coefficient > 0.

    Example:
    ```mlir
    %p2, %b2 = simclr.lars_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64,
        weight_decay = 1.0e-06 : f64, trust_coefficient = 1.0e-03 : f64, layer_adaptation = true}
        : tensor<64x3x3x3xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$param, Simclr_FloatTensor:$grad,
                       Simclr_FloatTensor:$momentum_buffer, Simclr_Scalar:$lr,
                       Simclr_FiniteF64Attr:$momentum, Simclr_FiniteF64Attr:$weight_decay,
                       Simclr_FiniteF64Attr:$trust_coefficient, BoolAttr:$layer_adaptation);
  let results = (outs Simclr_FloatTensor:$new_param,
                      Simclr_FloatTensor:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad `,` $momentum_buffer `,` $lr attr-dict `:` type($param) `,` type($lr)
  }];
  let hasVerifier = 1;
}

// The ops simclr-autodiff creates, in their own file.
include "simclr/Dialect/Simclr/IR/SimclrGradientOps.td"
// The pieces of synchronized batch norm (data parallelism), in their own file.
include "simclr/Dialect/Simclr/IR/SimclrDataParallelOps.td"

//===----------------------------------------------------------------------===//
// Fusion (formed by the simclr-fuse-* passes, outlined into kernels later)
//===----------------------------------------------------------------------===//

def Simclr_FusionKind : I32EnumAttr<"FusionKind",
    "how the body of a simclr.fusion becomes one kernel", [
      I32EnumAttrCase<"Elementwise", 0, "elementwise">,
      I32EnumAttrCase<"Anchored", 1, "anchored">,
      I32EnumAttrCase<"NtXent", 2, "nt_xent">,
      I32EnumAttrCase<"Optimizer", 3, "optimizer">]> {
  let cppNamespace = "::mlir::simclr";
}

def Simclr_FusionOp : Simclr_Op<"fusion",
    [Pure, IsolatedFromAbove, SingleBlock]> {
  let summary = "Graph ops that the code generator turns into one kernel";
  let description = [{
    The results are those of running the body: the block arguments are
    bound to `inputs` (one each, same types), the body's ops run in order,
    and `simclr.yield` gives the results (same types as `outputs`). So a
    fusion computes exactly what its body's ops compute unfused; the
    reference executor runs it that way. `name` is unique within the
    function and names the generated kernel. The body holds only `simclr`
    graph ops (no nested fusion), all pure. `kind` says how the body maps
    onto one kernel; the verifier checks its rules, and the code generator
    may assume them:

    * `elementwise`: every body op is elementwise (the `Simclr_Elementwise`
      list in SimclrOps.td) and every tensor in the body has one shape S,
      except 0-D tensors and the input of `simclr.broadcast` (an index
      remap). The kernel is one loop over S; each body op is an expression
      per element.
    * `anchored`: exactly one anchor, one of batch_norm_train,
      batch_norm_inference, batch_norm_train_backward, global_avg_pool,
      global_avg_pool_backward, sum_to_channels, normalize,
      batch_norm_statistics, batch_norm_apply,
      batch_norm_backward_statistics, batch_norm_backward_apply (the last
      four of SimclrDataParallelOps.td; the statistics anchors have no
      epilogue, as no elementwise op reads their 3 x C f64 result 0); every other op
      is elementwise and is either
      - in the *prologue*: the ops computing the anchor's operand 0 (x, or
        dy for the backward anchors). They form a single expression
        tree: each prologue result has exactly one use, by another prologue
        op or by anchor operand 0; the leaves are block arguments (or
        operand-free ops such as `fill`); every tensor has the shape of
        operand 0, or is 0-D, or is a broadcast input. The kernel evaluates
        the tree wherever the anchor reads operand 0 (possibly more than
        once: it is recomputed, not stored).
      - in the *epilogue*: a single chain e1, ..., ek where e1 uses the
        anchor's result 0, each e(i+1) uses e(i)'s result, every value of
        the chain but the last (result 0 included) has exactly that one
        use, and each chain op's other operands are block arguments of
        result 0's shape (or 0-D). The last chain value is what the kernel
        stores in place of result 0 and is yielded; result 0 itself is not.
      All anchor operands other than operand 0 are block arguments; the
      anchor's other results (batch statistics, parameter gradients) are
      used only by `simclr.yield`.
    * `nt_xent`: the body is `nt_xent`, `fill` and `nt_xent_backward` of
      the fill (the loss gradient seed) on the same embeddings (a block
      argument) and temperature: the loss and the embeddings' gradient in
      one kernel.
    * `optimizer`: every body op is the same update op (adamw_update,
      sgd_update or lars_update) on block arguments, all with the same lr
      (and step) block arguments and the same hyperparameters except the
      per-tensor `weight_decay` and `layer_adaptation`: one kernel updates
      every parameter.

    Example:
    ```mlir
    %y, %mean, %var = simclr.fusion "batch_norm_train_relu_0" anchored (%x, %g, %b)
        : (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
        -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) {
    ^bb0(%a0: tensor<8x4x2x2xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>):
      %o, %m, %v = simclr.batch_norm_train %a0, %a1, %a2 {epsilon = 1.0e-05 : f64}
          : (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
          -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
      %r = simclr.relu %o : tensor<8x4x2x2xf32>
      simclr.yield %r, %m, %v : tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs, StrAttr:$name,
                       Simclr_FusionKind:$kind);
  let results = (outs Variadic<AnyType>:$outputs);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name $kind ` ` `(` $inputs `)` attr-dict-with-keyword `:`
    functional-type($inputs, $outputs) $body
  }];
  // After the body's ops: the checks read their attributes (fuzz-mlir found
  // a fused nt_xent_backward without `temperature` crashing a plain verifier).
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The body's single block.
    ::mlir::Block &getBodyBlock() { return getBody().front(); }
  }];
}

def Simclr_YieldOp : Simclr_Op<"yield",
    [Pure, Terminator, HasParent<"FusionOp">]> {
  let summary = "Ends a simclr.fusion body, giving its results";
  let description = [{
    The operands become the results of the enclosing `simclr.fusion`, in
    order, with the same types.

    Example:
    ```mlir
    simclr.yield %r, %m : tensor<8x4xf32>, tensor<4xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_TD
