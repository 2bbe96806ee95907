// Every verifier diagnostic of simclr.fusion (and broadcast's per-channel
// form), one case per block.
// RUN: simclr-opt %s -split-input-file -verify-diagnostics

func.func @broadcast_channels(%v: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{a 1-D input of 4 entries needs a result with as many channels in dimension 1}}
  %0 = simclr.broadcast %v : tensor<4xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @input_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{input #0 of type 'tensor<4xf32>' is bound to a block argument of type 'tensor<5xf32>'}}
  %0 = simclr.fusion "f_0" elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<5xf32>):
    %r = simclr.relu %a : tensor<5xf32>
    simclr.yield %r : tensor<5xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @yield_types(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{yields 2 values whose types differ from its 1 results}}
  %0 = simclr.fusion "f_0" elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %r = simclr.relu %a : tensor<4xf32>
    simclr.yield %r, %r : tensor<4xf32>, tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @empty(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body holds no op}}
  %0 = simclr.fusion "f_0" elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    simclr.yield %a : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @foreign_op(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body may hold only simclr graph ops, not 'func.call'}}
  %0 = simclr.fusion "f_0" elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %r = func.call @foreign_op(%a) : (tensor<4xf32>) -> tensor<4xf32>
    simclr.yield %r : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @not_elementwise(%x: tensor<8x4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{of kind elementwise holds 'simclr.sum_to_channels', which is not elementwise}}
  %0 = simclr.fusion "f_0" elementwise (%x) : (tensor<8x4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<8x4xf32>):
    %r = simclr.sum_to_channels %a : tensor<8x4xf32> -> tensor<4xf32>
    simclr.yield %r : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @two_shapes(%x: tensor<8x4xf32>, %v: tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>) {
  // expected-error @+1 {{holds op 'simclr.relu' on 4, but the fusion iterates over 8x4}}
  %0:2 = simclr.fusion "f_0" elementwise (%x, %v) : (tensor<8x4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<8x4xf32>, %b: tensor<4xf32>):
    %r = simclr.relu %a : tensor<8x4xf32>
    %s = simclr.relu %b : tensor<4xf32>
    simclr.yield %r, %s : tensor<8x4xf32>, tensor<4xf32>
  }
  return %0#0, %0#1 : tensor<8x4xf32>, tensor<4xf32>
}

// -----

func.func @no_anchor(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{of kind anchored holds no anchor op}}
  %0 = simclr.fusion "f_0" anchored (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %r = simclr.relu %a : tensor<4xf32>
    simclr.yield %r : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @not_an_anchor(%x: tensor<8x4xf32>, %w: tensor<4x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{of kind anchored holds 'simclr.matmul', which is neither elementwise nor an anchor}}
  %0 = simclr.fusion "f_0" anchored (%x, %w) : (tensor<8x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32> {
  ^bb0(%a: tensor<8x4xf32>, %b: tensor<4x4xf32>):
    %r = simclr.matmul %a, %b : (tensor<8x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
    simclr.yield %r : tensor<8x4xf32>
  }
  return %0 : tensor<8x4xf32>
}

// -----

func.func @two_anchors(%x: tensor<8x4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+1 {{of kind anchored has two anchors, 'simclr.sum_to_channels' and 'simclr.sum_to_channels'}}
  %0:2 = simclr.fusion "f_0" anchored (%x) : (tensor<8x4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<8x4xf32>):
    %r = simclr.sum_to_channels %a : tensor<8x4xf32> -> tensor<4xf32>
    %s = simclr.sum_to_channels %a : tensor<8x4xf32> -> tensor<4xf32>
    simclr.yield %r, %s : tensor<4xf32>, tensor<4xf32>
  }
  return %0#0, %0#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

func.func @prologue_shared(%x: tensor<8x4xf32>) -> (tensor<4xf32>, tensor<8x4xf32>) {
  // expected-error @+1 {{prologue op 'simclr.relu' must have exactly one use (a single expression tree)}}
  %0:2 = simclr.fusion "f_0" anchored (%x) : (tensor<8x4xf32>) -> (tensor<4xf32>, tensor<8x4xf32>) {
  ^bb0(%a: tensor<8x4xf32>):
    %r = simclr.relu %a : tensor<8x4xf32>
    %s = simclr.sum_to_channels %r : tensor<8x4xf32> -> tensor<4xf32>
    simclr.yield %s, %r : tensor<4xf32>, tensor<8x4xf32>
  }
  return %0#0, %0#1 : tensor<4xf32>, tensor<8x4xf32>
}

// -----

func.func @anchor_operand(%x: tensor<8x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{anchor 'simclr.batch_norm_train' operand #1 must be a block argument (only operand 0 has a prologue)}}
  %0 = simclr.fusion "f_0" anchored (%x, %g, %b) : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<8x4xf32> {
  ^bb0(%a0: tensor<8x4xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>):
    %s = simclr.scale %a1 {factor = 2.0 : f64} : tensor<4xf32>
    %o, %m, %v = simclr.batch_norm_train %a0, %s, %a2 {epsilon = 1.0e-05 : f64}
        : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
    simclr.yield %o : tensor<8x4xf32>
  }
  return %0 : tensor<8x4xf32>
}

// -----

func.func @statistics_used(%x: tensor<8x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{anchor 'simclr.batch_norm_train' result #1 may only be yielded, but 'simclr.relu' uses it}}
  %0 = simclr.fusion "f_0" anchored (%x, %g, %b) : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a0: tensor<8x4xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>):
    %o, %m, %v = simclr.batch_norm_train %a0, %a1, %a2 {epsilon = 1.0e-05 : f64}
        : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
    %r = simclr.relu %m : tensor<4xf32>
    simclr.yield %r : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @epilogue_and_yield(%x: tensor<4x2x2x2xf32>) -> (tensor<4x2x2x2xf32>, tensor<4x2x2x2xf32>) {
  // expected-error @+1 {{the epilogue value yielded must have no other use}}
  %0:2 = simclr.fusion "f_0" anchored (%x) : (tensor<4x2x2x2xf32>) -> (tensor<4x2x2x2xf32>, tensor<4x2x2x2xf32>) {
  ^bb0(%a: tensor<4x2x2x2xf32>):
    %o = simclr.normalize %a {mean = array<f64: 0.0, 0.0>, std = array<f64: 1.0, 1.0>} : tensor<4x2x2x2xf32>
    %r = simclr.relu %o : tensor<4x2x2x2xf32>
    simclr.yield %o, %r : tensor<4x2x2x2xf32>, tensor<4x2x2x2xf32>
  }
  return %0#0, %0#1 : tensor<4x2x2x2xf32>, tensor<4x2x2x2xf32>
}

// -----

func.func @epilogue_operand(%x: tensor<4x2x2x2xf32>) -> tensor<4x2x2x2xf32> {
  // expected-error @+1 {{epilogue op 'simclr.add' may only combine the chain with block arguments}}
  %0 = simclr.fusion "f_0" anchored (%x) : (tensor<4x2x2x2xf32>) -> tensor<4x2x2x2xf32> {
  ^bb0(%a: tensor<4x2x2x2xf32>):
    %o = simclr.normalize %a {mean = array<f64: 0.0, 0.0>, std = array<f64: 1.0, 1.0>} : tensor<4x2x2x2xf32>
    %f = simclr.fill {value = 1.0 : f64} : tensor<4x2x2x2xf32>
    %r = simclr.add %o, %f : tensor<4x2x2x2xf32>
    simclr.yield %r : tensor<4x2x2x2xf32>
  }
  return %0 : tensor<4x2x2x2xf32>
}

// -----

func.func @nt_xent_extra(%z: tensor<8x4xf32>) -> tensor<f32> {
  // expected-error @+1 {{of kind nt_xent holds an extra 'simclr.relu' (expected nt_xent, fill and nt_xent_backward once each)}}
  %0 = simclr.fusion "f_0" nt_xent (%z) : (tensor<8x4xf32>) -> tensor<f32> {
  ^bb0(%a: tensor<8x4xf32>):
    %r = simclr.relu %a : tensor<8x4xf32>
    %l = simclr.nt_xent %r {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
    simclr.yield %l : tensor<f32>
  }
  return %0 : tensor<f32>
}

// -----

func.func @nt_xent_missing(%z: tensor<8x4xf32>) -> tensor<f32> {
  // expected-error @+1 {{of kind nt_xent needs nt_xent, fill and nt_xent_backward}}
  %0 = simclr.fusion "f_0" nt_xent (%z) : (tensor<8x4xf32>) -> tensor<f32> {
  ^bb0(%a: tensor<8x4xf32>):
    %l = simclr.nt_xent %a {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
    simclr.yield %l : tensor<f32>
  }
  return %0 : tensor<f32>
}

// -----

func.func @nt_xent_seed(%z: tensor<8x4xf32>, %s: tensor<f32>) -> (tensor<f32>, tensor<8x4xf32>) {
  // expected-error @+1 {{nt_xent_backward must take the fill as its loss gradient}}
  %0:2 = simclr.fusion "f_0" nt_xent (%z, %s) : (tensor<8x4xf32>, tensor<f32>) -> (tensor<f32>, tensor<8x4xf32>) {
  ^bb0(%a: tensor<8x4xf32>, %b: tensor<f32>):
    %l = simclr.nt_xent %a {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
    %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
    %g = simclr.nt_xent_backward %b, %a {temperature = 5.0e-01 : f64} : tensor<f32>, tensor<8x4xf32>
    simclr.yield %l, %g : tensor<f32>, tensor<8x4xf32>
  }
  return %0#0, %0#1 : tensor<f32>, tensor<8x4xf32>
}

// -----

func.func @nt_xent_temperature(%z: tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  // expected-error @+1 {{nt_xent and nt_xent_backward temperatures differ}}
  %0:2 = simclr.fusion "f_0" nt_xent (%z) : (tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  ^bb0(%a: tensor<8x4xf32>):
    %l = simclr.nt_xent %a {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
    %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
    %g = simclr.nt_xent_backward %one, %a {temperature = 1.0e-01 : f64} : tensor<f32>, tensor<8x4xf32>
    simclr.yield %l, %g : tensor<f32>, tensor<8x4xf32>
  }
  return %0#0, %0#1 : tensor<f32>, tensor<8x4xf32>
}

// -----

func.func @optimizer_op(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{of kind optimizer holds 'simclr.relu', which is not an update op}}
  %0 = simclr.fusion "f_0" optimizer (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %r = simclr.relu %a : tensor<4xf32>
    simclr.yield %r : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @optimizer_lr(%p: tensor<4xf32>, %lr: tensor<f32>, %lr2: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+1 {{update 'simclr.sgd_update' reads another learning rate or step than the first}}
  %0:2 = simclr.fusion "f_0" optimizer (%p, %lr, %lr2) : (tensor<4xf32>, tensor<f32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>, %r1: tensor<f32>, %r2: tensor<f32>):
    %p1, %b1 = simclr.sgd_update %a, %a, %a, %r1 {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    %p2, %b2 = simclr.sgd_update %a, %a, %a, %r2 {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    simclr.yield %p1, %p2 : tensor<4xf32>, tensor<4xf32>
  }
  return %0#0, %0#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

func.func @optimizer_hyperparameters(%p: tensor<4xf32>, %lr: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+1 {{update 'simclr.sgd_update' has other hyperparameters than the first}}
  %0:2 = simclr.fusion "f_0" optimizer (%p, %lr) : (tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>, %r: tensor<f32>):
    %p1, %b1 = simclr.sgd_update %a, %a, %a, %r {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    %p2, %b2 = simclr.sgd_update %a, %a, %a, %r {momentum = 0.8 : f64, weight_decay = 1.0e-04 : f64} : tensor<4xf32>, tensor<f32>
    simclr.yield %p1, %p2 : tensor<4xf32>, tensor<4xf32>
  }
  return %0#0, %0#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

func.func @optimizer_mixed(%p: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+1 {{of kind optimizer mixes 'simclr.sgd_update' and 'simclr.adamw_update'}}
  %0:2 = simclr.fusion "f_0" optimizer (%p, %lr, %step) : (tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>, %r: tensor<f32>, %s: tensor<i64>):
    %p1, %b1 = simclr.sgd_update %a, %a, %a, %r {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    %p2, %m2, %v2 = simclr.adamw_update %a, %a, %a, %a, %r, %s {beta1 = 0.9 : f64, beta2 = 0.999 : f64,
        epsilon = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    simclr.yield %p1, %p2 : tensor<4xf32>, tensor<4xf32>
  }
  return %0#0, %0#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

func.func @optimizer_chained(%p: tensor<4xf32>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{update 'simclr.sgd_update' must read only block arguments}}
  %0 = simclr.fusion "f_0" optimizer (%p, %lr) : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %r: tensor<f32>):
    %p1, %b1 = simclr.sgd_update %a, %a, %a, %r {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    %p2, %b2 = simclr.sgd_update %p1, %a, %a, %r {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<f32>
    simclr.yield %p2 : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

// fuzz-mlir: the fusion's checks read the body's attributes, so they run
// after the body's own verifiers (a missing temperature crashed them).
func.func @nt_xent_backward_without_temperature(%z: tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  %n:2 = simclr.fusion "nt_xent_0" nt_xent (%z) : (tensor<8x4xf32>) -> (tensor<f32>, tensor<8x4xf32>) {
  ^bb0(%a: tensor<8x4xf32>):
    %l = simclr.nt_xent %a {temperature = 5.0e-01 : f64} : tensor<8x4xf32> -> tensor<f32>
    %one = simclr.fill {value = 1.0 : f64} : tensor<f32>
    // expected-error @+1 {{requires attribute 'temperature'}}
    %gz = simclr.nt_xent_backward %one, %a : tensor<f32>, tensor<8x4xf32>
    simclr.yield %l, %gz : tensor<f32>, tensor<8x4xf32>
  }
  return %n#0, %n#1 : tensor<f32>, tensor<8x4xf32>
}
