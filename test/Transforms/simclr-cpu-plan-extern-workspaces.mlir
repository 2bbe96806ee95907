// RUN: simclr-opt %s --simclr-cpu-plan-extern-workspaces | FileCheck %s

// Every oneDNN call gets one workspace alloc; its size is oneDNN's (this
// machine's instruction set and thread count), so only its presence and
// placement are pinned here. The blocked convolution needs at least the
// copy of its filter in oneDNN's layout (16 x 16 x 3 x 3 floats = 9216
// bytes).
// CHECK-LABEL: func.func @calls
// CHECK: %[[WS:.*]] = simclr_kernel.alloc "conv2d.workspace" : memref<[[N:[0-9]+]]xi8>
// CHECK-NEXT: simclr_kernel.extern "conv2d"({{.*}}) outs({{.*}}) scratch(%[[WS]] : memref<[[N]]xi8>)
// CHECK: simclr_kernel.extern "matmul"
func.func @calls(%x: memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>, %w: memref<16x16x3x3xf32>, %a: memref<4x8xf32>, %b: memref<16x8xf32>) {
  %y = simclr_kernel.alloc "y" : memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>
  simclr_kernel.extern "conv2d"(%x, %w) outs(%y) {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>, memref<16x16x3x3xf32>) -> (memref<2x16x4x4xf32, #simclr_kernel.layout<nChw8c>>)
  %c = simclr_kernel.alloc "c" : memref<4x16xf32>
  simclr_kernel.extern "matmul"(%a, %b) outs(%c) {transpose_rhs = true} : (memref<4x8xf32>, memref<16x8xf32>) -> (memref<4x16xf32>)
  return
}
