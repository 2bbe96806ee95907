// Every verifier diagnostic of the synchronized batch-norm ops
// (SimclrDataParallelOps.cpp), one case per block.
// RUN: simclr-opt %s -split-input-file -verify-diagnostics

func.func @statistics_rows(%x: tensor<2x4x3x3xf32>) -> tensor<2x4xf64> {
  // expected-error @+1 {{result type(s) 'tensor<2x4xf64>' differ from the inferred 'tensor<3x4xf64>'}}
  %0 = simclr.batch_norm_statistics %x : tensor<2x4x3x3xf32> -> tensor<2x4xf64>
  return %0 : tensor<2x4xf64>
}

// -----

func.func @statistics_dtype(%x: tensor<2x4x3x3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{result #0 must be statically shaped 3 x C f64 tensor}}
  %0 = simclr.batch_norm_statistics %x : tensor<2x4x3x3xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @statistics_rank(%x: tensor<2x4x3xf32>) -> tensor<3x4xf64> {
  // expected-error @+1 {{operand #0 must be statically shaped N x C or NCHW tensor}}
  %0 = simclr.batch_norm_statistics %x : tensor<2x4x3xf32> -> tensor<3x4xf64>
  return %0 : tensor<3x4xf64>
}

// -----

func.func @apply_stats_channels(%x: tensor<2x4x3x3xf32>, %g: tensor<4xf32>, %s: tensor<3x5xf64>) -> tensor<2x4x3x3xf32> {
  // expected-error @+1 {{stats must be 'tensor<3x4xf64>' (sums and count per channel), got 'tensor<3x5xf64>'}}
  %y, %m, %v = simclr.batch_norm_apply %x, %g, %g, %s {epsilon = 1.0e-05 : f64}
      : (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x5xf64>)
      -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y : tensor<2x4x3x3xf32>
}

// -----

func.func @apply_scale(%x: tensor<2x4x3x3xf32>, %g: tensor<3xf32>, %b: tensor<4xf32>, %s: tensor<3x4xf64>) -> tensor<2x4x3x3xf32> {
  // expected-error @+1 {{scale and shift must be 'tensor<4xf32>' (C entries of the input's element type), got 'tensor<3xf32>'}}
  %y, %m, %v = simclr.batch_norm_apply %x, %g, %b, %s {epsilon = 1.0e-05 : f64}
      : (tensor<2x4x3x3xf32>, tensor<3xf32>, tensor<4xf32>, tensor<3x4xf64>)
      -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y : tensor<2x4x3x3xf32>
}

// -----

func.func @apply_epsilon(%x: tensor<2x4x3x3xf32>, %g: tensor<4xf32>, %s: tensor<3x4xf64>) -> tensor<2x4x3x3xf32> {
  // expected-error @+1 {{epsilon must be > 0}}
  %y, %m, %v = simclr.batch_norm_apply %x, %g, %g, %s {epsilon = 0.0 : f64}
      : (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x4xf64>)
      -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y : tensor<2x4x3x3xf32>
}

// -----

func.func @apply_result(%x: tensor<2x4x3x3xf32>, %g: tensor<4xf32>, %s: tensor<3x4xf64>) -> tensor<2x4x3x3xf32> {
  // expected-error @+1 {{result type(s) 'tensor<2x4x3x3xf32>', 'tensor<4xf32>', 'tensor<5xf32>' differ from the inferred 'tensor<2x4x3x3xf32>', 'tensor<4xf32>', 'tensor<4xf32>'}}
  %y, %m, %v = simclr.batch_norm_apply %x, %g, %g, %s {epsilon = 1.0e-05 : f64}
      : (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x4xf64>)
      -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<5xf32>)
  return %y : tensor<2x4x3x3xf32>
}

// -----

func.func @running_var(%rm: tensor<4xf32>, %rv: tensor<5xf32>, %s: tensor<3x4xf64>) -> tensor<4xf32> {
  // expected-error @+1 {{running_var must be 'tensor<4xf32>' (running_mean's type), got 'tensor<5xf32>'}}
  %m, %v = simclr.running_stats_from_sums %rm, %rv, %s {momentum = 1.0e-01 : f64}
      : (tensor<4xf32>, tensor<5xf32>, tensor<3x4xf64>) -> (tensor<4xf32>, tensor<4xf32>)
  return %m : tensor<4xf32>
}

// -----

func.func @running_stats(%rm: tensor<4xf32>, %s: tensor<4x4xf64>) -> tensor<4xf32> {
  // expected-error @+1 {{stats must be 'tensor<3x4xf64>' (sums and count per channel), got 'tensor<4x4xf64>'}}
  %m, %v = simclr.running_stats_from_sums %rm, %rm, %s {momentum = 1.0e-01 : f64}
      : (tensor<4xf32>, tensor<4xf32>, tensor<4x4xf64>) -> (tensor<4xf32>, tensor<4xf32>)
  return %m : tensor<4xf32>
}

// -----

func.func @running_momentum(%rm: tensor<4xf32>, %s: tensor<3x4xf64>) -> tensor<4xf32> {
  // expected-error @+1 {{momentum = 1.5 must be in [0, 1]}}
  %m, %v = simclr.running_stats_from_sums %rm, %rm, %s {momentum = 1.5 : f64}
      : (tensor<4xf32>, tensor<4xf32>, tensor<3x4xf64>) -> (tensor<4xf32>, tensor<4xf32>)
  return %m : tensor<4xf32>
}

// -----

func.func @backward_statistics_types(%dy: tensor<2x4x3x3xf32>, %x: tensor<2x4x3x2xf32>, %m: tensor<4xf32>) -> tensor<3x4xf64> {
  // expected-error @+1 {{grad_output and input types differ ('tensor<2x4x3x3xf32>' vs 'tensor<2x4x3x2xf32>')}}
  %s = simclr.batch_norm_backward_statistics %dy, %x, %m, %m {epsilon = 1.0e-05 : f64}
      : (tensor<2x4x3x3xf32>, tensor<2x4x3x2xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf64>
  return %s : tensor<3x4xf64>
}

// -----

func.func @backward_statistics_mean(%dy: tensor<2x4xf32>, %m: tensor<4xf32>, %v: tensor<2xf32>) -> tensor<3x4xf64> {
  // expected-error @+1 {{batch_mean and batch_var must be 'tensor<4xf32>' (C entries of the input's element type), got 'tensor<2xf32>'}}
  %s = simclr.batch_norm_backward_statistics %dy, %dy, %m, %v {epsilon = 1.0e-05 : f64}
      : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2xf32>) -> tensor<3x4xf64>
  return %s : tensor<3x4xf64>
}

// -----

func.func @backward_statistics_epsilon(%dy: tensor<2x4xf32>, %m: tensor<4xf32>) -> tensor<3x4xf64> {
  // expected-error @+1 {{epsilon must be > 0}}
  %s = simclr.batch_norm_backward_statistics %dy, %dy, %m, %m {epsilon = -1.0 : f64}
      : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf64>
  return %s : tensor<3x4xf64>
}

// -----

func.func @backward_apply_grad_stats(%dy: tensor<2x4xf32>, %g: tensor<4xf32>, %s: tensor<3x2xf64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{grad_stats must be 'tensor<3x4xf64>' (sums and count per channel), got 'tensor<3x2xf64>'}}
  %dx, %dg, %db = simclr.batch_norm_backward_apply %dy, %dy, %g, %g, %g, %s {epsilon = 1.0e-05 : f64}
      : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x2xf64>)
      -> (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %dx : tensor<2x4xf32>
}

// -----

func.func @backward_apply_scale(%dy: tensor<2x4xf32>, %g: tensor<4xf32>, %h: tensor<4xf16>, %s: tensor<3x4xf64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{scale, batch_mean and batch_var must be 'tensor<4xf32>' (C entries of the input's element type), got 'tensor<4xf16>'}}
  %dx, %dg, %db = simclr.batch_norm_backward_apply %dy, %dy, %h, %g, %g, %s {epsilon = 1.0e-05 : f64}
      : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf16>, tensor<4xf32>, tensor<4xf32>, tensor<3x4xf64>)
      -> (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %dx : tensor<2x4xf32>
}

// -----

func.func @backward_apply_epsilon(%dy: tensor<2x4xf32>, %g: tensor<4xf32>, %s: tensor<3x4xf64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{epsilon must be > 0}}
  %dx, %dg, %db = simclr.batch_norm_backward_apply %dy, %dy, %g, %g, %g, %s {epsilon = 0.0 : f64}
      : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x4xf64>)
      -> (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %dx : tensor<2x4xf32>
}
