// RUN: simclr-opt %s --split-input-file --verify-diagnostics

// expected-error @below {{kind 'fused' is not one of elementwise, anchored, nt_xent, optimizer}}
simclr_kernel.kernel @k kind "fused" {
^bb0(%a: tensor<4xf32>):
  %y = simclr.relu %a : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}

// -----

simclr_kernel.kernel @k kind "elementwise" {
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
  // expected-error @below {{unknown collective 'broadcast' (known: all_reduce_sum, all_gather, local_slice)}}
  simclr_kernel.collective "broadcast" "replicas" (%x) outs(%y) : (memref<4xf32>) -> (memref<8xf32>)
  return
}

// -----

func.func @f(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @below {{all_reduce_sum works in place: each output must be its input}}
  simclr_kernel.collective "all_reduce_sum" "replicas" (%x) outs(%y) : (memref<4xf32>) -> (memref<4xf32>)
  return
}

// -----

func.func @f(%x: memref<4xi64>) {
  // expected-error @below {{all_reduce_sum sums f32 or f64, got 'i64'}}
  simclr_kernel.collective "all_reduce_sum" "replicas" (%x) outs(%x) : (memref<4xi64>) -> (memref<4xi64>)
  return
}

// -----

func.func @f(%x: memref<4xf32>) {
  // expected-error @below {{needs as many outputs as inputs, at least one; got 2 and 1}}
  simclr_kernel.collective "all_reduce_sum" "replicas" (%x, %x) outs(%x) : (memref<4xf32>, memref<4xf32>) -> (memref<4xf32>)
  return
}

// -----

func.func @f(%x: memref<6x2xf32>) {
  %g = simclr_kernel.alloc "g" {gathered} : memref<6x2xf32>
  // expected-error @below {{dimension 0 of 'memref<6x2xf32>' is not divisible into 4 blocks}}
  simclr_kernel.collective "all_gather" "replicas" (%x) outs(%g) {blocks = 4 : i64} : (memref<6x2xf32>) -> (memref<6x2xf32>)
  return
}

// -----

func.func @f(%x: memref<6x2xf32>, %y: memref<6x2xf32>) {
  // expected-error @below {{the output of all_gather must be an alloc marked 'gathered'}}
  simclr_kernel.collective "all_gather" "replicas" (%x) outs(%y) {blocks = 2 : i64} : (memref<6x2xf32>) -> (memref<6x2xf32>)
  return
}

// -----

func.func @f(%x: memref<6x2xf32>) {
  %g = simclr_kernel.alloc "g" {gathered} : memref<6x2xf32>
  // expected-error @below {{local_slice needs 'blocks' >= 1}}
  simclr_kernel.collective "local_slice" "replicas" (%g) outs(%x) : (memref<6x2xf32>) -> (memref<6x2xf32>)
  return
}

// -----

// expected-error @below {{states the access of 2 inputs, the body has 1}}
simclr_kernel.kernel @k kind "elementwise" attributes {access = ["flat", "flat"]} {
^bb0(%a: tensor<4xf32>):
  %y = simclr.relu %a : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}

// -----

// expected-error @below {{input #0 has access 'strided' (known: flat, scalar, channel, none)}}
simclr_kernel.kernel @k kind "elementwise" attributes {access = ["strided"]} {
^bb0(%a: tensor<4xf32>):
  %y = simclr.relu %a : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}

// -----

// expected-error @below {{input #0 is read per channel but has rank 4}}
simclr_kernel.kernel @k kind "elementwise" attributes {access = ["channel"]} {
^bb0(%a: tensor<2x16x3x3xf32>):
  %y = simclr.relu %a : tensor<2x16x3x3xf32>
  simclr_kernel.yield %y : tensor<2x16x3x3xf32>
}

// -----

// expected-error @below {{operand #0 of type 'tensor<2x12x3x3xf32>' cannot have layout "nChw8c"}}
simclr_kernel.kernel @k kind "elementwise" attributes {access = ["flat"], layouts = ["nChw8c", "nChw8c"]} {
^bb0(%a: tensor<2x12x3x3xf32>):
  %y = simclr.relu %a : tensor<2x12x3x3xf32>
  simclr_kernel.yield %y : tensor<2x12x3x3xf32>
}

// -----

// expected-error @below {{anchored kernel needs an 'anchor' index inside its body}}
simclr_kernel.kernel @k kind "anchored" attributes {access = ["flat"]} {
^bb0(%a: tensor<2x4x3x3xf32>):
  %y = simclr.global_avg_pool %a : tensor<2x4x3x3xf32> -> tensor<2x4xf32>
  simclr_kernel.yield %y : tensor<2x4xf32>
}

// -----

// expected-error @below {{anchor 'simclr.relu' is elementwise}}
simclr_kernel.kernel @k kind "anchored" attributes {access = ["flat"], anchor = 0 : i64} {
^bb0(%a: tensor<4xf32>):
  %y = simclr.relu %a : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}

// -----

// expected-error @below {{epilogue op #0 comes before the anchor}}
simclr_kernel.kernel @k kind "anchored" attributes {access = ["flat"], anchor = 1 : i64, prologue = array<i64>, epilogue = array<i64: 0>, results = array<i64: 1>} {
^bb0(%a: tensor<2x4x3x3xf32>):
  %r = simclr.relu %a : tensor<2x4x3x3xf32>
  %y = simclr.global_avg_pool %r : tensor<2x4x3x3xf32> -> tensor<2x4xf32>
  simclr_kernel.yield %y : tensor<2x4xf32>
}

// -----

// expected-error @below {{result operand 0 is neither an output nor a scratch operand}}
simclr_kernel.kernel @k kind "anchored" attributes {access = ["none"], anchor = 0 : i64, prologue = array<i64>, epilogue = array<i64>, results = array<i64: 0>} {
^bb0(%a: tensor<2x4x3x3xf32>):
  %y = simclr.global_avg_pool %a : tensor<2x4x3x3xf32> -> tensor<2x4xf32>
  simclr_kernel.yield %y : tensor<2x4xf32>
}

// -----

// expected-error @below {{optimizer kernel holds op #0 ('simclr.relu'), which is not an update op}}
simclr_kernel.kernel @k kind "optimizer" attributes {access = ["flat"]} {
^bb0(%a: tensor<4xf32>):
  %y = simclr.relu %a : tensor<4xf32>
  simclr_kernel.yield %y : tensor<4xf32>
}

// -----

simclr_kernel.kernel @k kind "elementwise" attributes {access = ["flat"], layouts = ["nChw16c", "nChw16c"], scratch = array<i64>} {
^bb0(%a: tensor<2x16x3x3xf32>):
  %y = simclr.relu %a : tensor<2x16x3x3xf32>
  simclr_kernel.yield %y : tensor<2x16x3x3xf32>
}
func.func @f(%x: memref<2x16x3x3xf32>, %y: memref<2x16x3x3xf32, #simclr_kernel.layout<nChw16c>>) {
  // expected-error @below {{operand #0 has layout nchw, kernel @k expects nChw16c}}
  simclr_kernel.launch @k(%x) outs(%y) : (memref<2x16x3x3xf32>) -> (memref<2x16x3x3xf32, #simclr_kernel.layout<nChw16c>>)
  return
}

// -----

simclr_kernel.kernel @k kind "anchored" attributes {access = ["none"], anchor = 0 : i64, prologue = array<i64>, epilogue = array<i64>, results = array<i64: 1>, scratch = array<i64: 256>} {
^bb0(%a: tensor<4x8xf32>):
  %y = simclr.reduce_mean %a : tensor<4x8xf32> -> tensor<f32>
  simclr_kernel.yield %y : tensor<f32>
}
func.func @f(%x: memref<4x8xf32>, %y: memref<f32>, %s: memref<64xi8>) {
  // expected-error @below {{scratch #0 has 64 bytes, kernel @k needs 256}}
  simclr_kernel.launch @k(%x) outs(%y) scratch(%s : memref<64xi8>) : (memref<4x8xf32>) -> (memref<f32>)
  return
}

// -----

// expected-error @below {{layout nChw16c needs a multiple of 16 channels, got 8}}
func.func @f(%x: memref<2x8x3x3xf32, #simclr_kernel.layout<nChw16c>>) {
  return
}

// -----

// expected-error @below {{unknown layout 'nchw32c'}}
func.func @f(%x: memref<2x8x3x3xf32, #simclr_kernel.layout<nchw32c>>) {
  return
}
