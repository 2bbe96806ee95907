// RUN: simclr-opt %s --split-input-file --simclr-assign-layouts=layout=nChw8c | FileCheck %s
// RUN: simclr-opt %s --split-input-file --simclr-assign-layouts=layout=nchw | FileCheck %s --check-prefix=PLAIN

// A conv -> batch norm + relu -> conv -> global average pooling chain: every
// activation the convolutions write and the kernels read takes the layout;
// the views (an argument), the filters and the pooled [N, C] features stay
// plain, and no reorder appears.
simclr_kernel.kernel @k_bn_relu kind "anchored" attributes {access = ["none", "none", "none"], anchor = 0 : i64, epilogue = array<i64: 1>, layouts = ["nchw", "nchw", "nchw", "nchw", "nchw", "nchw"], prologue = array<i64>, results = array<i64: 3, 4, 5>, scratch = array<i64>} {
^bb0(%x: tensor<2x16x4x4xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>):
  %y, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64} : (tensor<2x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
  %r = simclr.relu %y : tensor<2x16x4x4xf32>
  simclr_kernel.yield %r, %m, %v : tensor<2x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>
}
simclr_kernel.kernel @k_gap kind "anchored" attributes {access = ["none"], anchor = 0 : i64, epilogue = array<i64>, layouts = ["nchw", "nchw"], prologue = array<i64>, results = array<i64: 1>, scratch = array<i64>} {
^bb0(%x: tensor<2x16x4x4xf32>):
  %h = simclr.global_avg_pool %x : tensor<2x16x4x4xf32> -> tensor<2x16xf32>
  simclr_kernel.yield %h : tensor<2x16xf32>
}
// CHECK: simclr_kernel.kernel @k_bn_relu {{.*}}layouts = ["nChw8c", "nchw", "nchw", "nChw8c", "nchw", "nchw"]
// CHECK: simclr_kernel.kernel @k_gap {{.*}}layouts = ["nChw8c", "nchw"]
// CHECK-LABEL: func.func @encoder
// CHECK: %[[C1:.*]] = simclr_kernel.alloc "c1" : memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>
// CHECK: simclr_kernel.extern "conv2d"(%{{.*}}, %{{.*}}) outs(%[[C1]]) {{.*}} : (memref<2x1x4x4xf32>, memref<16x1x3x3xf32>) -> (memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>)
// CHECK: simclr_kernel.alloc "r1" : memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>
// CHECK: simclr_kernel.alloc "c2" : memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>
// CHECK: simclr_kernel.alloc "h" : memref<2x16xf32>
// PLAIN-NOT: #simclr_kernel.layout
func.func @encoder(%views: memref<2x1x4x4xf32>, %w1: memref<16x1x3x3xf32>, %w2: memref<16x16x3x3xf32>, %g: memref<16xf32>, %b: memref<16xf32>) -> memref<2x16xf32> {
  %c1 = simclr_kernel.alloc "c1" : memref<2x16x4x4xf32>
  simclr_kernel.extern "conv2d"(%views, %w1) outs(%c1) {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (memref<2x1x4x4xf32>, memref<16x1x3x3xf32>) -> (memref<2x16x4x4xf32>)
  %r1 = simclr_kernel.alloc "r1" : memref<2x16x4x4xf32>
  %m = simclr_kernel.alloc "m" : memref<16xf32>
  %v = simclr_kernel.alloc "v" : memref<16xf32>
  simclr_kernel.launch @k_bn_relu(%c1, %g, %b) outs(%r1, %m, %v) : (memref<2x16x4x4xf32>, memref<16xf32>, memref<16xf32>) -> (memref<2x16x4x4xf32>, memref<16xf32>, memref<16xf32>)
  %c2 = simclr_kernel.alloc "c2" : memref<2x16x4x4xf32>
  simclr_kernel.extern "conv2d"(%r1, %w2) outs(%c2) {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (memref<2x16x4x4xf32>, memref<16x16x3x3xf32>) -> (memref<2x16x4x4xf32>)
  %h = simclr_kernel.alloc "h" : memref<2x16xf32>
  simclr_kernel.launch @k_gap(%c2) outs(%h) : (memref<2x16x4x4xf32>) -> (memref<2x16xf32>)
  return %h : memref<2x16xf32>
}

// -----

// A buffer read by a kernel without a layout-free anchor (max pooling) keeps
// the whole group it belongs to plain, and a kernel launched with two
// layout combinations is cloned.
simclr_kernel.kernel @k_relu kind "elementwise" attributes {access = ["flat"], layouts = ["nchw", "nchw"], scratch = array<i64>} {
^bb0(%x: tensor<2x16x4x4xf32>):
  %r = simclr.relu %x : tensor<2x16x4x4xf32>
  simclr_kernel.yield %r : tensor<2x16x4x4xf32>
}
simclr_kernel.kernel @k_pool kind "anchored" attributes {access = ["none"], anchor = 0 : i64, epilogue = array<i64>, layouts = ["nchw", "nchw"], prologue = array<i64>, results = array<i64: 1>, scratch = array<i64>} {
^bb0(%x: tensor<2x16x4x4xf32>):
  %p = simclr.max_pool2d %x {kernel = array<i64: 2, 2>, padding = array<i64: 0, 0>, stride = array<i64: 2, 2>} : tensor<2x16x4x4xf32> -> tensor<2x16x2x2xf32>
  simclr_kernel.yield %p : tensor<2x16x2x2xf32>
}
// CHECK: simclr_kernel.kernel @k_relu_nChw8c kind "elementwise" {{.*}}layouts = ["nChw8c", "nChw8c"]
// CHECK: simclr_kernel.kernel @k_relu kind "elementwise" {{.*}}layouts = ["nchw", "nchw"]
// CHECK-LABEL: func.func @mixed
// CHECK: simclr_kernel.alloc "a" : memref<2x16x4x4xf32>
// CHECK: simclr_kernel.alloc "b" : memref<2x16x4x4xf32>
// CHECK: simclr_kernel.launch @k_relu(
// CHECK: simclr_kernel.alloc "c" : memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>
// CHECK: simclr_kernel.alloc "d" : memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>
// CHECK: simclr_kernel.launch @k_relu_nChw8c(
func.func @mixed(%x: memref<2x1x4x4xf32>, %w: memref<16x1x3x3xf32>) -> memref<2x16x2x2xf32> {
  %a = simclr_kernel.alloc "a" : memref<2x16x4x4xf32>
  simclr_kernel.extern "conv2d"(%x, %w) outs(%a) {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (memref<2x1x4x4xf32>, memref<16x1x3x3xf32>) -> (memref<2x16x4x4xf32>)
  %b = simclr_kernel.alloc "b" : memref<2x16x4x4xf32>
  simclr_kernel.launch @k_relu(%a) outs(%b) : (memref<2x16x4x4xf32>) -> (memref<2x16x4x4xf32>)
  %p = simclr_kernel.alloc "p" : memref<2x16x2x2xf32>
  simclr_kernel.launch @k_pool(%b) outs(%p) : (memref<2x16x4x4xf32>) -> (memref<2x16x2x2xf32>)
  %c = simclr_kernel.alloc "c" : memref<2x16x4x4xf32>
  simclr_kernel.extern "conv2d"(%x, %w) outs(%c) {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (memref<2x1x4x4xf32>, memref<16x1x3x3xf32>) -> (memref<2x16x4x4xf32>)
  %d = simclr_kernel.alloc "d" : memref<2x16x4x4xf32>
  simclr_kernel.launch @k_relu(%c) outs(%d) : (memref<2x16x4x4xf32>) -> (memref<2x16x4x4xf32>)
  return %p : memref<2x16x2x2xf32>
}

// -----

// Channels the block does not divide stay plain.
// CHECK-LABEL: func.func @odd_channels
// CHECK: simclr_kernel.alloc "y" : memref<2x12x4x4xf32>
func.func @odd_channels(%x: memref<2x1x4x4xf32>, %w: memref<12x1x3x3xf32>) {
  %y = simclr_kernel.alloc "y" : memref<2x12x4x4xf32>
  simclr_kernel.extern "conv2d"(%x, %w) outs(%y) {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (memref<2x1x4x4xf32>, memref<12x1x3x3xf32>) -> (memref<2x12x4x4xf32>)
  return
}
