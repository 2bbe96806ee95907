// RUN: simclr-opt %s --split-input-file --simclr-describe-kernels | FileCheck %s

// An elementwise kernel: flat, scalar and per-channel reads; a copied-through
// input; no scratch.
// CHECK-LABEL: simclr_kernel.kernel @k_bias_relu kind "elementwise"
// CHECK-SAME: access = ["flat", "channel", "scalar"]
// CHECK-SAME: layouts = ["nchw", "nchw", "nchw", "nchw", "nchw"]
// CHECK-SAME: scratch = array<i64>
// CHECK-NOT: anchor
simclr_kernel.kernel @k_bias_relu kind "elementwise" {
^bb0(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %s: tensor<f32>):
  %bb = simclr.broadcast %b : tensor<8xf32> -> tensor<4x8xf32>
  %a = simclr.add %x, %bb : tensor<4x8xf32>
  %ss = simclr.broadcast %s : tensor<f32> -> tensor<4x8xf32>
  %m = simclr.add %a, %ss : tensor<4x8xf32>
  %r = simclr.relu %m : tensor<4x8xf32>
  simclr_kernel.yield %r, %x : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A batch norm with a prologue (the fan-out add) and an epilogue (relu):
// the statistics go to the outputs that yield them, the workspace is
// channelStatisticsScratchBytes(2, 16, 9) = align(2*1*16*8) + 5*align(16*8)
// = 256 + 640.
// CHECK-LABEL: simclr_kernel.kernel @k_bn kind "anchored"
// CHECK-SAME: access = ["flat", "flat", "none", "none"]
// CHECK-SAME: anchor = 1 : i64
// CHECK-SAME: epilogue = array<i64: 2>
// CHECK-SAME: prologue = array<i64: 0>
// CHECK-SAME: results = array<i64: 4, 5, 6>
// CHECK-SAME: scratch = array<i64: 896>
simclr_kernel.kernel @k_bn kind "anchored" {
^bb0(%x: tensor<2x16x3x3xf32>, %z: tensor<2x16x3x3xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>):
  %s = simclr.add %x, %z : tensor<2x16x3x3xf32>
  %y, %m, %v = simclr.batch_norm_train %s, %g, %b {epsilon = 1.0e-05 : f64} : (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>)
  %r = simclr.relu %y : tensor<2x16x3x3xf32>
  simclr_kernel.yield %r, %m, %v : tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

// Statistics the kernel computes but does not return go to scratch
// operands of their size (64 bytes for 16 floats), before the workspace.
// CHECK-LABEL: simclr_kernel.kernel @k_bn_y kind "anchored"
// CHECK-SAME: results = array<i64: 3, 4, 5>
// CHECK-SAME: scratch = array<i64: 64, 64, 896>
// CHECK-LABEL: func.func @launch
// CHECK: %[[S0:.*]] = simclr_kernel.alloc "k_bn_y.scratch0" : memref<64xi8>
// CHECK: %[[S1:.*]] = simclr_kernel.alloc "k_bn_y.scratch1" : memref<64xi8>
// CHECK: %[[S2:.*]] = simclr_kernel.alloc "k_bn_y.scratch2" : memref<896xi8>
// CHECK: simclr_kernel.launch @k_bn_y({{.*}}) outs({{.*}}) scratch(%[[S0]], %[[S1]], %[[S2]] : memref<64xi8>, memref<64xi8>, memref<896xi8>)
simclr_kernel.kernel @k_bn_y kind "anchored" {
^bb0(%x: tensor<2x16x3x3xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>):
  %y, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64} : (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>)
  simclr_kernel.yield %y : tensor<2x16x3x3xf32>
}
func.func @launch(%x: memref<2x16x3x3xf32>, %g: memref<16xf32>, %b: memref<16xf32>) {
  %y = simclr_kernel.alloc "y" : memref<2x16x3x3xf32>
  simclr_kernel.launch @k_bn_y(%x, %g, %b) outs(%y) : (memref<2x16x3x3xf32>, memref<16xf32>, memref<16xf32>) -> (memref<2x16x3x3xf32>)
  return
}

// -----

// NT-Xent: loss and gradient outputs; workspace ntXentScratchBytes(8, 4) =
// align(128) + align(32) + align(64) + align(512) + align(256) = 1024.
// CHECK-LABEL: simclr_kernel.kernel @k_loss kind "nt_xent"
// CHECK-SAME: access = ["none"]
// CHECK-SAME: results = array<i64: 1, 2>
// CHECK-SAME: scratch = array<i64: 1024>
simclr_kernel.kernel @k_loss kind "nt_xent" {
^bb0(%z: tensor<8x4xf32>):
  %l = simclr.nt_xent %z {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
  %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
  %dz = simclr.nt_xent_backward %one, %z {temperature = 5.0e-01 : f64} : tensor<f32>, tensor<8x4xf32>
  simclr_kernel.yield %l, %dz : tensor<f32>, tensor<8x4xf32>
}

// -----

// An already described kernel is left alone.
// CHECK-LABEL: simclr_kernel.kernel @k_done kind "elementwise"
// CHECK-SAME: access = ["none"]
simclr_kernel.kernel @k_done kind "elementwise" attributes {access = ["none"]} {
^bb0(%x: tensor<4xf32>):
  %y = simclr.fill {value = 0.0 : f64} : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}
