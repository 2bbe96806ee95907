// RUN: simclr-opt %s -split-input-file -simclr-expand-linear | FileCheck %s

// With a bias: the product with transposed weight, the bias spread over the
// batch, and their sum.
// CHECK-LABEL: func.func @with_bias
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[P:.*]] = simclr.matmul %[[X]], %[[W]] {transpose_rhs = true} : (tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<8x4xf32>
// CHECK: %[[BB:.*]] = simclr.broadcast %[[B]] : tensor<4xf32> -> tensor<8x4xf32>
// CHECK: %[[Y:.*]] = simclr.add %[[P]], %[[BB]] : tensor<8x4xf32>
// CHECK-NOT: simclr.linear
// CHECK: return %[[Y]]
func.func @with_bias(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %y = simclr.linear %x, %w, %b : (tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// Without a bias, the matmul alone.
// CHECK-LABEL: func.func @no_bias
// CHECK-NEXT: %[[P:.*]] = simclr.matmul %{{.*}}, %{{.*}} {transpose_rhs = true}
// CHECK-NEXT: return %[[P]]
func.func @no_bias(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>) -> tensor<8x4xf32> {
  %y = simclr.linear %x, %w : (tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// A plain matmul is left alone.
// CHECK-LABEL: func.func @matmul
// CHECK-NEXT: simclr.matmul %{{.*}}, %{{.*}} :
// CHECK-NEXT: return
func.func @matmul(%x: tensor<8x16xf32>, %w: tensor<16x4xf32>) -> tensor<8x4xf32> {
  %y = simclr.matmul %x, %w : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
