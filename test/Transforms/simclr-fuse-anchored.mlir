// RUN: simclr-opt %s -split-input-file -simclr-fuse-anchored | FileCheck %s

// Batch-norm apply + ReLU: the ReLU is the epilogue, the statistics are
// yielded for the running-average update that stays outside.
// CHECK-LABEL: func.func @bn_relu
// CHECK-SAME: (%[[X:[^:]*]]: tensor<8x4x2x2xf32>, %[[G:[^:]*]]: tensor<4xf32>, %[[B:[^:]*]]: tensor<4xf32>
// CHECK: %[[F:.*]]:3 = simclr.fusion "batch_norm_train_relu_0" anchored (%[[X]], %[[G]], %[[B]])
// CHECK-NEXT: ^bb0(%[[A0:.*]]: tensor<8x4x2x2xf32>, %[[A1:.*]]: tensor<4xf32>, %[[A2:.*]]: tensor<4xf32>):
// CHECK-NEXT: %[[O:.*]], %[[M:.*]], %[[V:.*]] = simclr.batch_norm_train %[[A0]], %[[A1]], %[[A2]]
// CHECK-NEXT: %[[R:.*]] = simclr.relu %[[O]]
// CHECK-NEXT: simclr.yield %[[R]], %[[M]], %[[V]]
// CHECK: simclr.running_stats_update %{{.*}}, %{{.*}}, %[[F]]#1, %[[F]]#2
// CHECK: return %[[F]]#0
func.func @bn_relu(%x: tensor<8x4x2x2xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>)
    -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) {
  %o, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64}
      : (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
  %nm, %nv = simclr.running_stats_update %rm, %rv, %m, %v {momentum = 0.1 : f64, count = 32 : i64} : tensor<4xf32>
  %r = simclr.relu %o : tensor<8x4x2x2xf32>
  return %r, %nm, %nv : tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Residual add + ReLU as the epilogue of the branch's batch norm; the
// residual becomes a fusion input. The running-stats update between the
// batch norm and the add moves after the fusion it reads from.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: %[[RES:[^:]*]]: tensor<8x4x2x2xf32>)
// CHECK: %[[F:.*]]:3 = simclr.fusion "batch_norm_train_add_relu_0" anchored (%{{.*}}, %{{.*}}, %{{.*}}, %[[RES]])
// CHECK: simclr.batch_norm_train
// CHECK-NEXT: %[[S:.*]] = simclr.add %{{.*}}, %{{.*}}
// CHECK-NEXT: %[[R:.*]] = simclr.relu %[[S]]
// CHECK-NEXT: simclr.yield %[[R]]
// CHECK: simclr.running_stats_update %{{.*}}, %{{.*}}, %[[F]]#1, %[[F]]#2
func.func @residual(%x: tensor<8x4x2x2xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>,
                    %res: tensor<8x4x2x2xf32>) -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) {
  %o, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64}
      : (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
  %nm, %nv = simclr.running_stats_update %rm, %rv, %m, %v {momentum = 0.1 : f64, count = 32 : i64} : tensor<4xf32>
  %s = simclr.add %o, %res : tensor<8x4x2x2xf32>
  %r = simclr.relu %s : tensor<8x4x2x2xf32>
  return %r, %nm, %nv : tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// relu_backward(add(a, b), y) as the prologue of batch_norm_train_backward's
// dy: one expression tree feeding operand 0.
// CHECK-LABEL: func.func @bn_backward_prologue
// CHECK: simclr.fusion "add_relu_backward_batch_norm_train_backward_0" anchored
// CHECK: %[[S:.*]] = simclr.add
// CHECK-NEXT: %[[DY:.*]] = simclr.relu_backward %[[S]], %{{.*}}
// CHECK-NEXT: simclr.batch_norm_train_backward %[[DY]],
// CHECK-NEXT: simclr.yield
func.func @bn_backward_prologue(%a: tensor<8x4x2x2xf32>, %b: tensor<8x4x2x2xf32>, %y: tensor<8x4x2x2xf32>,
                                %x: tensor<8x4x2x2xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>)
    -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) {
  %s = simclr.add %a, %b : tensor<8x4x2x2xf32>
  %dy = simclr.relu_backward %s, %y : tensor<8x4x2x2xf32>
  %dx, %dg, %db = simclr.batch_norm_train_backward %dy, %x, %g, %m, %v {epsilon = 1.0e-05 : f64}
      : (tensor<8x4x2x2xf32>, tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
  return %dx, %dg, %db : tensor<8x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// relu_backward as the epilogue of global_avg_pool_backward, and relu as
// the prologue of global_avg_pool.
// CHECK-LABEL: func.func @pool
// CHECK: simclr.fusion "relu_global_avg_pool_0" anchored
// CHECK-NEXT: ^bb0
// CHECK-NEXT: simclr.relu
// CHECK-NEXT: simclr.global_avg_pool
// CHECK: simclr.fusion "global_avg_pool_backward_relu_backward_0" anchored
// CHECK-NEXT: ^bb0
// CHECK-NEXT: simclr.global_avg_pool_backward
// CHECK-NEXT: simclr.relu_backward
func.func @pool(%x: tensor<8x4x2x2xf32>, %dh: tensor<8x4xf32>, %y: tensor<8x4x2x2xf32>)
    -> (tensor<8x4xf32>, tensor<8x4x2x2xf32>) {
  %r = simclr.relu %x : tensor<8x4x2x2xf32>
  %h = simclr.global_avg_pool %r : tensor<8x4x2x2xf32> -> tensor<8x4xf32>
  %dr = simclr.global_avg_pool_backward %dh : tensor<8x4xf32> -> tensor<8x4x2x2xf32>
  %dx = simclr.relu_backward %dr, %y : tensor<8x4x2x2xf32>
  return %h, %dx : tensor<8x4xf32>, tensor<8x4x2x2xf32>
}

// -----

// Edge cases left alone: a batch-norm output with a second use (the ReLU
// cannot replace it), a prologue value used twice (it would be computed
// twice), and a sum_to_channels whose input is also read by a matmul.
// CHECK-LABEL: func.func @not_fused
// CHECK-NOT: simclr.fusion
func.func @not_fused(%x: tensor<8x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %w: tensor<4x3xf32>)
    -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<8x3xf32>) {
  %o, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
  %r = simclr.relu %o : tensor<8x4xf32>
  %d = simclr.relu_backward %x, %r : tensor<8x4xf32>
  %c = simclr.sum_to_channels %d : tensor<8x4xf32> -> tensor<4xf32>
  %p = simclr.matmul %d, %w : (tensor<8x4xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  return %o, %r, %m, %v, %c, %p : tensor<8x4xf32>, tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<8x3xf32>
}

// -----

// An epilogue operand computed from the anchor's own statistics would make
// a cycle: the chain stops before it (here, no epilogue at all).
// CHECK-LABEL: func.func @cycle
// CHECK-NOT: simclr.fusion
func.func @cycle(%x: tensor<8x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %o, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
  %mb = simclr.broadcast %m : tensor<4xf32> -> tensor<8x4xf32>
  %s = simclr.add %o, %mb : tensor<8x4xf32>
  return %s : tensor<8x4xf32>
}
