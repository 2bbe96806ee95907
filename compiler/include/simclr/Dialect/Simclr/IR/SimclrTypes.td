//===- SimclrTypes.td - Types of the simclr dialect --------*- tablegen -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRTYPES_TD
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRTYPES_TD

include "simclr/Dialect/Simclr/IR/SimclrDialect.td"
include "mlir/IR/AttrTypeBase.td"

class Simclr_Type<string name, string typeMnemonic> : TypeDef<Simclr_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def Simclr_RngKeyType : Simclr_Type<"RngKey", "rng_key"> {
  let summary = "Key of the counter-based random number generator";
  let description = [{
    An opaque key of the Philox-4x32-10 generator: two 32-bit key words
    derived from the run's seed. Keys are values, never state: new keys are
    derived with `simclr.rng_fold_in`, and a random op draws only from the
    key it is given, so the same key always yields the same numbers.

    Example: `!simclr.rng_key`
  }];
}

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRTYPES_TD
