// RUN: simclr-opt %s | simclr-opt | FileCheck %s
// RUN: simclr-opt %s --mlir-print-op-generic | simclr-opt | FileCheck %s

// CHECK: simclr_kernel.kernel @k_relu kind "elementwise" {
simclr_kernel.kernel @k_relu kind "elementwise" {
^bb0(%a: tensor<4x8xf32>):
  %y = simclr.relu %a : tensor<4x8xf32>
  simclr_kernel.yield %y : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @program
func.func @program(%x: memref<4x8xf32>, %w: memref<16x8xf32>) -> memref<32xf32> {
  // CHECK: simclr_kernel.alloc "y" {offset = 0 : i64} : memref<4x8xf32>
  %y = simclr_kernel.alloc "y" {offset = 0 : i64} : memref<4x8xf32>
  // CHECK: simclr_kernel.launch @k_relu(%{{.*}}) outs(%{{.*}}) : (memref<4x8xf32>) -> (memref<4x8xf32>)
  simclr_kernel.launch @k_relu(%x) outs(%y) : (memref<4x8xf32>) -> (memref<4x8xf32>)
  %c = simclr_kernel.alloc "c" : memref<4x16xf32>
  // CHECK: simclr_kernel.extern "matmul"(%{{.*}}, %{{.*}}) outs(%{{.*}}) {transpose_rhs = true}
  simclr_kernel.extern "matmul"(%y, %w) outs(%c) {transpose_rhs = true} : (memref<4x8xf32>, memref<16x8xf32>) -> (memref<4x16xf32>)
  // CHECK: simclr_kernel.collective "all_reduce_sum" "replicas"(%[[C:.*]], %[[Y:.*]]) outs(%[[C]], %[[Y]]) : (memref<4x16xf32>, memref<4x8xf32>)
  simclr_kernel.collective "all_reduce_sum" "replicas" (%c, %y) outs(%c, %y) : (memref<4x16xf32>, memref<4x8xf32>) -> (memref<4x16xf32>, memref<4x8xf32>)
  // CHECK: %[[G:.*]] = simclr_kernel.alloc "g" {gathered} : memref<4x16xf32>
  %g = simclr_kernel.alloc "g" {gathered} : memref<4x16xf32>
  // CHECK: simclr_kernel.collective "all_gather" "replicas"(%[[C]]) outs(%[[G]]) {blocks = 2 : i64}
  simclr_kernel.collective "all_gather" "replicas" (%c) outs(%g) {blocks = 2 : i64} : (memref<4x16xf32>) -> (memref<4x16xf32>)
  // CHECK: simclr_kernel.collective "local_slice" "replicas"(%[[G]]) outs(%[[C]]) {blocks = 2 : i64}
  simclr_kernel.collective "local_slice" "replicas" (%g) outs(%c) {blocks = 2 : i64} : (memref<4x16xf32>) -> (memref<4x16xf32>)
  // CHECK: simclr_kernel.view %{{.*}} : memref<4x8xf32> to memref<32xf32>
  %v = simclr_kernel.view %y : memref<4x8xf32> to memref<32xf32>
  return %v : memref<32xf32>
}

// A described kernel: access, anchor, prologue/epilogue, results, scratch
// and layouts round-trip; so do blocked buffers and scratch operands.
// CHECK: simclr_kernel.kernel @k_bn kind "anchored" attributes {access = ["flat", "none", "none"], anchor = 1 : i64, epilogue = array<i64: 2>, layouts = ["nChw16c", "nchw", "nchw", "nChw16c", "nchw", "nchw"], prologue = array<i64: 0>, results = array<i64: 3, 4, 5>, scratch = array<i64: 1024>}
simclr_kernel.kernel @k_bn kind "anchored" attributes {access = ["flat", "none", "none"], anchor = 1 : i64, epilogue = array<i64: 2>, layouts = ["nChw16c", "nchw", "nchw", "nChw16c", "nchw", "nchw"], prologue = array<i64: 0>, results = array<i64: 3, 4, 5>, scratch = array<i64: 1024>} {
^bb0(%x: tensor<2x16x3x3xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>):
  %r = simclr.relu %x : tensor<2x16x3x3xf32>
  %y, %m, %v = simclr.batch_norm_train %r, %g, %b {epsilon = 1.0e-05 : f64} : (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>)
  %o = simclr.relu %y : tensor<2x16x3x3xf32>
  simclr_kernel.yield %o, %m, %v : tensor<2x16x3x3xf32>, tensor<16xf32>, tensor<16xf32>
}

// CHECK-LABEL: func.func @blocked
func.func @blocked(%x: memref<2x16x3x3xf32, #simclr_kernel.layout<nChw16c>>, %g: memref<16xf32>, %b: memref<16xf32>) {
  // CHECK: simclr_kernel.alloc "y" : memref<2x16x3x3xf32, #simclr_kernel.layout<nChw16c>>
  %y = simclr_kernel.alloc "y" : memref<2x16x3x3xf32, #simclr_kernel.layout<nChw16c>>
  %m = simclr_kernel.alloc "m" : memref<16xf32>
  %v = simclr_kernel.alloc "v" : memref<16xf32>
  %s = simclr_kernel.alloc "s" : memref<1024xi8>
  // CHECK: simclr_kernel.launch @k_bn({{.*}}) outs({{.*}}) scratch(%{{.*}} : memref<1024xi8>)
  simclr_kernel.launch @k_bn(%x, %g, %b) outs(%y, %m, %v) scratch(%s : memref<1024xi8>) : (memref<2x16x3x3xf32, #simclr_kernel.layout<nChw16c>>, memref<16xf32>, memref<16xf32>) -> (memref<2x16x3x3xf32, #simclr_kernel.layout<nChw16c>>, memref<16xf32>, memref<16xf32>)
  return
}
