// Every verifier diagnostic of the simclr dialect, one case per block.
// RUN: simclr-opt %s -split-input-file -verify-diagnostics

func.func @image_to_float_shape(%x: tensor<2x1x4x4xui8>) -> tensor<2x1x4x5xf32> {
  // expected-error @+1 {{result shape 2x1x4x5 differs from input shape 2x1x4x4}}
  %0 = simclr.image_to_float %x : tensor<2x1x4x4xui8> -> tensor<2x1x4x5xf32>
  return %0 : tensor<2x1x4x5xf32>
}

// -----

func.func @image_to_float_dtype(%x: tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32> {
  // expected-error @+1 {{operand #0 must be statically shaped NCHW tensor of 8-bit unsigned integer values}}
  %0 = simclr.image_to_float %x : tensor<2x1x4x4xf32> -> tensor<2x1x4x4xf32>
  return %0 : tensor<2x1x4x4xf32>
}

// -----

func.func @crop_scale(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{scale = [0.5, 1.5] must satisfy 0 < lo <= hi <= 1}}
  %0 = simclr.random_resized_crop %k, %x {scale = array<f64: 0.5, 1.5>, ratio = array<f64: 0.75, 1.25>, size = array<i64: 4, 4>} : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x4x4xf32>
}

// -----

func.func @crop_ratio(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{ratio = [2, 0.5] must satisfy 0 < lo <= hi}}
  %0 = simclr.random_resized_crop %k, %x {scale = array<f64: 0.5, 1.0>, ratio = array<f64: 2.0, 0.5>, size = array<i64: 4, 4>} : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x4x4xf32>
}

// -----

func.func @crop_size(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{result type(s) 'tensor<2x3x4x4xf32>' differ from the inferred 'tensor<2x3x5x5xf32>'}}
  %0 = simclr.random_resized_crop %k, %x {scale = array<f64: 0.5, 1.0>, ratio = array<f64: 0.5, 2.0>, size = array<i64: 5, 5>} : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x4x4xf32>
}

// -----

func.func @crop_nonpositive_size(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{attribute 'size' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements whose value is positive}}
  %0 = simclr.random_resized_crop %k, %x {scale = array<f64: 0.5, 1.0>, ratio = array<f64: 0.5, 2.0>, size = array<i64: 0, 4>} : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x4x4xf32>
}

// -----

func.func @flip_probability(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{probability p = 1.5 must be in [0, 1]}}
  %0 = simclr.horizontal_flip %k, %x {p = 1.5 : f64} : tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @jitter_negative(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{contrast = -0.1 must be >= 0}}
  %0 = simclr.color_jitter %k, %x {brightness = 0.4 : f64, contrast = -0.1 : f64, saturation = 0.4 : f64, hue = 0.1 : f64, p = 0.8 : f64} : tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @jitter_hue(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{hue = 0.7 must be in [0, 0.5]}}
  %0 = simclr.color_jitter %k, %x {brightness = 0.4 : f64, contrast = 0.4 : f64, saturation = 0.4 : f64, hue = 0.7 : f64, p = 0.8 : f64} : tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @jitter_gray_saturation(%k: !simclr.rng_key, %x: tensor<2x1x8x8xf32>) -> tensor<2x1x8x8xf32> {
  // expected-error @+1 {{saturation and hue need 3 channels; the input has 1}}
  %0 = simclr.color_jitter %k, %x {brightness = 0.4 : f64, contrast = 0.4 : f64, saturation = 0.4 : f64, hue = 0.0 : f64, p = 0.8 : f64} : tensor<2x1x8x8xf32>
  return %0 : tensor<2x1x8x8xf32>
}

// -----

func.func @jitter_channels(%k: !simclr.rng_key, %x: tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32> {
  // expected-error @+1 {{expects 1 or 3 channels, got 2}}
  %0 = simclr.color_jitter %k, %x {brightness = 0.4 : f64, contrast = 0.4 : f64, saturation = 0.0 : f64, hue = 0.0 : f64, p = 0.8 : f64} : tensor<2x2x8x8xf32>
  return %0 : tensor<2x2x8x8xf32>
}

// -----

func.func @grayscale_channels(%k: !simclr.rng_key, %x: tensor<2x1x8x8xf32>) -> tensor<2x1x8x8xf32> {
  // expected-error @+1 {{expects 3 channels, got 1}}
  %0 = simclr.random_grayscale %k, %x {p = 0.2 : f64} : tensor<2x1x8x8xf32>
  return %0 : tensor<2x1x8x8xf32>
}

// -----

func.func @blur_even_kernel(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{kernel_size = 4 must be odd and positive}}
  %0 = simclr.gaussian_blur %k, %x {kernel_size = 4 : i64, sigma = array<f64: 0.1, 2.0>, p = 0.5 : f64} : tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @blur_sigma(%k: !simclr.rng_key, %x: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{sigma = [0, 2] must satisfy 0 < lo <= hi}}
  %0 = simclr.gaussian_blur %k, %x {kernel_size = 3 : i64, sigma = array<f64: 0.0, 2.0>, p = 0.5 : f64} : tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @blur_kernel_too_large(%k: !simclr.rng_key, %x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> {
  // expected-error @+1 {{kernel_size = 9 is too large for a 4x8 image (reflect padding needs kernel_size <= 7)}}
  %0 = simclr.gaussian_blur %k, %x {kernel_size = 9 : i64, sigma = array<f64: 0.1, 2.0>, p = 0.5 : f64} : tensor<2x3x4x8xf32>
  return %0 : tensor<2x3x4x8xf32>
}

// -----

func.func @normalize_length(%x: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  // expected-error @+1 {{mean and std need 3 entries (one per channel), got 1 and 1}}
  %0 = simclr.normalize %x {mean = array<f64: 0.5>, std = array<f64: 0.5>} : tensor<2x3x8x8xf32>
  return %0 : tensor<2x3x8x8xf32>
}

// -----

func.func @normalize_std(%x: tensor<2x1x8x8xf32>) -> tensor<2x1x8x8xf32> {
  // expected-error @+1 {{std[0] = 0 must be > 0}}
  %0 = simclr.normalize %x {mean = array<f64: 0.5>, std = array<f64: 0.0>} : tensor<2x1x8x8xf32>
  return %0 : tensor<2x1x8x8xf32>
}

// -----

func.func @conv_groups(%x: tensor<2x8x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<2x8x8x8xf32> {
  // expected-error @+1 {{groups = 3 must divide the input channels (8) and the filters (8)}}
  %0 = simclr.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 3 : i64} : (tensor<2x8x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<2x8x8x8xf32>
  return %0 : tensor<2x8x8x8xf32>
}

// -----

func.func @conv_filter_channels(%x: tensor<2x8x8x8xf32>, %w: tensor<16x3x3x3xf32>) -> tensor<2x16x8x8xf32> {
  // expected-error @+1 {{filter has 3 input channels per group; the input gives 8/1 = 8}}
  %0 = simclr.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x8x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<2x16x8x8xf32>
  return %0 : tensor<2x16x8x8xf32>
}

// -----

func.func @conv_too_small(%x: tensor<2x3x2x2xf32>, %w: tensor<4x3x7x7xf32>) -> tensor<2x4x1x1xf32> {
  // expected-error @+1 {{a 7x7 filter (dilation 1x1, padding 1x1) does not fit the 2x2 input}}
  %0 = simclr.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x3x2x2xf32>, tensor<4x3x7x7xf32>) -> tensor<2x4x1x1xf32>
  return %0 : tensor<2x4x1x1xf32>
}

// -----

func.func @conv_bias(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<5xf32>) -> tensor<2x4x8x8xf32> {
  // expected-error @+1 {{bias must be a 4-entry tensor of the input's element type}}
  %0 = simclr.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<5xf32>) -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}

// -----

func.func @conv_result(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> {
  // expected-error @+1 {{result type(s) 'tensor<2x4x8x8xf32>' differ from the inferred 'tensor<2x4x4x4xf32>'}}
  %0 = simclr.conv2d %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}

// -----

func.func @conv_rank(%x: tensor<2x3x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> {
  // expected-error @+1 {{operand #0 must be statically shaped NCHW tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<2x3x8xf32>'}}
  %0 = simclr.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x3x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}

// -----

func.func @conv_dynamic(%x: tensor<?x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> {
  // expected-error @+1 {{operand #0 must be statically shaped NCHW tensor}}
  %0 = simclr.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}

// -----

func.func @batch_norm_scale(%x: tensor<2x4x8x8xf32>, %g: tensor<3xf32>) -> tensor<2x4x8x8xf32> {
  // expected-error @+1 {{scale has 3 entries but the input has 4 channels}}
  %y, %m, %v = simclr.batch_norm_train %x, %g, %g {epsilon = 1.0e-05 : f64} : (tensor<2x4x8x8xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y : tensor<2x4x8x8xf32>
}

// -----

func.func @batch_norm_epsilon(%x: tensor<2x4xf32>, %g: tensor<4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{epsilon must be > 0}}
  %y, %m, %v = simclr.batch_norm_train %x, %g, %g {epsilon = 0.0 : f64} : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y : tensor<2x4xf32>
}

// -----

func.func @batch_norm_inference_scale(%x: tensor<2x4xf32>, %g: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{scale has 3 entries but the input has 4 channels}}
  %y = simclr.batch_norm_inference %x, %g, %g, %g, %g {epsilon = 1.0e-05 : f64} : tensor<2x4xf32>, tensor<3xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @running_stats_count(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{count = 1 must be >= 2 for the unbiased variance}}
  %m, %v = simclr.running_stats_update %a, %a, %a, %a {momentum = 0.1 : f64, count = 1 : i64} : tensor<4xf32>
  return %m : tensor<4xf32>
}

// -----

func.func @running_stats_momentum(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{momentum = 1.5 must be in [0, 1]}}
  %m, %v = simclr.running_stats_update %a, %a, %a, %a {momentum = 1.5 : f64, count = 8 : i64} : tensor<4xf32>
  return %m : tensor<4xf32>
}

// -----

func.func @max_pool_padding(%x: tensor<2x4x8x8xf32>) -> tensor<2x4x5x5xf32> {
  // expected-error @+1 {{padding 2 exceeds half the kernel size 3}}
  %0 = simclr.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 2, 2>} : tensor<2x4x8x8xf32> -> tensor<2x4x5x5xf32>
  return %0 : tensor<2x4x5x5xf32>
}

// -----

func.func @linear_features(%x: tensor<2x8xf32>, %w: tensor<4x6xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{input has 8 features but the weight (M x K) expects 6}}
  %0 = simclr.linear %x, %w : (tensor<2x8xf32>, tensor<4x6xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @reshape_count(%x: tensor<2x8xf32>) -> tensor<3x5xf32> {
  // expected-error @+1 {{cannot reshape 2x8 (16 elements) to 3x5 (15 elements)}}
  %0 = simclr.reshape %x : tensor<2x8xf32> -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

func.func @concat_mismatch(%a: tensor<2x8xf32>, %b: tensor<2x7xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{input 1 has size 7 in dimension 1 where input 0 has 8}}
  %0 = simclr.concat %a, %b {dim = 0 : i64} : (tensor<2x8xf32>, tensor<2x7xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @add_types(%a: tensor<2x8xf32>, %b: tensor<2x8xf16>) -> tensor<2x8xf32> {
  // expected-error @+1 {{failed to verify that all of {lhs, rhs, result} have same type}}
  %0 = "simclr.add"(%a, %b) : (tensor<2x8xf32>, tensor<2x8xf16>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @nt_xent_batch_of_one(%z: tensor<2x8xf32>) -> tensor<f32> {
  // expected-error @+1 {{expects 2N rows (two views of N images) with N >= 2, got 2 rows}}
  %0 = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<2x8xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @nt_xent_odd(%z: tensor<7x8xf32>) -> tensor<f32> {
  // expected-error @+1 {{expects 2N rows (two views of N images) with N >= 2, got 7 rows}}
  %0 = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<7x8xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @nt_xent_temperature(%z: tensor<8x8xf32>) -> tensor<f32> {
  // expected-error @+1 {{temperature must be > 0}}
  %0 = simclr.nt_xent %z {temperature = 0.0 : f64} : tensor<8x8xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// Issue 14: inf passed `temperature > 0` and reached code generation, which
// cannot print it.
func.func @nt_xent_temperature_inf(%z: tensor<8x8xf32>) -> tensor<f32> {
  // expected-error @+1 {{attribute 'temperature' failed to satisfy constraint: 64-bit float attribute whose value is finite}}
  %0 = simclr.nt_xent %z {temperature = 0x7FF0000000000000 : f64} : tensor<8x8xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @normalize_mean_nan(%x: tensor<2x1x8x8xf32>) -> tensor<2x1x8x8xf32> {
  // expected-error @+1 {{attribute 'mean' failed to satisfy constraint: f64 dense array attribute whose values are finite}}
  %0 = simclr.normalize %x {mean = array<f64: 0x7FF8000000000000>, std = array<f64: 0.5>} : tensor<2x1x8x8xf32>
  return %0 : tensor<2x1x8x8xf32>
}

// -----

func.func @matmul_contracting(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{contracting sizes differ: 8 vs 4}}
  %0 = simclr.matmul %a, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @log_softmax_square(%s: tensor<4x5xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{expects a square input of size >= 2, got 4x5}}
  %0 = simclr.masked_scaled_log_softmax %s {scale = 2.0 : f64} : tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @gather_positives_odd(%s: tensor<5x5xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{expects a 2N x 2N input with N >= 2, got 5x5}}
  %0 = simclr.gather_positives %s : tensor<5x5xf32> -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @lr_schedule_warmup(%step: tensor<i64>) -> tensor<f32> {
  // expected-error @+1 {{needs 0 <= warmup_steps (20) <= total_steps (10) and total_steps >= 1}}
  %0 = simclr.lr_schedule %step {base_lr = 1.0 : f64, final_lr = 0.0 : f64, warmup_steps = 20 : i64, total_steps = 10 : i64} : tensor<i64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @lr_schedule_epochs(%step: tensor<i64>) -> tensor<f32> {
  // expected-error @+1 {{steps_per_epoch (4) must be >= 1 and divide warmup_steps (2) and total_steps (12)}}
  %0 = simclr.lr_schedule %step {base_lr = 1.0 : f64, final_lr = 0.0 : f64, warmup_steps = 2 : i64, total_steps = 12 : i64, steps_per_epoch = 4 : i64} : tensor<i64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @lr_schedule_final(%step: tensor<i64>) -> tensor<f32> {
  // expected-error @+1 {{final_lr = 2 must be in [0, base_lr]}}
  %0 = simclr.lr_schedule %step {base_lr = 1.0 : f64, final_lr = 2.0 : f64, warmup_steps = 0 : i64, total_steps = 10 : i64} : tensor<i64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @sgd_momentum(%p: tensor<4xf32>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{momentum = 1 must be in [0, 1)}}
  %0, %1 = simclr.sgd_update %p, %p, %p, %lr {momentum = 1.0 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  return %0 : tensor<4xf32>
}

// -----

func.func @adamw_beta(%p: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> tensor<4xf32> {
  // expected-error @+1 {{beta2 = 1 must be in [0, 1)}}
  %0, %1, %2 = simclr.adamw_update %p, %p, %p, %p, %lr, %step {beta1 = 0.9 : f64, beta2 = 1.0 : f64, epsilon = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  return %0 : tensor<4xf32>
}

// -----

func.func @lars_excluded_decay(%p: tensor<4xf32>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{weight_decay must be 0 without layer_adaptation (SimCLR excludes biases and batch-norm parameters from both)}}
  %0, %1 = simclr.lars_update %p, %p, %p, %lr {momentum = 0.9 : f64, weight_decay = 1.0e-06 : f64, trust_coefficient = 1.0e-03 : f64, layer_adaptation = false} : tensor<4xf32>, tensor<f32>
  return %0 : tensor<4xf32>
}

// -----

func.func @update_types(%p: tensor<4xf32>, %g: tensor<5xf32>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{failed to verify that all of {param, grad, momentum_buffer, new_param, new_momentum_buffer} have same type}}
  %0, %1 = "simclr.sgd_update"(%p, %g, %p, %lr) {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : (tensor<4xf32>, tensor<5xf32>, tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>)
  return %0 : tensor<4xf32>
}
