//===- SimclrDataParallelOps.td - Synchronized batch norm ops -*- tablegen -*-===//
//
// The pieces a data-parallel step splits batch norm into (issue 13): every
// replica computes per-channel sums of its local batch (a "statistics" op),
// the sums are added over the replicas by an all_reduce_sum collective, and
// an "apply" op normalizes the local batch with the global statistics; the
// backward is split the same way. Statistics are f64 3 x C tensors whose
// rows are sums and the element count, so that the sums of different
// replicas simply add and the counts stay exact. Included by SimclrOps.td,
// whose constraints and op classes they use; verifiers in
// SimclrDataParallelOps.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDATAPARALLELOPS_TD
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDATAPARALLELOPS_TD

//===----------------------------------------------------------------------===//
// Synchronized batch normalization (data parallelism)
//===----------------------------------------------------------------------===//

// Per-channel sums of one or more replicas: 3 x C, f64 (the verifiers check
// the 3 and the C).
def Simclr_ChannelStatistics : RankedTensorOf<[F64],
    [HasStaticShapePred, HasAnyRankOfPred<[2]>], "statically shaped 3 x C f64 tensor">;

def Simclr_BatchNormStatisticsOp : Simclr_InferredOp<"batch_norm_statistics", [Pure]> {
  let summary = "Per-channel sums of a local batch, for synchronized batch norm";
  let description = [{
    For input N x C (x H x W) with M = N*H*W elements per channel, the
    result is a 3 x C f64 tensor:
    `stats[0][c] = sum x`, `stats[1][c] = sum x^2` (over n, h, w of channel
    c, accumulated in double, not shifted, so that the sums of different
    replicas can simply be added) and `stats[2][c] = M` (the same in every
    column). Adding the stats of several replicas gives the stats of their
    concatenated batch; `simclr.batch_norm_apply` and
    `simclr.running_stats_from_sums` read them.

    Example:
    ```mlir
    %s = simclr.batch_norm_statistics %x : tensor<8x16x28x28xf32> -> tensor<3x16xf64>
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$input);
  let results = (outs Simclr_ChannelStatistics:$stats);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($stats)";
}

def Simclr_BatchNormApplyOp : Simclr_InferredOp<"batch_norm_apply", [Pure]> {
  let summary = "Batch normalization of a local batch with summed statistics";
  let description = [{
    With `stats` as `simclr.batch_norm_statistics` gives it (possibly summed
    over replicas), per channel c in double: `count = stats[2][c]`,
    `mean = stats[0][c] / count`,
    `var = max(stats[1][c] / count - mean^2, 0)` (biased), then
    `output = (x - mean) / sqrt(var + epsilon) * scale[c] + shift[c]`.
    Results: output (the input's type), batch_mean (C, mean rounded to the
    input's element type), batch_var (C, var rounded likewise). With the
    stats of x alone this is `simclr.batch_norm_train` of x (to rounding:
    the sums are not shifted, so a channel whose mean is large against its
    spread loses digits of var). Shapes: input N x C (x H x W); scale and
    shift C; stats 3 x C f64. Constraints: epsilon > 0; count >= 1 at run
    time.

    Example:
    ```mlir
    %y, %mean, %var = simclr.batch_norm_apply %x, %gamma, %beta, %s {epsilon = 1.0e-05 : f64}
        : (tensor<8x16x28x28xf32>, tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>)
        -> (tensor<8x16x28x28xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$input, Simclr_Vector:$scale,
                       Simclr_Vector:$shift, Simclr_ChannelStatistics:$stats,
                       Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_FeatureBatch:$output, Simclr_Vector:$batch_mean,
                      Simclr_Vector:$batch_var);
  let assemblyFormat = "$input `,` $scale `,` $shift `,` $stats attr-dict `:` functional-type(operands, results)";
}

def Simclr_RunningStatsFromSumsOp : Simclr_InferredOp<"running_stats_from_sums", [Pure]> {
  let summary = "Running batch-norm statistics updated from summed statistics";
  let description = [{
    `simclr.running_stats_update` with its batch statistics taken from
    `stats` (3 x C f64, as `simclr.batch_norm_statistics` gives it, possibly
    summed over replicas): per channel, `count = stats[2][c]`,
    `batch_mean = stats[0][c] / count` and
    `batch_var = max(stats[1][c] / count - batch_mean^2, 0)` in double,
    rounded to float as `simclr.batch_norm_apply` rounds them, then
    `new_mean = (1 - momentum) * running_mean + momentum * batch_mean`,
    `new_var = (1 - momentum) * running_var + momentum * batch_var * count / (count - 1)`
    (PyTorch's update; the stored variance is unbiased). Results have
    running_mean's type. Constraints: running_mean and running_var have the
    same type, C entries; 0 <= momentum <= 1; count >= 2 at run time (the
    kernels use max(count - 1, 1) as the divisor).

    Example:
    ```mlir
    %m, %v = simclr.running_stats_from_sums %rm, %rv, %s {momentum = 1.0e-01 : f64}
        : (tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>) -> (tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Simclr_Vector:$running_mean, Simclr_Vector:$running_var,
                       Simclr_ChannelStatistics:$stats,
                       Simclr_FiniteF64Attr:$momentum);
  let results = (outs Simclr_Vector:$new_mean, Simclr_Vector:$new_var);
  let assemblyFormat = "$running_mean `,` $running_var `,` $stats attr-dict `:` functional-type(operands, results)";
}

def Simclr_BatchNormBackwardStatisticsOp
    : Simclr_InferredOp<"batch_norm_backward_statistics", [Pure]> {
  let summary = "Per-channel sums of a local batch's batch-norm gradient";
  let description = [{
    With `xhat = (input - batch_mean[c]) / sqrt(batch_var[c] + epsilon)`
    (the forward's biased statistics, global when synchronized) and
    M = N*H*W local elements per channel, the result is a 3 x C f64 tensor:
    `stats[0][c] = sum grad_output`, `stats[1][c] = sum grad_output * xhat`
    (accumulated in double) and `stats[2][c] = M`. Summed over replicas, rows
    0 and 1 are the global grad_shift and grad_scale. Operand order is that
    of `simclr.batch_norm_train_backward` without scale. Shapes:
    grad_output and input N x C (x H x W), one type; batch_mean and
    batch_var C, of the input's element type. Constraint: epsilon > 0.

    Example:
    ```mlir
    %gs = simclr.batch_norm_backward_statistics %gy, %x, %mean, %var {epsilon = 1.0e-05 : f64}
        : (tensor<8x16x4x4xf32>, tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
        -> tensor<3x16xf64>
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$grad_output, Simclr_FeatureBatch:$input,
                       Simclr_Vector:$batch_mean, Simclr_Vector:$batch_var,
                       Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_ChannelStatistics:$stats);
  let assemblyFormat = [{
    $grad_output `,` $input `,` $batch_mean `,` $batch_var attr-dict `:` functional-type(operands, results)
  }];
}

def Simclr_BatchNormBackwardApplyOp
    : Simclr_InferredOp<"batch_norm_backward_apply", [Pure]> {
  let summary = "Gradient of synchronized batch normalization for a local batch";
  let description = [{
    `simclr.batch_norm_train_backward` with its sums and count taken from
    `grad_stats` (3 x C f64 as `simclr.batch_norm_backward_statistics`
    gives it, summed over replicas): per channel, `count = grad_stats[2][c]`,
    `grad_shift[c] = grad_stats[0][c]`, `grad_scale[c] = grad_stats[1][c]`
    (so these are already the global parameter gradients) and, with
    `xhat = (input - batch_mean[c]) / sqrt(batch_var[c] + epsilon)`,
    `grad_input = scale[c] / sqrt(batch_var[c] + epsilon) / count *
    (count * grad_output - grad_shift[c] - xhat * grad_scale[c])`.
    With the grad_stats of one replica this is
    `simclr.batch_norm_train_backward`. Shapes: grad_output and input
    N x C (x H x W), one type; scale, batch_mean and batch_var C, of the
    input's element type; grad_stats 3 x C f64. Results: grad_input (the
    input's type), grad_scale and grad_shift (C). Constraints:
    epsilon > 0; count >= 1 at run time.

    Example:
    ```mlir
    %gx, %gg, %gb = simclr.batch_norm_backward_apply %gy, %x, %gamma, %mean, %var, %gs {epsilon = 1.0e-05 : f64}
        : (tensor<8x16x4x4xf32>, tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>,
           tensor<16xf32>, tensor<3x16xf64>)
        -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Simclr_FeatureBatch:$grad_output, Simclr_FeatureBatch:$input,
                       Simclr_Vector:$scale, Simclr_Vector:$batch_mean,
                       Simclr_Vector:$batch_var, Simclr_ChannelStatistics:$grad_stats,
                       Simclr_FiniteF64Attr:$epsilon);
  let results = (outs Simclr_FeatureBatch:$grad_input, Simclr_Vector:$grad_scale,
                      Simclr_Vector:$grad_shift);
  let assemblyFormat = [{
    $grad_output `,` $input `,` $scale `,` $batch_mean `,` $batch_var `,` $grad_stats attr-dict `:` functional-type(operands, results)
  }];
}

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRDATAPARALLELOPS_TD
