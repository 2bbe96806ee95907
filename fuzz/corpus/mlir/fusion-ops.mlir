// simclr.fusion and simclr.yield, and broadcast of a per-channel vector,
// print and parse back unchanged, in custom and generic form.
// RUN: simclr-opt %s | simclr-opt | FileCheck %s
// RUN: simclr-opt %s --mlir-print-op-generic | simclr-opt | FileCheck %s

// CHECK-LABEL: func.func @kinds
func.func @kinds(%x: tensor<8x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %z: tensor<8x4xf32>,
                 %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<f32>, tensor<4xf32>) {
  // CHECK: %[[E:.*]] = simclr.fusion "broadcast_add_0" elementwise (%{{.*}}, %{{.*}}) : (tensor<4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32> {
  // CHECK-NEXT: ^bb0(%[[V:.*]]: tensor<4xf32>, %[[X:.*]]: tensor<8x4xf32>):
  // CHECK-NEXT: %[[BB:.*]] = simclr.broadcast %[[V]] : tensor<4xf32> -> tensor<8x4xf32>
  // CHECK-NEXT: %[[S:.*]] = simclr.add %[[X]], %[[BB]] : tensor<8x4xf32>
  // CHECK-NEXT: simclr.yield %[[S]] : tensor<8x4xf32>
  // CHECK-NEXT: }
  %e = simclr.fusion "broadcast_add_0" elementwise (%b, %x) : (tensor<4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32> {
  ^bb0(%v: tensor<4xf32>, %a: tensor<8x4xf32>):
    %bb = simclr.broadcast %v : tensor<4xf32> -> tensor<8x4xf32>
    %s = simclr.add %a, %bb : tensor<8x4xf32>
    simclr.yield %s : tensor<8x4xf32>
  }
  // CHECK: simclr.fusion "batch_norm_train_relu_0" anchored
  %r:3 = simclr.fusion "batch_norm_train_relu_0" anchored (%x, %g, %b)
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a0: tensor<8x4xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>):
    %o, %m, %v = simclr.batch_norm_train %a0, %a1, %a2 {epsilon = 1.0e-05 : f64}
        : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
    %y = simclr.relu %o : tensor<8x4xf32>
    simclr.yield %y, %m, %v : tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>
  }
  // CHECK: simclr.fusion "nt_xent_0" nt_xent
  %n:2 = simclr.fusion "nt_xent_0" nt_xent (%z) : (tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  ^bb0(%a: tensor<8x4xf32>):
    %l = simclr.nt_xent %a {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
    %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
    %gz = simclr.nt_xent_backward %one, %a {temperature = 5.0e-01 : f64} : tensor<f32>, tensor<8x4xf32>
    simclr.yield %l, %gz : tensor<f32>, tensor<8x4xf32>
  }
  // CHECK: simclr.fusion "sgd_update_0" optimizer
  %u:4 = simclr.fusion "sgd_update_0" optimizer (%g, %b, %b, %lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>)
      -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%p: tensor<4xf32>, %d: tensor<4xf32>, %buf: tensor<4xf32>, %rate: tensor<f32>):
    %p1, %b1 = simclr.sgd_update %p, %d, %buf, %rate {momentum = 0.9 : f64, weight_decay = 1.0e-04 : f64} : tensor<4xf32>, tensor<f32>
    %p2, %b2 = simclr.sgd_update %d, %p, %buf, %rate {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    simclr.yield %p1, %b1, %p2, %b2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  }
  return %e, %r#0, %n#0, %u#0 : tensor<8x4xf32>, tensor<8x4xf32>, tensor<f32>, tensor<4xf32>
}
