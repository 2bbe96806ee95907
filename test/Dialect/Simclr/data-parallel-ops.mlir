// The synchronized batch-norm ops (SimclrDataParallelOps.td) print and parse
// back unchanged, in custom and generic form.
// RUN: simclr-opt %s | simclr-opt | FileCheck %s
// RUN: simclr-opt %s --mlir-print-op-generic | simclr-opt | FileCheck %s

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<8x16x4x4xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>, %[[RM:.*]]: tensor<16xf32>, %[[RV:.*]]: tensor<16xf32>)
func.func @forward(%x: tensor<8x16x4x4xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>,
                   %rm: tensor<16xf32>, %rv: tensor<16xf32>)
    -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>) {
  // CHECK: %[[S:.*]] = simclr.batch_norm_statistics %[[X]] : tensor<8x16x4x4xf32> -> tensor<3x16xf64>
  %s = simclr.batch_norm_statistics %x : tensor<8x16x4x4xf32> -> tensor<3x16xf64>
  // CHECK: %[[Y:.*]], %[[M:.*]], %[[V:.*]] = simclr.batch_norm_apply %[[X]], %[[G]], %[[B]], %[[S]] {epsilon = 1.000000e-05 : f64} : (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>) -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
  %y, %m, %v = simclr.batch_norm_apply %x, %g, %b, %s {epsilon = 1.0e-05 : f64}
      : (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>)
      -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
  // CHECK: %[[NM:.*]], %[[NV:.*]] = simclr.running_stats_from_sums %[[RM]], %[[RV]], %[[S]] {momentum = 1.000000e-01 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>) -> (tensor<16xf32>, tensor<16xf32>)
  %nm, %nv = simclr.running_stats_from_sums %rm, %rv, %s {momentum = 1.0e-01 : f64}
      : (tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>) -> (tensor<16xf32>, tensor<16xf32>)
  // CHECK: return %[[Y]], %[[NM]], %[[NV]]
  return %y, %nm, %nv : tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>
}

// CHECK-LABEL: func.func @backward
// CHECK-SAME: (%[[DY:.*]]: tensor<8x16xf32>, %[[X:.*]]: tensor<8x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[M:.*]]: tensor<16xf32>, %[[V:.*]]: tensor<16xf32>)
func.func @backward(%dy: tensor<8x16xf32>, %x: tensor<8x16xf32>, %g: tensor<16xf32>,
                    %m: tensor<16xf32>, %v: tensor<16xf32>)
    -> (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) {
  // CHECK: %[[S:.*]] = simclr.batch_norm_backward_statistics %[[DY]], %[[X]], %[[M]], %[[V]] {epsilon = 1.000000e-05 : f64} : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<3x16xf64>
  %s = simclr.batch_norm_backward_statistics %dy, %x, %m, %v {epsilon = 1.0e-05 : f64}
      : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<3x16xf64>
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}} = simclr.batch_norm_backward_apply %[[DY]], %[[X]], %[[G]], %[[M]], %[[V]], %[[S]] {epsilon = 1.000000e-05 : f64} : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>) -> (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>)
  %dx, %dg, %db = simclr.batch_norm_backward_apply %dy, %x, %g, %m, %v, %s {epsilon = 1.0e-05 : f64}
      : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<3x16xf64>)
      -> (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>)
  return %dx, %dg, %db : tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>
}

// An anchored fusion on each batch-norm piece: statistics with a prologue,
// apply with a prologue and an epilogue.
// CHECK-LABEL: func.func @fused
// CHECK: simclr.fusion "statistics_0" anchored
// CHECK: simclr.batch_norm_statistics
// CHECK: simclr.fusion "apply_0" anchored
// CHECK: simclr.batch_norm_apply
// CHECK: simclr.relu
// CHECK: simclr.fusion "backward_statistics_0" anchored
// CHECK: simclr.batch_norm_backward_statistics
// CHECK: simclr.fusion "backward_apply_0" anchored
// CHECK: simclr.batch_norm_backward_apply
func.func @fused(%x: tensor<4x8xf32>, %z: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %s = simclr.fusion "statistics_0" anchored (%x, %z)
      : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<3x8xf64> {
  ^bb0(%a0: tensor<4x8xf32>, %a1: tensor<4x8xf32>):
    %sum = simclr.add %a0, %a1 : tensor<4x8xf32>
    %st = simclr.batch_norm_statistics %sum : tensor<4x8xf32> -> tensor<3x8xf64>
    simclr.yield %st : tensor<3x8xf64>
  }
  %y, %m, %v = simclr.fusion "apply_0" anchored (%x, %g, %b, %s)
      : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3x8xf64>)
      -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  ^bb0(%a0: tensor<4x8xf32>, %a1: tensor<8xf32>, %a2: tensor<8xf32>, %a3: tensor<3x8xf64>):
    %o, %om, %ov = simclr.batch_norm_apply %a0, %a1, %a2, %a3 {epsilon = 1.0e-05 : f64}
        : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3x8xf64>)
        -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
    %r = simclr.relu %o : tensor<4x8xf32>
    simclr.yield %r, %om, %ov : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  }
  %gs = simclr.fusion "backward_statistics_0" anchored (%z, %y, %x, %m, %v)
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> tensor<3x8xf64> {
  ^bb0(%a0: tensor<4x8xf32>, %a1: tensor<4x8xf32>, %a2: tensor<4x8xf32>, %a3: tensor<8xf32>, %a4: tensor<8xf32>):
    %dy = simclr.relu_backward %a0, %a1 : tensor<4x8xf32>
    %st = simclr.batch_norm_backward_statistics %dy, %a2, %a3, %a4 {epsilon = 1.0e-05 : f64}
        : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<3x8xf64>
    simclr.yield %st : tensor<3x8xf64>
  }
  %dx, %dg, %db = simclr.fusion "backward_apply_0" anchored (%z, %y, %x, %g, %m, %v, %gs)
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3x8xf64>)
      -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  ^bb0(%a0: tensor<4x8xf32>, %a1: tensor<4x8xf32>, %a2: tensor<4x8xf32>, %a3: tensor<8xf32>, %a4: tensor<8xf32>, %a5: tensor<8xf32>, %a6: tensor<3x8xf64>):
    %dy = simclr.relu_backward %a0, %a1 : tensor<4x8xf32>
    %o, %og, %ob = simclr.batch_norm_backward_apply %dy, %a2, %a3, %a4, %a5, %a6 {epsilon = 1.0e-05 : f64}
        : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3x8xf64>)
        -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
    simclr.yield %o, %og, %ob : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  }
  return %y, %dx : tensor<4x8xf32>, tensor<4x8xf32>
}
