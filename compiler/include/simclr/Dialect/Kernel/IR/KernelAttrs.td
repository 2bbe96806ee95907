//===- KernelAttrs.td - Kernel-level attributes ------------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_IR_KERNELATTRS_TD
#define SIMCLR_DIALECT_KERNEL_IR_KERNELATTRS_TD

include "simclr/Dialect/Kernel/IR/KernelDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Kernel_LayoutAttr : AttrDef<Kernel_Dialect, "Layout", [
    DeclareAttrInterfaceMethods<MemRefLayoutAttrInterface,
                                ["isIdentity", "verifyLayout"]>]> {
  let mnemonic = "layout";
  let summary = "How a 4-D activation buffer N x C x H x W lies in memory";
  let description = [{
    A memref layout naming one of `simclr::Layout`
    (lib/include/simclr/Support/Vocabulary.h): `nhwc` (channels last),
    `nChw8c` and `nChw16c` (channels in blocks of 8 or 16; C must be a
    multiple of the block). A buffer without a layout is row-major (NCHW).
    `simclr-assign-layouts` sets it on activation buffers; the runtime reads
    it from plan.json. The equivalent affine maps:

    * `nhwc`: `(n, c, h, w) -> (n, h, w, c)`
    * `nChw16c`: `(n, c, h, w) -> (n, c floordiv 16, h, w, c mod 16)`

    Example:
    ```mlir
    %b = simclr_kernel.alloc "y" : memref<8x16x4x4xf32, #simclr_kernel.layout<nChw16c>>
    ```
  }];
  let parameters = (ins "::simclr::Layout":$layout);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELATTRS_TD
