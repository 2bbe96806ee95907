// RUN: simclr-opt %s --split-input-file --verify-diagnostics

// expected-error @below {{kind 'fused' is not one of single, elementwise, anchored, nt_xent, optimizer}}
simclr_kernel.kernel @k kind "fused" {
^bb0(%a: tensor<4xf32>):
  %y = simclr.relu %a : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}

// -----

simclr_kernel.kernel @k kind "single" {
^bb0(%a: tensor<4xf32>):
  %y = simclr.relu %a : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}
func.func @f(%x: memref<8xf32>, %y: memref<4xf32>) {
  // expected-error @below {{input #0 of type 'memref<8xf32>' does not hold the kernel's 'tensor<4xf32>'}}
  simclr_kernel.launch @k(%x) outs(%y) : (memref<8xf32>) -> (memref<4xf32>)
  return
}

// -----

func.func @f(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @below {{'missing' does not name a simclr_kernel.kernel}}
  simclr_kernel.launch @missing(%x) outs(%y) : (memref<4xf32>) -> (memref<4xf32>)
  return
}

// -----

func.func @f(%x: memref<4x4xf32>, %y: memref<4x4xf32>) {
  // expected-error @below {{unknown routine 'gemm' (known: conv2d, conv2d_backward_input, conv2d_backward_filter, matmul)}}
  simclr_kernel.extern "gemm"(%x, %x) outs(%y) : (memref<4x4xf32>, memref<4x4xf32>) -> (memref<4x4xf32>)
  return
}

// -----

func.func @f(%x: memref<4x4xf32>) {
  // expected-error @below {{cannot view 'memref<4x4xf32>' as 'memref<15xf32>': element type and count must agree}}
  %v = simclr_kernel.view %x : memref<4x4xf32> to memref<15xf32>
  return
}

// -----

func.func @f(%x: memref<4xf32>, %y: memref<8xf32>) {
  // expected-error @below {{unknown collective 'broadcast' (known: all_reduce_sum, all_gather)}}
  simclr_kernel.collective "broadcast" "replicas" (%x) outs(%y) : memref<4xf32> -> memref<8xf32>
  return
}
