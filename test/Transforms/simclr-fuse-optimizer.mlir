// RUN: simclr-opt %s -split-input-file -simclr-fuse-optimizer | FileCheck %s

// Updates with one lr and step and the same hyperparameters but their
// weight decay become one kernel, placed at the last update; the use of the
// first update's result between them moves after the fusion.
// CHECK-LABEL: func.func @adamw
// CHECK: %[[LR:.*]] = simclr.lr_schedule
// CHECK-NEXT: %[[G2:.*]] = simclr.scale
// CHECK-NEXT: %[[F:.*]]:2 = simclr.fusion "adamw_update_0" optimizer
// CHECK-NEXT: ^bb0
// CHECK-NEXT: simclr.adamw_update {{.*}}weight_decay = 1.000000e-04
// CHECK-NEXT: simclr.adamw_update {{.*}}weight_decay = 0.000000e+00
// CHECK-NEXT: simclr.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[U:.*]] = simclr.relu %[[F]]#0
// CHECK: return %[[U]], %[[F]]#1
func.func @adamw(%p: tensor<4x3xf32>, %g: tensor<4x3xf32>, %m: tensor<4x3xf32>, %v: tensor<4x3xf32>,
                 %q: tensor<4xf32>, %h: tensor<4xf32>, %n: tensor<4xf32>, %w: tensor<4xf32>, %step: tensor<i64>)
    -> (tensor<4x3xf32>, tensor<4xf32>) {
  %lr = simclr.lr_schedule %step {base_lr = 1.0 : f64, final_lr = 0.0 : f64, warmup_steps = 0 : i64, total_steps = 10 : i64} : tensor<i64> -> tensor<f32>
  %p1, %m1, %v1 = simclr.adamw_update %p, %g, %m, %v, %lr, %step {beta1 = 0.9 : f64, beta2 = 0.999 : f64,
      epsilon = 1.0e-08 : f64, weight_decay = 1.0e-04 : f64} : tensor<4x3xf32>, tensor<f32>
  %u = simclr.relu %p1 : tensor<4x3xf32>
  %h2 = simclr.scale %h {factor = 2.0 : f64} : tensor<4xf32>
  %q1, %n1, %w1 = simclr.adamw_update %q, %h2, %n, %w, %lr, %step {beta1 = 0.9 : f64, beta2 = 0.999 : f64,
      epsilon = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  return %u, %q1 : tensor<4x3xf32>, tensor<4xf32>
}

// -----

// Other betas, another learning rate, or a single update: no fusion.
// CHECK-LABEL: func.func @not_fused
// CHECK-NOT: simclr.fusion
func.func @not_fused(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>,
                     %lr: tensor<f32>, %lr2: tensor<f32>, %step: tensor<i64>)
    -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %p1, %m1, %v1 = simclr.adamw_update %p, %g, %m, %v, %lr, %step {beta1 = 0.9 : f64, beta2 = 0.999 : f64,
      epsilon = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  %p2, %m2, %v2 = simclr.adamw_update %p, %g, %m, %v, %lr, %step {beta1 = 0.8 : f64, beta2 = 0.999 : f64,
      epsilon = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  %p3, %b3 = simclr.sgd_update %p, %g, %m, %lr2 {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  return %p1, %p2, %p3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// An update reading a value computed from another update's result cannot
// join it (a cycle): both stay.
// CHECK-LABEL: func.func @dependent
// CHECK-NOT: simclr.fusion
func.func @dependent(%p: tensor<4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %lr: tensor<f32>)
    -> (tensor<4xf32>, tensor<4xf32>) {
  %p1, %b1 = simclr.sgd_update %p, %g, %b, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  %g2 = simclr.relu %p1 : tensor<4xf32>
  %p2, %b2 = simclr.sgd_update %p, %g2, %b, %lr {momentum = 0.9 : f64, weight_decay = 1.0e-04 : f64} : tensor<4xf32>, tensor<f32>
  return %p1, %p2 : tensor<4xf32>, tensor<4xf32>
}
