//===- Passes.td - Passes on the simclr graph dialect -------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_TD
#define SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SimclrDecomposeNtXent : Pass<"simclr-decompose-nt-xent"> {
  let summary = "Expresses simclr.nt_xent through its primitive ops";
  let description = [{
    Rewrites every `simclr.nt_xent` into the chain its description defines,
    so later passes may choose to fuse the primitives differently or map the
    similarity matrix onto a matrix-multiply library:

    ```mlir
    %loss = simclr.nt_xent %z {temperature = 5.0e-01 : f64} : tensor<8x16xf32> -> tensor<f32>
    ```
    becomes
    ```mlir
    %u = simclr.l2_normalize %z {epsilon = 1.0e-12 : f64} : tensor<8x16xf32>
    %s = simclr.matmul %u, %u {transpose_lhs = false, transpose_rhs = true}
         : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x8xf32>
    %l = simclr.masked_scaled_log_softmax %s {scale = 2.0 : f64} : tensor<8x8xf32>
    %p = simclr.gather_positives %l : tensor<8x8xf32> -> tensor<8xf32>
    %m = simclr.reduce_mean %p : tensor<8xf32> -> tensor<f32>
    %loss = simclr.scale %m {factor = -1.0 : f64} : tensor<f32>
    ```

    Precondition: verified `simclr` IR. Postcondition: no `simclr.nt_xent`
    remains; the function computes the same loss (exactly the same formula,
    so the reference executor gives the same value up to rounding).
  }];
  let statistics = [
    Statistic<"numDecomposed", "num-decomposed", "Number of nt_xent ops decomposed">,
  ];
}

def SimclrAutodiff : Pass<"simclr-autodiff", "::mlir::ModuleOp"> {
  let summary = "Derives parameter gradients of a loss function (reverse mode)";
  let description = [{
    Differentiates the function `function` (default @forward_loss) and adds
    `gradient-function` (default @forward_backward): the same arguments, the
    same results, then one result per parameter argument (simclr.kind =
    "parameter"), its gradient d loss / d parameter, marked simclr.kind =
    "gradient" with the parameter's simclr.name.

    Preconditions: verified simclr IR; exactly one result marked
    simclr.kind = "loss", a 0-D tensor; every op between the parameters and
    the loss implements DifferentiableOpInterface (otherwise a located error
    names the op). Postconditions: verified IR; gradients only for values
    that depend on a parameter and reach the loss (augmentations and running
    statistics get none); fan-out sums gradients with simclr.add; a
    parameter that does not reach the loss gets a zero gradient; no dead
    op remains.

    Before:
    ```mlir
    func.func @forward_loss(%x: tensor<4x3xf32>, %w: tensor<2x3xf32> {simclr.kind = "parameter", simclr.name = "w"})
        -> (tensor<f32> {simclr.kind = "loss"}) {
      %y = simclr.linear %x, %w : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
      %l = simclr.reduce_mean %y : tensor<4x2xf32> -> tensor<f32>
      return %l : tensor<f32>
    }
    ```
    After (added):
    ```mlir
    func.func @forward_backward(...) -> (tensor<f32> {simclr.kind = "loss"},
        tensor<2x3xf32> {simclr.kind = "gradient", simclr.name = "w"}) {
      %y = simclr.linear %x, %w ...
      %l = simclr.reduce_mean %y ...
      %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
      %b = simclr.broadcast %one : tensor<f32> -> tensor<4x2xf32>
      %g = simclr.scale %b {factor = 1.250000e-01 : f64} : tensor<4x2xf32>
      %gw = simclr.matmul %g, %x {transpose_lhs = true} ...
      return %l, %gw : tensor<f32>, tensor<2x3xf32>
    }
    ```
  }];
  let options = [
    Option<"functionName", "function", "std::string", /*default=*/"\"forward_loss\"",
           "The function to differentiate">,
    Option<"gradientFunctionName", "gradient-function", "std::string",
           /*default=*/"\"forward_backward\"", "Name of the function to create">,
    Option<"replaceSource", "replace-source", "bool", /*default=*/"false",
           "Erase the differentiated function once its gradient function exists">,
  ];
  let statistics = [
    Statistic<"numAdjoints", "num-adjoints", "Number of ops whose adjoint was built">,
  ];
}

def SimclrBuildTrainStep : Pass<"simclr-build-train-step", "::mlir::ModuleOp"> {
  let summary = "Joins forward-backward and the optimizer update into @train_step";
  let description = [{
    Combines @forward_backward (from simclr-autodiff) and @optimizer_update
    (from the frontend) into one function, matching gradients to the
    update's gradient arguments by simclr.name:

    `@train_step(parameters..., optimizer state..., running statistics...,
    images, rng_key, step) -> (parameters'..., optimizer state'...,
    running statistics'..., loss, lr)`

    Both functions are consumed (erased). Preconditions: both exist; every
    parameter of @forward_backward has a gradient result and a parameter and
    gradient argument of @optimizer_update with the same name (otherwise an
    error names the missing one). Postcondition: verified IR in which one
    call of @train_step is one SimCLR training step.
  }];
}

#endif // SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_TD
