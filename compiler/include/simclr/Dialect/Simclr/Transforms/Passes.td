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

#endif // SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_TD
