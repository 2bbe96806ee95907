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

//===----------------------------------------------------------------------===//
// Fusion (pipeline simclr-fuse: expand-linear, fuse-nt-xent, fuse-anchored,
// fuse-elementwise, fuse-optimizer, cse)
//===----------------------------------------------------------------------===//

def SimclrExpandLinear : Pass<"simclr-expand-linear", "::mlir::func::FuncOp"> {
  let summary = "Splits simclr.linear into a matrix product and a bias add";
  let description = [{
    `linear(x, w, b)` = `matmul(x, w) {transpose_rhs}` + `broadcast(b)`,
    so the product becomes a matrix-multiply library call and the bias add
    can fuse with what follows (simclr-fuse-elementwise):

    ```mlir
    %y = simclr.linear %h, %w, %b : (tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>) -> tensor<8x4xf32>
    ```
    becomes
    ```mlir
    %p = simclr.matmul %h, %w {transpose_rhs = true} : (tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<8x4xf32>
    %bb = simclr.broadcast %b : tensor<4xf32> -> tensor<8x4xf32>
    %y = simclr.add %p, %bb : tensor<8x4xf32>
    ```
    A linear without bias becomes the matmul alone.

    Precondition: verified IR. Postcondition: no simclr.linear remains.
    Numerics: linear's reference kernel starts each sum at the bias, the
    expansion adds it last, so results may differ in the last bits.
  }];
  let statistics = [
    Statistic<"numExpanded", "num-expanded", "Number of linear ops expanded">,
  ];
}

def SimclrFuseNtXent : Pass<"simclr-fuse-nt-xent", "::mlir::func::FuncOp"> {
  let summary = "Puts the NT-Xent loss and its gradient into one fusion";
  let description = [{
    `nt_xent(z)`, `fill {value = 1.0}` and `nt_xent_backward(fill, z)` with
    the same embeddings and temperature become one `nt_xent` fusion (one
    kernel computes the loss and d loss / d z). Left alone: a fill of
    another value, a fill with other uses, or a backward without a
    matching forward.

    ```mlir
    %l = simclr.nt_xent %z {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
    %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
    %g = simclr.nt_xent_backward %one, %z {temperature = 5.0e-01 : f64} : tensor<f32>, tensor<8x4xf32>
    ```
    becomes
    ```mlir
    %l, %g = simclr.fusion "nt_xent_0" nt_xent (%z) : (tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
      ... the three ops ...
    }
    ```
    Precondition: verified IR. Postcondition: verified IR computing the
    same values.
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of nt_xent fusions formed">,
  ];
}

def SimclrFuseAnchored : Pass<"simclr-fuse-anchored", "::mlir::func::FuncOp"> {
  let summary = "Fuses reductions and normalizations with their elementwise neighbours";
  let description = [{
    For each anchor (batch_norm_train, batch_norm_inference,
    batch_norm_train_backward, global_avg_pool, global_avg_pool_backward,
    sum_to_channels, normalize), in program order, forms an `anchored`
    fusion of
    1. the prologue: elementwise ops computing the anchor's operand 0 (x,
       or dy for the backward anchors), pulled in while each has exactly
       one use (so nothing is computed twice); e.g. relu_backward(add(a,
       b), y) feeding batch_norm_train_backward's dy;
    2. the epilogue: the chain of elementwise ops from the anchor's result
       0 while each value has exactly one use, each op's other operands
       being computed outside and independently of the group, of the same
       shape; e.g. relu(batch_norm_train(x).output) or relu(add(bn(x).output,
       residual)), or relu_backward after global_avg_pool_backward.
    An anchor with neither stays alone. Ops already in a fusion are not
    touched; earlier anchors take their neighbours first.

    ```mlir
    %o, %m, %v = simclr.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f64} : ...
    %r = simclr.relu %o : tensor<8x4x2x2xf32>
    ```
    becomes
    ```mlir
    %r, %m, %v = simclr.fusion "batch_norm_train_relu_0" anchored (%x, %g, %b) : ... {
    ^bb0(%a0: ..., %a1: ..., %a2: ...):
      %o2, %m2, %v2 = simclr.batch_norm_train %a0, %a1, %a2 {epsilon = 1.0e-05 : f64} : ...
      %r2 = simclr.relu %o2 : tensor<8x4x2x2xf32>
      simclr.yield %r2, %m2, %v2 : ...
    }
    ```
    Precondition: verified IR. Postcondition: verified IR computing the
    same values (the body holds the same ops).
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of anchored fusions formed">,
  ];
}

def SimclrFuseElementwise : Pass<"simclr-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Groups chains of elementwise ops into one kernel each";
  let description = [{
    Walks the function backwards; each elementwise op (the
    `Simclr_Elementwise` list) not yet grouped and not in a fusion roots a
    group, which then pulls in the elementwise producers of its operands
    whose every use is inside the group (single-use producers: nothing is
    recomputed, and no value is both stored and fused) and whose tensors
    have the group's shape (or are 0-D, or a broadcast's input). Groups of
    two or more ops become `elementwise` fusions; e.g. add + relu (a
    residual), add + relu_backward (gradient fan-in, then the ReLU mask),
    broadcast + add (+ relu) after simclr-expand-linear.

    ```mlir
    %s = simclr.add %a, %b : tensor<8x4xf32>
    %g = simclr.relu_backward %s, %y : tensor<8x4xf32>
    ```
    becomes
    ```mlir
    %g = simclr.fusion "add_relu_backward_0" elementwise (%a, %b, %y) : ... {
    ^bb0(%a0: ..., %a1: ..., %a2: ...):
      %s2 = simclr.add %a0, %a1 : tensor<8x4xf32>
      %g2 = simclr.relu_backward %s2, %a2 : tensor<8x4xf32>
      simclr.yield %g2 : tensor<8x4xf32>
    }
    ```
    Precondition: verified IR. Postcondition: verified IR computing the
    same values.
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of elementwise fusions formed">,
  ];
}

def SimclrFuseOptimizer : Pass<"simclr-fuse-optimizer", "::mlir::func::FuncOp"> {
  let summary = "Updates every parameter in one optimizer kernel";
  let description = [{
    Groups the update ops (adamw_update, sgd_update, lars_update) of a
    block by op, learning-rate (and step) operands and shared
    hyperparameters (all but weight_decay and layer_adaptation); each group
    of two or more becomes one `optimizer` fusion, placed where the last
    update of the group was (ops between the first and the last that use
    an update's results move after it).

    ```mlir
    %p1, %m1, %v1 = simclr.adamw_update %p, %g, %m, %v, %lr, %step {...} : tensor<4x3xf32>, tensor<f32>
    %q1, %n1, %w1 = simclr.adamw_update %q, %h, %n, %w, %lr, %step {...} : tensor<4xf32>, tensor<f32>
    ```
    becomes
    ```mlir
    %r:6 = simclr.fusion "adamw_update_0" optimizer (%p, %g, %m, %v, %lr, %step, %q, %h, %n, %w) : ... {
      ... both updates ...
    }
    ```
    Precondition: verified IR. Postcondition: verified IR computing the
    same values.
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of optimizer fusions formed">,
    Statistic<"numUpdates", "num-updates", "Number of update ops fused">,
  ];
}

def SimclrFusionReport : Pass<"simclr-fusion-report", "::mlir::ModuleOp"> {
  let summary = "Prints how many kernels each function's graph ops become";
  let description = [{
    Prints one line per function (MLIR's pass statistics print nothing in
    an LLVM built without LLVM_ENABLE_STATS, as Debian's):

    `@train_step: 148 graph ops (120 in fusions, 28 outside) -> 61 kernels
    (12 elementwise, 20 anchored, 1 nt_xent, 1 optimizer fusions; 27
    library calls; 0 other)`

    Graph ops are the ops inside fusions plus the other ops of the
    function body (func.return excluded). Kernels: each fusion is one;
    each op outside fusions is one, counted as a library call (conv2d,
    conv2d_backward_input, conv2d_backward_filter, matmul) or other,
    except reshape and constants, which need no kernel. Changes no IR.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "File to write the report to ('-': stderr)">,
  ];
}

#endif // SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_TD
