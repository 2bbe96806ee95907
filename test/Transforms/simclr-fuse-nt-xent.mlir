// RUN: simclr-opt %s -split-input-file -simclr-fuse-nt-xent | FileCheck %s

// The loss, its seed and its gradient in one fusion.
// CHECK-LABEL: func.func @loss_and_gradient
// CHECK-SAME: (%[[Z:.*]]: tensor<8x4xf32>)
// CHECK: %[[F:.*]]:2 = simclr.fusion "nt_xent_0" nt_xent (%[[Z]]) : (tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<8x4xf32>):
// CHECK-NEXT: %[[L:.*]] = simclr.nt_xent %[[A]] {temperature = 5.000000e-01 : f64}
// CHECK-NEXT: %[[ONE:.*]] = simclr.fill {value = 1.000000e+00 : f64} : tensor<f32>
// CHECK-NEXT: %[[G:.*]] = simclr.nt_xent_backward %[[ONE]], %[[A]] {temperature = 5.000000e-01 : f64}
// CHECK-NEXT: simclr.yield %[[L]], %[[G]] : tensor<f32>, tensor<8x4xf32>
// CHECK: return %[[F]]#0, %[[F]]#1
func.func @loss_and_gradient(%z: tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  %l = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<8x4xf32> -> tensor<f32>
  %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
  %g = simclr.nt_xent_backward %one, %z {temperature = 0.5 : f64} : tensor<f32>, tensor<8x4xf32>
  return %l, %g : tensor<f32>, tensor<8x4xf32>
}

// -----

// A seed other than 1.0 is not the loss's own gradient: left alone.
// CHECK-LABEL: func.func @other_seed
// CHECK-NOT: simclr.fusion
func.func @other_seed(%z: tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  %l = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<8x4xf32> -> tensor<f32>
  %two = simclr.fill {value = 2.0 : f64} : tensor<f32>
  %g = simclr.nt_xent_backward %two, %z {temperature = 0.5 : f64} : tensor<f32>, tensor<8x4xf32>
  return %l, %g : tensor<f32>, tensor<8x4xf32>
}

// -----

// A seed with another use, or another temperature: left alone.
// CHECK-LABEL: func.func @shared_seed
// CHECK-NOT: simclr.fusion
func.func @shared_seed(%z: tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>, tensor<f32>) {
  %l = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<8x4xf32> -> tensor<f32>
  %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
  %g = simclr.nt_xent_backward %one, %z {temperature = 0.5 : f64} : tensor<f32>, tensor<8x4xf32>
  return %l, %g, %one : tensor<f32>, tensor<8x4xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @other_temperature
// CHECK-NOT: simclr.fusion
func.func @other_temperature(%z: tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  %l = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<8x4xf32> -> tensor<f32>
  %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
  %g = simclr.nt_xent_backward %one, %z {temperature = 0.1 : f64} : tensor<f32>, tensor<8x4xf32>
  return %l, %g : tensor<f32>, tensor<8x4xf32>
}
