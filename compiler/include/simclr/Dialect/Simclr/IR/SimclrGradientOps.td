//===- SimclrGradientOps.td - Gradient ops of the simclr dialect -*- tablegen -*-===//
//
// The ops that adjoints (DifferentiableOpInterface, SimclrAdjoints.cpp)
// create. Included by SimclrOps.td, whose constraints and op classes they
// use.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRGRADIENTOPS_TD
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRGRADIENTOPS_TD

//===----------------------------------------------------------------------===//
// Gradient helpers and adjoints (created by simclr-autodiff)
//===----------------------------------------------------------------------===//

def Simclr_FillOp : Simclr_Op<"fill", [Pure, Simclr_Elementwise]> {
  let summary = "A tensor with every element equal to a constant";
  let description = [{
    `result[...] = value`, converted to the result's element type. Seeds the
    loss gradient (1.0) and gives parameters that do not reach the loss a
    zero gradient.

    Example:
    ```mlir
    %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
    ```
  }];
  let arguments = (ins Simclr_FiniteF64Attr:$value);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

def Simclr_BroadcastOp : Simclr_Op<"broadcast", [Pure, Simclr_Elementwise]> {
  let summary = "Copies a scalar, or a per-channel vector, to every element of a tensor";
  let description = [{
    A 0-D input: `result[...] = input[]`, for a result of any static shape
    (the adjoint of `reduce_mean`, with a `scale` by 1/numel).
    A 1-D input of C entries: `result[n, c, ...] = input[c]` along dimension
    1 of an N x C or NCHW result with C channels (a per-channel bias, the
    inverse index map of `sum_to_channels`; `simclr-expand-linear` uses it
    for linear's bias). The result has the input's element type.

    Example:
    ```mlir
    %b = simclr.broadcast %g : tensor<f32> -> tensor<16xf32>
    %bias = simclr.broadcast %b0 : tensor<128xf32> -> tensor<512x128xf32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensorOfRank<[0, 1], "0-D or 1-D tensor">:$input);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Simclr_SliceOp : Simclr_Op<"slice", [Pure]> {
  let summary = "A contiguous range along one dimension";
  let description = [{
    `result[..., i, ...] = input[..., offset + i, ...]` along `dim`, for
    i < the result's size in `dim`; all other dimensions and the element
    type are the input's. The adjoint of `concat`.
    Constraint: offset + result size <= input size along `dim`.

    Example:
    ```mlir
    %s = simclr.slice %x {dim = 0 : i64, offset = 8 : i64} : tensor<16x3xf32> -> tensor<8x3xf32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$dim,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$offset);
  let results = (outs Simclr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Simclr_SumToChannelsOp : Simclr_InferredOp<"sum_to_channels", [Pure]> {
  let summary = "Sums over every dimension but the channel dimension 1";
  let description = [{
    `result[c] = sum_{n, h, w} input[n, c, h, w]` for NCHW input, or
    `sum_n input[n, c]` for N x C input: the gradient of a per-channel bias.

    Example:
    ```mlir
    %gb = simclr.sum_to_channels %g : tensor<8x16x4x4xf32> -> tensor<16xf32>
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$input);
  let results = (outs Simclr_Vector:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Simclr_Conv2DBackwardInputOp : Simclr_Op<"conv2d_backward_input", [Pure]> {
  let summary = "Gradient of conv2d with respect to its input";
  let description = [{
    For `y = conv2d(x, filter)` with the given stride, padding, dilation and
    groups: `result[n, c, h, w] = d(sum y * grad_output) / d x[n, c, h, w]`
    = sum over (f, i, j) with `h = oy*stride[0] - padding[0] + i*dilation[0]`,
    `w = ox*stride[1] - padding[1] + j*dilation[1]` of
    `grad_output[n, f, oy, ox] * filter[f, c mod Cg, i, j]`, f in c's group (a
    transposed convolution). The result type is x's, written explicitly
    because several input sizes give the same output size.
    Constraint: conv2d of the result shape and filter gives grad_output's
    shape.

    Example:
    ```mlir
    %gx = simclr.conv2d_backward_input %gy, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>,
            dilation = array<i64: 1, 1>, groups = 1 : i64}
        : (tensor<8x32x14x14xf32>, tensor<32x16x3x3xf32>) -> tensor<8x16x28x28xf32>
    ```
  }];
  let arguments = (ins Simclr_ImageBatch:$grad_output, Simclr_ImageBatch:$filter,
                       Simclr_PositivePair:$stride, Simclr_NonNegativePair:$padding,
                       Simclr_PositivePair:$dilation,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$grad_output `,` $filter attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Simclr_Conv2DBackwardFilterOp : Simclr_Op<"conv2d_backward_filter", [Pure]> {
  let summary = "Gradient of conv2d with respect to its filter";
  let description = [{
    For `y = conv2d(input, filter)`: `result[f, c, i, j] = sum_{n, oy, ox}
    grad_output[n, f, oy, ox] * input[n, g*Cg + c, oy*stride[0] - padding[0]
    + i*dilation[0], ox*stride[1] - padding[1] + j*dilation[1]]` (zero
    outside the input), g = f's group. The result type is the filter's.
    Constraint: conv2d of input and a filter of the result shape gives
    grad_output's shape.

    Example:
    ```mlir
    %gw = simclr.conv2d_backward_filter %gy, %x {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>,
            dilation = array<i64: 1, 1>, groups = 1 : i64}
        : (tensor<8x32x14x14xf32>, tensor<8x16x28x28xf32>) -> tensor<32x16x3x3xf32>
    ```
  }];
  let arguments = (ins Simclr_ImageBatch:$grad_output, Simclr_ImageBatch:$input,
                       Simclr_PositivePair:$stride, Simclr_NonNegativePair:$padding,
                       Simclr_PositivePair:$dilation,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups);
  let results = (outs Simclr_ImageBatch:$result);
  let assemblyFormat = "$grad_output `,` $input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Simclr_BatchNormTrainBackwardOp : Simclr_InferredOp<"batch_norm_train_backward", [Pure]> {
  let summary = "Gradient of training-mode batch normalization";
  let description = [{
    With `xhat = (input - batch_mean) / sqrt(batch_var + epsilon)` (the
    forward's biased statistics, M = N*H*W elements per channel):
    `grad_shift[c] = sum grad_output`, `grad_scale[c] = sum grad_output * xhat`,
    `grad_input = scale[c] / sqrt(batch_var[c] + epsilon) / M *
    (M * grad_output - grad_shift[c] - xhat * grad_scale[c])`: the exact
    gradient through the batch statistics.
    Shapes: grad_output and input N x C (x H x W); the rest C.

    Example:
    ```mlir
    %gx, %gs, %gb = simclr.batch_norm_train_backward %gy, %x, %gamma, %mean, %var {epsilon = 1.0e-05 : f64}
        : (tensor<8x16x4x4xf32>, tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
        -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$grad_output, Simclr_FeatureBatch:$input,
                       Simclr_Vector:$scale, Simclr_Vector:$batch_mean,
                       Simclr_Vector:$batch_var, Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_FeatureBatch:$grad_input, Simclr_Vector:$grad_scale,
                      Simclr_Vector:$grad_shift);
  let assemblyFormat = [{
    $grad_output `,` $input `,` $scale `,` $batch_mean `,` $batch_var attr-dict `:` functional-type(operands, results)
  }];
}

def Simclr_ReluBackwardOp : Simclr_Op<"relu_backward",
    [Pure, Simclr_Elementwise, AllTypesMatch<["grad_output", "result", "grad_input"]>]> {
  let summary = "Gradient of relu, masked by its result";
  let description = [{
    `grad_input = result > 0 ? grad_output : 0` where `result` is relu's
    output (PyTorch's convention: zero gradient at 0).

    Example:
    ```mlir
    %gx = simclr.relu_backward %gy, %y : tensor<8x16x4x4xf32>
    ```
  }];
  let arguments = (ins Simclr_FloatTensor:$grad_output, Simclr_FloatTensor:$result);
  let results = (outs Simclr_FloatTensor:$grad_input);
  let assemblyFormat = "$grad_output `,` $result attr-dict `:` type($result)";
}

def Simclr_MaxPool2DBackwardOp : Simclr_InferredOp<"max_pool2d_backward", [Pure]> {
  let summary = "Gradient of max_pool2d";
  let description = [{
    Each `grad_output[n, c, oy, ox]` is added to the input position of the
    first maximum of its window in row-major scan order (PyTorch's CPU
    choice among ties); every other position gets 0. The result has the
    input's type. Constraint: max_pool2d of input gives grad_output's shape.

    Example:
    ```mlir
    %gx = simclr.max_pool2d_backward %gy, %x {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>,
            padding = array<i64: 1, 1>} : (tensor<8x64x56x56xf32>, tensor<8x64x112x112xf32>) -> tensor<8x64x112x112xf32>
    ```
  }];
  let arguments = (ins Simclr_ImageBatch:$grad_output, Simclr_ImageBatch:$input,
                       Simclr_PositivePair:$kernel, Simclr_PositivePair:$stride,
                       Simclr_NonNegativePair:$padding);
  let results = (outs Simclr_ImageBatch:$grad_input);
  let assemblyFormat = "$grad_output `,` $input attr-dict `:` functional-type(operands, results)";
}

def Simclr_GlobalAvgPoolBackwardOp : Simclr_Op<"global_avg_pool_backward", [Pure]> {
  let summary = "Gradient of global_avg_pool";
  let description = [{
    `grad_input[n, c, h, w] = grad_output[n, c] / (H * W)` for the N x C x H
    x W result type, written explicitly (H and W are not in grad_output).

    Example:
    ```mlir
    %gx = simclr.global_avg_pool_backward %gh : tensor<8x512xf32> -> tensor<8x512x4x4xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$grad_output);
  let results = (outs Simclr_ImageBatch:$grad_input);
  let assemblyFormat = "$grad_output attr-dict `:` type($grad_output) `->` type($grad_input)";
  let hasVerifier = 1;
}

def Simclr_L2NormalizeBackwardOp : Simclr_Op<"l2_normalize_backward",
    [Pure, AllTypesMatch<["grad_output", "input", "grad_input"]>]> {
  let summary = "Gradient of l2_normalize";
  let description = [{
    Per row with `r = ||input[n, :]||`: if r > epsilon,
    `grad_input = (grad_output - y * (y . grad_output)) / r` with
    `y = input / r`; otherwise `grad_input = grad_output / epsilon`.

    Example:
    ```mlir
    %gz = simclr.l2_normalize_backward %gu, %z {epsilon = 1.0e-12 : f64} : tensor<16x128xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$grad_output, Simclr_Matrix:$input, Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_Matrix:$grad_input);
  let assemblyFormat = "$grad_output `,` $input attr-dict `:` type($input)";
}

def Simclr_NtXentBackwardOp : Simclr_Op<"nt_xent_backward",
    [Pure, AllTypesMatch<["embeddings", "grad_embeddings"]>]> {
  let summary = "Gradient of nt_xent with respect to the embeddings";
  let description = [{
    `grad_embeddings = grad_loss * d nt_xent(embeddings) / d embeddings`
    with nt_xent's definition: with `P = softmax` over k != i of the scaled
    similarities and one-hot positives, `d loss / d s[i, k] = (P[i, k] -
    [k = p(i)]) / 2N`, propagated through `s = u u^T / temperature` and the
    row normalization u = l2_normalize(z, 1e-12). grad_loss is 0-D.

    Example:
    ```mlir
    %gz = simclr.nt_xent_backward %gl, %z {temperature = 5.0e-01 : f64} : tensor<f32>, tensor<16x128xf32>
    ```
  }];
  let arguments = (ins Simclr_Scalar:$grad_loss, Simclr_Matrix:$embeddings,
                       Simclr_FiniteF64Attr:$temperature);
  let results = (outs Simclr_Matrix:$grad_embeddings);
  let assemblyFormat = "$grad_loss `,` $embeddings attr-dict `:` type($grad_loss) `,` type($embeddings)";
}

def Simclr_MaskedScaledLogSoftmaxBackwardOp : Simclr_Op<"masked_scaled_log_softmax_backward",
    [Pure, AllTypesMatch<["grad_output", "result", "grad_input"]>]> {
  let summary = "Gradient of masked_scaled_log_softmax";
  let description = [{
    With `result` the forward output and `p = exp(result)` off the
    diagonal: `grad_input[i, j] = scale * (grad_output[i, j] - p[i, j] *
    sum_{k != i} grad_output[i, k])` for j != i, and 0 on the diagonal.

    Example:
    ```mlir
    %gs = simclr.masked_scaled_log_softmax_backward %gl, %l {scale = 2.0 : f64} : tensor<16x16xf32>
    ```
  }];
  let arguments = (ins Simclr_Matrix:$grad_output, Simclr_Matrix:$result, Simclr_FiniteF64Attr:$scale);
  let results = (outs Simclr_Matrix:$grad_input);
  let assemblyFormat = "$grad_output `,` $result attr-dict `:` type($result)";
}

def Simclr_GatherPositivesBackwardOp : Simclr_InferredOp<"gather_positives_backward", [Pure]> {
  let summary = "Gradient of gather_positives: a scatter into a 2N x 2N zero matrix";
  let description = [{
    `grad_input[i, (i + N) mod 2N] = grad_output[i]`; every other entry is 0.

    Example:
    ```mlir
    %gm = simclr.gather_positives_backward %gp : tensor<16xf32> -> tensor<16x16xf32>
    ```
  }];
  let arguments = (ins Simclr_Vector:$grad_output);
  let results = (outs Simclr_Matrix:$grad_input);
  let assemblyFormat = "$grad_output attr-dict `:` type($grad_output) `->` type($grad_input)";
}

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRGRADIENTOPS_TD
