// RUN: simclr-opt %s --simclr-lower-to-kernels --split-input-file --verify-diagnostics | FileCheck %s

// Fusions become kernels, conv/matmul extern calls, reshape a view, any other
// op a kernel of its own; identical bodies share one kernel; new parameters
// are written into their argument's buffer.

// CHECK-LABEL: simclr_kernel.kernel @k0_bn_relu kind "anchored"
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<2x4x3x3xf32>, %{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>):
// CHECK: simclr.batch_norm_train
// CHECK: simclr.relu
// CHECK: simclr_kernel.yield
// CHECK: simclr_kernel.kernel @k1_relu kind "elementwise"
// CHECK-NOT: simclr_kernel.kernel @{{.*}}relu
// CHECK: simclr_kernel.kernel @k2_scale kind "elementwise"
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<2x1x3x3xf32> {simclr.kind = "images", simclr.name = "views"}
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<4x1x3x3xf32> {simclr.kind = "parameter", simclr.name = "w"}
// CHECK-SAME: -> (memref<2x36xf32> {simclr.kind = "features"})
// CHECK: %[[C:[0-9]+]] = simclr_kernel.alloc "{{.*}}" : memref<2x4x3x3xf32>
// CHECK: simclr_kernel.extern "conv2d"(%[[X]], %[[W]]) outs(%[[C]]) {{{.*}}groups = 1 : i64{{.*}}}
// CHECK: simclr_kernel.launch @k0_bn_relu(%[[C]], {{.*}}) outs(%[[Y:[0-9]+]], %{{.*}}, %{{.*}})
// CHECK: simclr_kernel.launch @k1_relu(%[[Y]]) outs(%[[R1:[0-9]+]])
// CHECK: simclr_kernel.launch @k1_relu(%[[R1]]) outs(%[[R2:[0-9]+]])
// CHECK: %[[V:[0-9]+]] = simclr_kernel.view %[[R2]] : memref<2x4x3x3xf32> to memref<2x36xf32>
// CHECK: simclr_kernel.launch @k2_scale(%[[W]]) outs(%[[W]])
// CHECK: return %[[V]]
func.func @step(%x: tensor<2x1x3x3xf32> {simclr.kind = "images", simclr.name = "views"},
                %w: tensor<4x1x3x3xf32> {simclr.kind = "parameter", simclr.name = "w"},
                %g: tensor<4xf32> {simclr.kind = "parameter", simclr.name = "g"},
                %b: tensor<4xf32> {simclr.kind = "parameter", simclr.name = "b"})
    -> (tensor<2x36xf32> {simclr.kind = "features"},
        tensor<4x1x3x3xf32> {simclr.kind = "parameter", simclr.name = "w"}) {
  %c = simclr.conv2d %x, %w {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (tensor<2x1x3x3xf32>, tensor<4x1x3x3xf32>) -> tensor<2x4x3x3xf32>
  %f:3 = simclr.fusion "bn_relu" anchored (%c, %g, %b) : (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a0: tensor<2x4x3x3xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>):
    %o, %m, %v = simclr.batch_norm_train %a0, %a1, %a2 {epsilon = 1.0e-05 : f64} : (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>)
    %r = simclr.relu %o : tensor<2x4x3x3xf32>
    simclr.yield %r, %m, %v : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>
  }
  %r1 = simclr.relu %f#0 : tensor<2x4x3x3xf32>
  %r2 = simclr.relu %r1 : tensor<2x4x3x3xf32>
  %flat = simclr.reshape %r2 : tensor<2x4x3x3xf32> -> tensor<2x36xf32>
  %neww = simclr.scale %w {factor = 0.5 : f64} : tensor<4x1x3x3xf32>
  return %flat, %neww : tensor<2x36xf32>, tensor<4x1x3x3xf32>
}

// -----

// Updating a parameter in place is refused when the old value is read later.
func.func @late_reader(%w: tensor<4xf32> {simclr.kind = "parameter", simclr.name = "w"})
    -> (tensor<4xf32> {simclr.kind = "features"}, tensor<4xf32> {simclr.kind = "parameter", simclr.name = "w"}) {
  // expected-error @below {{cannot update parameter 'w' in place: it is read again after this op}}
  %neww = simclr.scale %w {factor = 0.5 : f64} : tensor<4xf32>
  %late = simclr.relu %w : tensor<4xf32>
  return %late, %neww : tensor<4xf32>, tensor<4xf32>
}

// -----

// Random augmentation cannot be lowered: it belongs to the input pipeline.
// expected-error @below {{cannot be a buffer; random augmentation runs in the input pipeline}}
func.func @with_key(%k: !simclr.rng_key {simclr.kind = "rng_key"}) {
  return
}
