// RUN: simclr-opt %s -split-input-file -simclr-autodiff=replace-source=true -simclr-build-train-step | FileCheck %s

// Parameters, optimizer state, running statistics, images, step in; the
// updated values, loss and lr out; the two consumed functions are gone.
// CHECK-NOT: func.func @forward_backward
// CHECK-NOT: func.func @optimizer_update
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[W:.*]]: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"},
// CHECK-SAME: %[[BUF:.*]]: tensor<2x3xf32> {simclr.kind = "optimizer_state", simclr.name = "w.momentum_buffer"},
// CHECK-SAME: %[[RM:.*]]: tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_mean"},
// CHECK-SAME: %[[RV:.*]]: tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_var"},
// CHECK-SAME: %[[X:.*]]: tensor<4x3xf32> {simclr.kind = "images", simclr.name = "images"},
// CHECK-SAME: %[[STEP:.*]]: tensor<i64> {simclr.kind = "step", simclr.name = "step"})
// CHECK-SAME: -> (tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"}, tensor<2x3xf32> {simclr.kind = "optimizer_state", simclr.name = "w.momentum_buffer"}, tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_mean"}, tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_var"}, tensor<f32> {simclr.kind = "loss"}, tensor<f32> {simclr.kind = "learning_rate", simclr.name = "lr"})
// CHECK: %[[Y:.*]] = simclr.linear %[[X]], %[[W]]
// CHECK: %[[GW:.*]] = simclr.matmul {{.*}}, %[[X]] {transpose_lhs = true}
// CHECK: %[[LR:.*]] = simclr.lr_schedule %[[STEP]]
// CHECK: %[[P:.*]], %[[B:.*]] = simclr.sgd_update %[[W]], %[[GW]], %[[BUF]], %[[LR]]
// CHECK: return %[[P]], %[[B]], %{{.*}}, %{{.*}}, %{{.*}}, %[[LR]]
func.func @forward_loss(%x: tensor<4x3xf32> {simclr.kind = "images", simclr.name = "images"},
                        %w: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"},
                        %rm: tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_mean"},
                        %rv: tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_var"})
    -> (tensor<f32> {simclr.kind = "loss"},
        tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_mean"},
        tensor<2xf32> {simclr.kind = "running_stat", simclr.name = "bn.running_var"}) {
  %y = simclr.linear %x, %w : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
  %l = simclr.reduce_mean %y : tensor<4x2xf32> -> tensor<f32>
  return %l, %rm, %rv : tensor<f32>, tensor<2xf32>, tensor<2xf32>
}
func.func @optimizer_update(%step: tensor<i64> {simclr.kind = "step", simclr.name = "step"},
                            %w: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"},
                            %g: tensor<2x3xf32> {simclr.kind = "gradient", simclr.name = "w"},
                            %buf: tensor<2x3xf32> {simclr.kind = "optimizer_state", simclr.name = "w.momentum_buffer"})
    -> (tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"},
        tensor<2x3xf32> {simclr.kind = "optimizer_state", simclr.name = "w.momentum_buffer"},
        tensor<f32> {simclr.kind = "learning_rate", simclr.name = "lr"}) {
  %lr = simclr.lr_schedule %step {base_lr = 0.1 : f64, final_lr = 0.0 : f64, warmup_steps = 0 : i64, total_steps = 10 : i64} : tensor<i64> -> tensor<f32>
  %p, %b = simclr.sgd_update %w, %g, %buf, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<2x3xf32>, tensor<f32>
  return %p, %b, %lr : tensor<2x3xf32>, tensor<2x3xf32>, tensor<f32>
}
