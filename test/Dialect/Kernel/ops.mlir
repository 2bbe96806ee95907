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
  %g = simclr_kernel.alloc "g" : memref<4x16xf32>
  // CHECK: simclr_kernel.collective "all_reduce_sum" "replicas"
  simclr_kernel.collective "all_reduce_sum" "replicas" (%c) outs(%g) : memref<4x16xf32> -> memref<4x16xf32>
  // CHECK: simclr_kernel.view %{{.*}} : memref<4x8xf32> to memref<32xf32>
  %v = simclr_kernel.view %y : memref<4x8xf32> to memref<32xf32>
  return %v : memref<32xf32>
}
