// RUN: simclr-opt %s --pass-pipeline='builtin.module(func.func(simclr-plan-memory))' | FileCheck %s

// Four 1 KiB buffers in a chain: each dies when the next is written, and the
// elementwise kernel writes its output over its dying input (in place), so
// the arena holds two buffers, not four.

simclr_kernel.kernel @k_conv_like kind "anchored" {
^bb0(%a: tensor<256xf32>):
  %y = simclr.scale %a {factor = 2.0 : f64} : tensor<256xf32>
  simclr_kernel.yield %y : tensor<256xf32>
}
simclr_kernel.kernel @k_relu kind "elementwise" {
^bb0(%a: tensor<256xf32>):
  %y = simclr.relu %a : tensor<256xf32>
  simclr_kernel.yield %y : tensor<256xf32>
}

// CHECK-LABEL: func.func @chain
// CHECK-SAME: simclr_kernel.arena_bytes = 2048 : i64
// CHECK-SAME: simclr_kernel.sum_of_intermediates = 4096 : i64
// CHECK: %[[A:.*]] = simclr_kernel.alloc "a" {offset = [[OA:[0-9]+]] : i64}
// CHECK: %[[B:.*]] = simclr_kernel.alloc "b" {offset = [[OB:[0-9]+]] : i64}
// The in-place output takes its input's offset.
// CHECK: %[[C:.*]] = simclr_kernel.alloc "c" {offset = [[OB]] : i64}
// CHECK: %[[D:.*]] = simclr_kernel.alloc "d" {offset = [[OA]] : i64}
func.func @chain(%x: memref<256xf32>) -> memref<256xf32> {
  %a = simclr_kernel.alloc "a" : memref<256xf32>
  simclr_kernel.launch @k_conv_like(%x) outs(%a) : (memref<256xf32>) -> (memref<256xf32>)
  %b = simclr_kernel.alloc "b" : memref<256xf32>
  simclr_kernel.launch @k_conv_like(%a) outs(%b) : (memref<256xf32>) -> (memref<256xf32>)
  %c = simclr_kernel.alloc "c" : memref<256xf32>
  simclr_kernel.launch @k_relu(%b) outs(%c) : (memref<256xf32>) -> (memref<256xf32>)
  %d = simclr_kernel.alloc "d" : memref<256xf32>
  simclr_kernel.launch @k_conv_like(%c) outs(%d) : (memref<256xf32>) -> (memref<256xf32>)
  return %d : memref<256xf32>
}

// A returned buffer lives to the end; a view keeps its source alive.
// CHECK-LABEL: func.func @view_keeps_source_alive
// CHECK-SAME: simclr_kernel.arena_bytes = 2048 : i64
func.func @view_keeps_source_alive(%x: memref<256xf32>) -> memref<16x16xf32> {
  %a = simclr_kernel.alloc "a" : memref<256xf32>
  simclr_kernel.launch @k_conv_like(%x) outs(%a) : (memref<256xf32>) -> (memref<256xf32>)
  %v = simclr_kernel.view %a : memref<256xf32> to memref<16x16xf32>
  %b = simclr_kernel.alloc "b" : memref<256xf32>
  simclr_kernel.launch @k_conv_like(%x) outs(%b) : (memref<256xf32>) -> (memref<256xf32>)
  return %v : memref<16x16xf32>
}

// Scratch is an arena buffer like any other, live for its launch alone.
simclr_kernel.kernel @k_reduce kind "anchored" attributes {access = ["none"], anchor = 0 : i64, prologue = array<i64>, epilogue = array<i64>, results = array<i64: 1>, scratch = array<i64: 1024>} {
^bb0(%a: tensor<256xf32>):
  %y = simclr.reduce_mean %a : tensor<256xf32> -> tensor<f32>
  simclr_kernel.yield %y : tensor<f32>
}
// CHECK-LABEL: func.func @scratch_is_short_lived
// CHECK-SAME: simclr_kernel.arena_bytes = 2112 : i64
// CHECK-SAME: simclr_kernel.sum_of_intermediates = 3136 : i64
// CHECK: simclr_kernel.alloc "s" {offset = {{[0-9]+}} : i64} : memref<1024xi8>
func.func @scratch_is_short_lived(%x: memref<256xf32>) -> (memref<f32>, memref<256xf32>) {
  %a = simclr_kernel.alloc "a" : memref<256xf32>
  simclr_kernel.launch @k_conv_like(%x) outs(%a) : (memref<256xf32>) -> (memref<256xf32>)
  %m = simclr_kernel.alloc "m" : memref<f32>
  %s = simclr_kernel.alloc "s" : memref<1024xi8>
  simclr_kernel.launch @k_reduce(%a) outs(%m) scratch(%s : memref<1024xi8>) : (memref<256xf32>) -> (memref<f32>)
  %b = simclr_kernel.alloc "b" : memref<256xf32>
  simclr_kernel.launch @k_conv_like(%x) outs(%b) : (memref<256xf32>) -> (memref<256xf32>)
  return %m, %b : memref<f32>, memref<256xf32>
}
