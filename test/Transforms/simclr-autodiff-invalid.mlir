// Errors of simclr-autodiff, each at the place that causes it.
// RUN: simclr-opt %s -split-input-file -simclr-autodiff -verify-diagnostics

// expected-error @+1 {{the loss must be a 0-D tensor to be differentiated, got 'tensor<4x2xf32>'}}
func.func @forward_loss(%x: tensor<4x2xf32> {simclr.kind = "parameter", simclr.name = "x"})
    -> (tensor<4x2xf32> {simclr.kind = "loss"}) {
  %r = simclr.relu %x : tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

// expected-error @+1 {{has no result marked simclr.kind = "loss"; simclr-autodiff differentiates a scalar loss}}
func.func @forward_loss(%x: tensor<4x2xf32> {simclr.kind = "parameter", simclr.name = "x"}) -> tensor<f32> {
  %m = simclr.reduce_mean %x : tensor<4x2xf32> -> tensor<f32>
  return %m : tensor<f32>
}

// -----

func.func @forward_loss(%x: tensor<4x2xf32> {simclr.kind = "parameter", simclr.name = "x"},
                        %s: tensor<2xf32>) -> (tensor<f32> {simclr.kind = "loss"}) {
  // expected-error @+1 {{'simclr.batch_norm_inference' op has no adjoint; simclr-autodiff cannot propagate the loss gradient through it}}
  %y = simclr.batch_norm_inference %x, %s, %s, %s, %s {epsilon = 1.0e-05 : f64} : tensor<4x2xf32>, tensor<2xf32>
  %m = simclr.reduce_mean %y : tensor<4x2xf32> -> tensor<f32>
  return %m : tensor<f32>
}

// -----

// expected-error @+1 {{simclr-autodiff: no function @forward_loss to differentiate}}
module {
  func.func @other() {
    return
  }
}
