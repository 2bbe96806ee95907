// RUN: simclr-opt %s -split-input-file -simclr-autodiff | FileCheck %s

// A linear layer under a mean: dW = (1/numel broadcast)^T x; the input x is
// not a parameter, so its gradient (dy W) is built and then erased as dead.
// CHECK-LABEL: func.func @forward_backward
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[W:.*]]: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"})
// CHECK-SAME: -> (tensor<f32> {simclr.kind = "loss"}, tensor<2x3xf32> {simclr.kind = "gradient", simclr.name = "w"})
// CHECK: %[[Y:.*]] = simclr.linear %[[X]], %[[W]]
// CHECK: %[[L:.*]] = simclr.reduce_mean %[[Y]]
// CHECK: %[[ONE:.*]] = simclr.fill {value = 1.000000e+00 : f64} : tensor<f32>
// CHECK: %[[B:.*]] = simclr.broadcast %[[ONE]] : tensor<f32> -> tensor<4x2xf32>
// CHECK: %[[G:.*]] = simclr.scale %[[B]] {factor = 1.250000e-01 : f64} : tensor<4x2xf32>
// CHECK-NOT: simclr.matmul %[[G]], %[[W]]
// CHECK: %[[GW:.*]] = simclr.matmul %[[G]], %[[X]] {transpose_lhs = true} : (tensor<4x2xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
// CHECK: return %[[L]], %[[GW]]
func.func @forward_loss(%x: tensor<4x3xf32>, %w: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"})
    -> (tensor<f32> {simclr.kind = "loss"}) {
  %y = simclr.linear %x, %w : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
  %l = simclr.reduce_mean %y : tensor<4x2xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Fan-out: a value used twice receives the sum of both gradients; a
// parameter that does not reach the loss gets zeros; the running-statistics
// path gets no gradient code.
// CHECK-LABEL: func.func @forward_backward
// CHECK-SAME: -> (tensor<f32> {simclr.kind = "loss"}, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> {simclr.kind = "gradient", simclr.name = "bn.weight"}, tensor<2xf32> {simclr.kind = "gradient", simclr.name = "bn.bias"}, tensor<5xf32> {simclr.kind = "gradient", simclr.name = "unused"})
// CHECK: %[[Y:.*]], %[[M:.*]], %[[V:.*]] = simclr.batch_norm_train
// CHECK: %[[R:.*]] = simclr.relu %[[Y]]
// CHECK: simclr.running_stats_update
// CHECK: %[[S:.*]] = simclr.add %[[R]], %[[R]]
// CHECK: %[[RB:.*]] = simclr.relu_backward %[[SUM:.*]], %[[R]]
// CHECK-SAME: tensor<4x2xf32>
// CHECK: %[[GX:.*]], %[[GG:.*]], %[[GB:.*]] = simclr.batch_norm_train_backward %[[RB]], %{{.*}}, %{{.*}}, %[[M]], %[[V]]
// CHECK: %[[ZERO:.*]] = simclr.fill {value = 0.000000e+00 : f64} : tensor<5xf32>
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[GG]], %[[GB]], %[[ZERO]]
func.func @forward_loss(%x: tensor<4x2xf32>,
                        %g: tensor<2xf32> {simclr.kind = "parameter", simclr.name = "bn.weight"},
                        %b: tensor<2xf32> {simclr.kind = "parameter", simclr.name = "bn.bias"},
                        %rm: tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_mean"},
                        %rv: tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_var"},
                        %unused: tensor<5xf32> {simclr.kind = "parameter", simclr.name = "unused"})
    -> (tensor<f32> {simclr.kind = "loss"}, tensor<2xf32>, tensor<2xf32>) {
  %y, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64} : (tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>)
  %r = simclr.relu %y : tensor<4x2xf32>
  %nm, %nv = simclr.running_stats_update %rm, %rv, %m, %v {momentum = 0.1 : f64, count = 4 : i64} : tensor<2xf32>
  %s = simclr.add %r, %r : tensor<4x2xf32>
  %l = simclr.reduce_mean %s : tensor<4x2xf32> -> tensor<f32>
  return %l, %nm, %nv : tensor<f32>, tensor<2xf32>, tensor<2xf32>
}

// -----

// Concatenated views: the gradient is sliced back to each input.
// CHECK-LABEL: func.func @forward_backward
// CHECK: %[[GZ:.*]] = simclr.nt_xent_backward %{{.*}}, %{{.*}} {temperature = 5.000000e-01 : f64} : tensor<f32>, tensor<4x3xf32>
// CHECK-DAG: simclr.slice %[[GZ]] {dim = 0 : i64, offset = 0 : i64} : tensor<4x3xf32> -> tensor<2x3xf32>
// CHECK-DAG: simclr.slice %[[GZ]] {dim = 0 : i64, offset = 2 : i64} : tensor<4x3xf32> -> tensor<2x3xf32>
func.func @forward_loss(%a: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "a"},
                        %b: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "b"})
    -> (tensor<f32> {simclr.kind = "loss"}) {
  %z = simclr.concat %a, %b {dim = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %l = simclr.nt_xent %z {temperature = 0.5 : f64} : tensor<4x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Convolution: filter gradient always, input gradient only for an active
// input (here the output of the first convolution).
// CHECK-LABEL: func.func @forward_backward
// CHECK: %[[G1:.*]] = simclr.conv2d_backward_input {{.*}} -> tensor<2x4x3x3xf32>
// CHECK: simclr.conv2d_backward_filter {{.*}} -> tensor<2x4x1x1xf32>
// CHECK: simclr.conv2d_backward_filter %[[G1]], {{.*}} -> tensor<4x1x3x3xf32>
// CHECK-NOT: simclr.conv2d_backward_input
func.func @forward_loss(%x: tensor<2x1x6x6xf32>,
                        %w1: tensor<4x1x3x3xf32> {simclr.kind = "parameter", simclr.name = "conv1.weight"},
                        %w2: tensor<2x4x1x1xf32> {simclr.kind = "parameter", simclr.name = "conv2.weight"})
    -> (tensor<f32> {simclr.kind = "loss"}) {
  %c1 = simclr.conv2d %x, %w1 {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x1x6x6xf32>, tensor<4x1x3x3xf32>) -> tensor<2x4x3x3xf32>
  %c2 = simclr.conv2d %c1, %w2 {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>) -> tensor<2x2x3x3xf32>
  %l = simclr.reduce_mean %c2 : tensor<2x2x3x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
