// RUN: simclr-opt %s -simclr-fusion-report -o /dev/null 2>&1 | FileCheck %s
// RUN: simclr-opt %s -simclr-fusion-report=output=%t.txt -o /dev/null && FileCheck %s < %t.txt

// Fusions count one kernel each, convolutions and matmuls are library
// calls, reshape is free, anything else is one kernel of its own.
// CHECK: @report: 5 graph ops (2 in fusions, 3 outside) -> 3 kernels (1 elementwise, 0 anchored, 0 nt_xent, 0 optimizer fusions; 1 library calls; 1 other)
// CHECK-NEXT: @empty: 0 graph ops (0 in fusions, 0 outside) -> 0 kernels (0 elementwise, 0 anchored, 0 nt_xent, 0 optimizer fusions; 0 library calls; 0 other)
func.func @report(%a: tensor<8x4xf32>, %w: tensor<4x4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<32xf32>) {
  %f = simclr.fusion "add_relu_0" elementwise (%a) : (tensor<8x4xf32>) -> tensor<8x4xf32> {
  ^bb0(%x: tensor<8x4xf32>):
    %s = simclr.add %x, %x : tensor<8x4xf32>
    %r = simclr.relu %s : tensor<8x4xf32>
    simclr.yield %r : tensor<8x4xf32>
  }
  %p = simclr.matmul %f, %w : (tensor<8x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
  %c = simclr.sum_to_channels %p : tensor<8x4xf32> -> tensor<4xf32>
  %flat = simclr.reshape %p : tensor<8x4xf32> -> tensor<32xf32>
  return %p, %c, %flat : tensor<8x4xf32>, tensor<4xf32>, tensor<32xf32>
}

func.func @empty() {
  return
}
