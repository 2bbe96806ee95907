// Every simclr op prints and parses back unchanged, in custom and generic form.
// RUN: simclr-opt %s | simclr-opt | FileCheck %s
// RUN: simclr-opt %s --mlir-print-op-generic | simclr-opt | FileCheck %s

// CHECK-LABEL: func.func @augmentations
// CHECK-SAME: (%[[KEY:.*]]: !simclr.rng_key, %[[IMG:.*]]: tensor<4x3x32x32xui8>)
func.func @augmentations(%key: !simclr.rng_key, %images: tensor<4x3x32x32xui8>) -> tensor<4x3x24x24xf32> {
  // CHECK: %[[K:.*]] = simclr.rng_fold_in %[[KEY]] {tag = 3 : i64}
  %k = simclr.rng_fold_in %key {tag = 3 : i64}
  // CHECK: %[[X:.*]] = simclr.image_to_float %[[IMG]] : tensor<4x3x32x32xui8> -> tensor<4x3x32x32xf32>
  %x = simclr.image_to_float %images : tensor<4x3x32x32xui8> -> tensor<4x3x32x32xf32>
  // CHECK: %[[C:.*]] = simclr.random_resized_crop %[[K]], %[[X]] {ratio = array<f64: 7.500000e-01, 1.3333333333333333>, scale = array<f64: 8.000000e-02, 1.000000e+00>, size = array<i64: 24, 24>} : tensor<4x3x32x32xf32> -> tensor<4x3x24x24xf32>
  %c = simclr.random_resized_crop %k, %x {scale = array<f64: 0.08, 1.0>, ratio = array<f64: 0.75, 1.3333333333333333>, size = array<i64: 24, 24>} : tensor<4x3x32x32xf32> -> tensor<4x3x24x24xf32>
  // CHECK: %[[F:.*]] = simclr.horizontal_flip %[[K]], %[[C]] {p = 5.000000e-01 : f64} : tensor<4x3x24x24xf32>
  %f = simclr.horizontal_flip %k, %c {p = 0.5 : f64} : tensor<4x3x24x24xf32>
  // CHECK: %[[J:.*]] = simclr.color_jitter %[[K]], %[[F]] {brightness = 4.000000e-01 : f64, contrast = 4.000000e-01 : f64, hue = 1.000000e-01 : f64, p = 8.000000e-01 : f64, saturation = 4.000000e-01 : f64} : tensor<4x3x24x24xf32>
  %j = simclr.color_jitter %k, %f {brightness = 0.4 : f64, contrast = 0.4 : f64, saturation = 0.4 : f64, hue = 0.1 : f64, p = 0.8 : f64} : tensor<4x3x24x24xf32>
  // CHECK: %[[G:.*]] = simclr.random_grayscale %[[K]], %[[J]] {p = 2.000000e-01 : f64} : tensor<4x3x24x24xf32>
  %g = simclr.random_grayscale %k, %j {p = 0.2 : f64} : tensor<4x3x24x24xf32>
  // CHECK: %[[B:.*]] = simclr.gaussian_blur %[[K]], %[[G]] {kernel_size = 9 : i64, p = 5.000000e-01 : f64, sigma = array<f64: 1.000000e-01, 2.000000e+00>} : tensor<4x3x24x24xf32>
  %b = simclr.gaussian_blur %k, %g {kernel_size = 9 : i64, sigma = array<f64: 0.1, 2.0>, p = 0.5 : f64} : tensor<4x3x24x24xf32>
  // CHECK: %[[N:.*]] = simclr.normalize %[[B]] {mean = array<f64: 5.000000e-01, 5.000000e-01, 5.000000e-01>, std = array<f64: 2.500000e-01, 2.500000e-01, 2.500000e-01>} : tensor<4x3x24x24xf32>
  %n = simclr.normalize %b {mean = array<f64: 0.5, 0.5, 0.5>, std = array<f64: 0.25, 0.25, 0.25>} : tensor<4x3x24x24xf32>
  // CHECK: return %[[N]]
  return %n : tensor<4x3x24x24xf32>
}

// CHECK-LABEL: func.func @encoder
func.func @encoder(%x: tensor<4x3x32x32xf32>, %w: tensor<8x3x7x7xf32>, %bias: tensor<8xf32>,
                   %wg: tensor<8x4x3x3xf32>, %gamma: tensor<8xf32>, %beta: tensor<8xf32>,
                   %rm: tensor<8xf32>, %rv: tensor<8xf32>, %fc: tensor<10x8xf32>)
    -> (tensor<4x10xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4x8x16x16xf32>, tensor<4x8x4x4xf32>, tensor<2x10x2xf32>) {
  // CHECK: %[[C1:.*]] = simclr.conv2d %{{.*}}, %{{.*}} {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 3, 3>, stride = array<i64: 2, 2>} : (tensor<4x3x32x32xf32>, tensor<8x3x7x7xf32>) -> tensor<4x8x16x16xf32>
  %c1 = simclr.conv2d %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 3, 3>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<4x3x32x32xf32>, tensor<8x3x7x7xf32>) -> tensor<4x8x16x16xf32>
  // CHECK: simclr.conv2d %[[C1]], %{{.*}}, %{{.*}} {dilation = array<i64: 2, 2>, groups = 2 : i64, padding = array<i64: 2, 2>, stride = array<i64: 1, 1>} : (tensor<4x8x16x16xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<4x8x16x16xf32>
  %c2 = simclr.conv2d %c1, %wg, %bias {stride = array<i64: 1, 1>, padding = array<i64: 2, 2>, dilation = array<i64: 2, 2>, groups = 2 : i64} : (tensor<4x8x16x16xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<4x8x16x16xf32>
  // CHECK: %[[Y:.*]], %[[M:.*]], %[[V:.*]] = simclr.batch_norm_train
  // CHECK-SAME: {epsilon = 1.000000e-05 : f64} : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>)
  %y, %mean, %var = simclr.batch_norm_train %c2, %gamma, %beta {epsilon = 1.0e-05 : f64} : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>)
  // CHECK: simclr.running_stats_update %{{.*}}, %{{.*}}, %[[M]], %[[V]] {count = 1024 : i64, momentum = 1.000000e-01 : f64} : tensor<8xf32>
  %nm, %nv = simclr.running_stats_update %rm, %rv, %mean, %var {momentum = 0.1 : f64, count = 1024 : i64} : tensor<8xf32>
  // CHECK: %[[I:.*]] = simclr.batch_norm_inference %[[Y]], {{.*}} {epsilon = 1.000000e-05 : f64} : tensor<4x8x16x16xf32>, tensor<8xf32>
  %inf = simclr.batch_norm_inference %y, %gamma, %beta, %rm, %rv {epsilon = 1.0e-05 : f64} : tensor<4x8x16x16xf32>, tensor<8xf32>
  // CHECK: %[[R:.*]] = simclr.relu %[[I]] : tensor<4x8x16x16xf32>
  %r = simclr.relu %inf : tensor<4x8x16x16xf32>
  // CHECK: %[[A:.*]] = simclr.add %[[R]], %[[C1]] : tensor<4x8x16x16xf32>
  %a = simclr.add %r, %c1 : tensor<4x8x16x16xf32>
  // CHECK: %[[P:.*]] = simclr.max_pool2d %[[A]] {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>, stride = array<i64: 4, 4>} : tensor<4x8x16x16xf32> -> tensor<4x8x4x4xf32>
  %p = simclr.max_pool2d %a {kernel = array<i64: 3, 3>, stride = array<i64: 4, 4>, padding = array<i64: 1, 1>} : tensor<4x8x16x16xf32> -> tensor<4x8x4x4xf32>
  // CHECK: %[[H:.*]] = simclr.global_avg_pool %[[P]] : tensor<4x8x4x4xf32> -> tensor<4x8xf32>
  %h = simclr.global_avg_pool %p : tensor<4x8x4x4xf32> -> tensor<4x8xf32>
  // CHECK: %[[L:.*]] = simclr.linear %[[H]], %{{.*}} : (tensor<4x8xf32>, tensor<10x8xf32>) -> tensor<4x10xf32>
  %l = simclr.linear %h, %fc : (tensor<4x8xf32>, tensor<10x8xf32>) -> tensor<4x10xf32>
  // CHECK: simclr.reshape %[[L]] : tensor<4x10xf32> -> tensor<2x10x2xf32>
  %s = simclr.reshape %l : tensor<4x10xf32> -> tensor<2x10x2xf32>
  return %l, %nm, %nv, %a, %p, %s : tensor<4x10xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4x8x16x16xf32>, tensor<4x8x4x4xf32>, tensor<2x10x2xf32>
}

// CHECK-LABEL: func.func @head_and_loss
func.func @head_and_loss(%a: tensor<4x16xf32>, %b: tensor<4x16xf32>, %w: tensor<16x8xf32>, %bias: tensor<16xf32>)
    -> (tensor<f32>, tensor<f32>) {
  // CHECK: %[[Z:.*]] = simclr.concat %{{.*}}, %{{.*}} {dim = 0 : i64} : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<8x16xf32>
  %z = simclr.concat %a, %b {dim = 0 : i64} : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<8x16xf32>
  // CHECK: %[[U:.*]] = simclr.l2_normalize %[[Z]] {epsilon = 9.9999999999999998E-13 : f64} : tensor<8x16xf32>
  %u = simclr.l2_normalize %z {epsilon = 1.0e-12 : f64} : tensor<8x16xf32>
  // CHECK: %[[S:.*]] = simclr.matmul %[[U]], %[[U]] {transpose_rhs = true} : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x8xf32>
  %s = simclr.matmul %u, %u {transpose_lhs = false, transpose_rhs = true} : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x8xf32>
  // CHECK: simclr.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<8x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %proj = simclr.linear %s, %w, %bias : (tensor<8x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  // CHECK: %[[LS:.*]] = simclr.masked_scaled_log_softmax %[[S]] {scale = 2.000000e+00 : f64} : tensor<8x8xf32>
  %ls = simclr.masked_scaled_log_softmax %s {scale = 2.0 : f64} : tensor<8x8xf32>
  // CHECK: %[[G:.*]] = simclr.gather_positives %[[LS]] : tensor<8x8xf32> -> tensor<8xf32>
  %g = simclr.gather_positives %ls : tensor<8x8xf32> -> tensor<8xf32>
  // CHECK: %[[M:.*]] = simclr.reduce_mean %[[G]] : tensor<8xf32> -> tensor<f32>
  %m = simclr.reduce_mean %g : tensor<8xf32> -> tensor<f32>
  // CHECK: simclr.scale %[[M]] {factor = -1.000000e+00 : f64} : tensor<f32>
  %neg = simclr.scale %m {factor = -1.0 : f64} : tensor<f32>
  // CHECK: simclr.nt_xent %{{.*}} {temperature = 5.000000e-01 : f64} : tensor<8x16xf32> -> tensor<f32>
  %loss = simclr.nt_xent %proj {temperature = 0.5 : f64} : tensor<8x16xf32> -> tensor<f32>
  return %neg, %loss : tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func.func @optimizers
func.func @optimizers(%step: tensor<i64>, %p: tensor<8x3x3x3xbf16>, %g: tensor<8x3x3x3xbf16>, %m: tensor<8x3x3x3xbf16>,
                      %v: tensor<8x3x3x3xbf16>) -> (tensor<8x3x3x3xbf16>, tensor<8x3x3x3xbf16>, tensor<8x3x3x3xbf16>, tensor<8x3x3x3xbf16>) {
  // CHECK: %[[LR:.*]] = simclr.lr_schedule %{{.*}} {base_lr = 1.000000e+00 : f64, final_lr = 0.000000e+00 : f64, total_steps = 100 : i64, warmup_steps = 10 : i64} : tensor<i64> -> tensor<f32>
  %lr = simclr.lr_schedule %step {base_lr = 1.0 : f64, final_lr = 0.0 : f64, warmup_steps = 10 : i64, total_steps = 100 : i64} : tensor<i64> -> tensor<f32>
  // CHECK: simclr.sgd_update %{{.*}}, %{{.*}}, %{{.*}}, %[[LR]] {momentum = 9.000000e-01 : f64, weight_decay = 1.000000e-04 : f64} : tensor<8x3x3x3xbf16>, tensor<f32>
  %p1, %b1 = simclr.sgd_update %p, %g, %m, %lr {momentum = 0.9 : f64, weight_decay = 1.0e-4 : f64} : tensor<8x3x3x3xbf16>, tensor<f32>
  // CHECK: simclr.adamw_update %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[LR]], %{{.*}} {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, epsilon = 1.000000e-08 : f64, weight_decay = 1.000000e-04 : f64} : tensor<8x3x3x3xbf16>, tensor<f32>
  %p2, %m2, %v2 = simclr.adamw_update %p1, %g, %m, %v, %lr, %step {beta1 = 0.9 : f64, beta2 = 0.999 : f64, epsilon = 1.0e-8 : f64, weight_decay = 1.0e-4 : f64} : tensor<8x3x3x3xbf16>, tensor<f32>
  // CHECK: simclr.lars_update %{{.*}}, %{{.*}}, %{{.*}}, %[[LR]] {layer_adaptation = true, momentum = 9.000000e-01 : f64, trust_coefficient = 1.000000e-03 : f64, weight_decay = 9.9999999999999995E-7 : f64} : tensor<8x3x3x3xbf16>, tensor<f32>
  %p3, %b3 = simclr.lars_update %p2, %g, %b1, %lr {momentum = 0.9 : f64, weight_decay = 1.0e-6 : f64, trust_coefficient = 1.0e-3 : f64, layer_adaptation = true} : tensor<8x3x3x3xbf16>, tensor<f32>
  return %p3, %b3, %m2, %v2 : tensor<8x3x3x3xbf16>, tensor<8x3x3x3xbf16>, tensor<8x3x3x3xbf16>, tensor<8x3x3x3xbf16>
}
