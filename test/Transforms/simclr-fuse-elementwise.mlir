// RUN: simclr-opt %s -split-input-file -simclr-fuse-elementwise | FileCheck %s

// Residual add + ReLU.
// CHECK-LABEL: func.func @add_relu
// CHECK-SAME: (%[[A:.*]]: tensor<8x4xf32>, %[[B:.*]]: tensor<8x4xf32>)
// CHECK: %[[F:.*]] = simclr.fusion "add_relu_0" elementwise (%[[A]], %[[B]]) : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<8x4xf32>, %[[Y:.*]]: tensor<8x4xf32>):
// CHECK-NEXT: %[[S:.*]] = simclr.add %[[X]], %[[Y]]
// CHECK-NEXT: %[[R:.*]] = simclr.relu %[[S]]
// CHECK-NEXT: simclr.yield %[[R]] : tensor<8x4xf32>
// CHECK: return %[[F]]
func.func @add_relu(%a: tensor<8x4xf32>, %b: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %s = simclr.add %a, %b : tensor<8x4xf32>
  %r = simclr.relu %s : tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// Gradient fan-in then the ReLU mask; the masked gradient has two users,
// both outside, so it is yielded once.
// CHECK-LABEL: func.func @fan_in_mask
// CHECK: %[[F:.*]] = simclr.fusion "add_relu_backward_0" elementwise
// CHECK: return %[[F]], %[[F]]
func.func @fan_in_mask(%a: tensor<8x4xf32>, %b: tensor<8x4xf32>, %y: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  %s = simclr.add %a, %b : tensor<8x4xf32>
  %g = simclr.relu_backward %s, %y : tensor<8x4xf32>
  return %g, %g : tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// The bias add of an expanded linear with its ReLU: the broadcast input is
// a per-channel vector, the rest has the batch's shape.
// CHECK-LABEL: func.func @bias_relu
// CHECK: simclr.matmul
// CHECK-NEXT: %[[F:.*]] = simclr.fusion "broadcast_add_relu_0" elementwise (%{{.*}}, %{{.*}}) : (tensor<4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: simclr.broadcast
// CHECK-NEXT: simclr.add
// CHECK-NEXT: simclr.relu
// CHECK-NEXT: simclr.yield
func.func @bias_relu(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %p = simclr.matmul %x, %w {transpose_rhs = true} : (tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<8x4xf32>
  %bb = simclr.broadcast %b : tensor<4xf32> -> tensor<8x4xf32>
  %s = simclr.add %p, %bb : tensor<8x4xf32>
  %r = simclr.relu %s : tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// A producer with a user outside the chain is not pulled in (it would be
// both stored and recomputed): here the add stays alone and so does the
// relu, and a lone elementwise op is not wrapped.
// CHECK-LABEL: func.func @shared_producer
// CHECK-NOT: simclr.fusion
func.func @shared_producer(%a: tensor<8x4xf32>, %b: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  %s = simclr.add %a, %b : tensor<8x4xf32>
  %r = simclr.relu %s : tensor<8x4xf32>
  return %s, %r : tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// Ops of another shape, non-elementwise ops and ops already in a fusion
// stay out.
// CHECK-LABEL: func.func @boundaries
// CHECK: simclr.relu %{{.*}} : tensor<4xf32>
// CHECK: simclr.sum_to_channels
// CHECK: simclr.fusion "scale_relu_0" elementwise
// CHECK-NOT: simclr.fusion
// CHECK: simclr.fusion "relu_0" elementwise
// CHECK-NOT: simclr.fusion
// CHECK: return
func.func @boundaries(%v: tensor<4xf32>, %x: tensor<8x4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<8x4xf32>) {
  %rv = simclr.relu %v : tensor<4xf32>
  %c = simclr.sum_to_channels %x : tensor<8x4xf32> -> tensor<4xf32>
  %s = simclr.scale %x {factor = 2.0 : f64} : tensor<8x4xf32>
  %r = simclr.relu %s : tensor<8x4xf32>
  %f = simclr.fusion "relu_0" elementwise (%r) : (tensor<8x4xf32>) -> tensor<8x4xf32> {
  ^bb0(%a: tensor<8x4xf32>):
    %0 = simclr.relu %a : tensor<8x4xf32>
    simclr.yield %0 : tensor<8x4xf32>
  }
  return %rv, %c, %f : tensor<4xf32>, tensor<4xf32>, tensor<8x4xf32>
}
