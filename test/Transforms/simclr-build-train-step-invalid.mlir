// RUN: simclr-opt %s -split-input-file -simclr-build-train-step -verify-diagnostics

// expected-error @+1 {{simclr-build-train-step needs @forward_backward (run simclr-autodiff first) and @optimizer_update}}
module {
  func.func @optimizer_update() {
    return
  }
}

// -----

module {
  func.func @forward_backward(%w: tensor<2xf32> {simclr.kind = "parameter", simclr.name = "w"})
      -> (tensor<f32> {simclr.kind = "loss"}) {
    %l = simclr.reduce_mean %w : tensor<2xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
  // expected-error @+1 {{updates parameter 'v', which @forward_backward lacks}}
  func.func @optimizer_update(%v: tensor<2xf32> {simclr.kind = "parameter", simclr.name = "v"}) {
    return
  }
}

// -----

module {
  // expected-error @+1 {{has no gradient for parameter 'w'}}
  func.func @forward_backward(%w: tensor<2xf32> {simclr.kind = "parameter", simclr.name = "w"})
      -> (tensor<f32> {simclr.kind = "loss"}) {
    %l = simclr.reduce_mean %w : tensor<2xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
  func.func @optimizer_update(%w: tensor<2xf32> {simclr.kind = "parameter", simclr.name = "w"},
                              %g: tensor<2xf32> {simclr.kind = "gradient", simclr.name = "w"}) {
    return
  }
}
