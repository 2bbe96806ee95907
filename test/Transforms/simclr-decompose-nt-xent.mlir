// RUN: simclr-opt %s -split-input-file -simclr-decompose-nt-xent | FileCheck %s

// The loss becomes the chain of its definition; the scale is 1/temperature.
// CHECK-LABEL: func.func @loss
// CHECK-SAME: (%[[Z:.*]]: tensor<8x16xf32>)
// CHECK: %[[U:.*]] = simclr.l2_normalize %[[Z]] {epsilon = 9.9999999999999998E-13 : f64} : tensor<8x16xf32>
// CHECK: %[[S:.*]] = simclr.matmul %[[U]], %[[U]] {transpose_rhs = true} : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x8xf32>
// CHECK: %[[L:.*]] = simclr.masked_scaled_log_softmax %[[S]] {scale = 1.000000e+01 : f64} : tensor<8x8xf32>
// CHECK: %[[P:.*]] = simclr.gather_positives %[[L]] : tensor<8x8xf32> -> tensor<8xf32>
// CHECK: %[[M:.*]] = simclr.reduce_mean %[[P]] : tensor<8xf32> -> tensor<f32>
// CHECK: %[[LOSS:.*]] = simclr.scale %[[M]] {factor = -1.000000e+00 : f64} : tensor<f32>
// CHECK-NOT: simclr.nt_xent
// CHECK: return %[[LOSS]]
func.func @loss(%z: tensor<8x16xf32>) -> tensor<f32> {
  %0 = simclr.nt_xent %z {temperature = 0.1 : f64} : tensor<8x16xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// Reduced precision is kept through the whole chain.
// CHECK-LABEL: func.func @bf16
// CHECK: simclr.matmul {{.*}} -> tensor<4x4xbf16>
// CHECK: simclr.reduce_mean {{.*}} : tensor<4xbf16> -> tensor<bf16>
// CHECK: simclr.scale {{.*}} : tensor<bf16>
func.func @bf16(%z: tensor<4x3xbf16>) -> tensor<bf16> {
  %0 = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<4x3xbf16> -> tensor<bf16>
  return %0 : tensor<bf16>
}

// -----

// Other ops are left alone.
// CHECK-LABEL: func.func @no_loss
// CHECK-NEXT: simclr.relu
// CHECK-NEXT: return
func.func @no_loss(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = simclr.relu %x : tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

