//===- CudaLossTemplateTests.cpp - CUDA loss, copy, optimizer templates ---===//
//
// As CudaTemplateTests.cpp, for Loss.cuh, DataMovement.cuh and
// Optimizers.cuh: each CUDA template runs emulated with Launch.h's
// launches and is compared with the CPU template on the same inputs.
//
//===----------------------------------------------------------------------===//
#include "TemplateTestUtil.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace simclr::cuda::test {
namespace {

//===----------------------------------------------------------------------===//
// L2 normalization
//===----------------------------------------------------------------------===//

TEST(CudaLossTemplates, L2NormalizeForwardBackward) {
  // cols 300 spans more than one block's threads; row 1 is zero (the
  // clamped branch of the backward).
  for (int64_t cols : {int64_t{5}, int64_t{300}}) {
    const int64_t rows = 7;
    Floats x = randomFloats(rows * cols, 51);
    std::fill(x.begin() + cols, x.begin() + 2 * cols, 0.0f);
    const Floats dy = randomFloats(rows * cols, 52);
    Floats cpuOut(x.size()), gpuOut(x.size());
    const std::vector<int64_t> dims{rows, cols};
    cpu::l2NormalizeForward(rows, cols, 1e-12, Hooks{x.data()}, cpuOut.data(),
                            Relu{});
    run("l2NormalizeForward", dims, [&](int phase) {
      l2NormalizeForward(phase, rows, cols, 1e-12, Hooks{x.data()},
                         gpuOut.data(), Relu{});
    });
    expectClose(gpuOut, cpuOut, kTol, "l2_normalize");
    cpu::l2NormalizeBackward(rows, cols, 1e-12, cpu::Load{dy.data()}, x.data(),
                             cpuOut.data(), cpu::Identity{});
    run("l2NormalizeBackward", dims, [&](int phase) {
      l2NormalizeBackward(phase, rows, cols, 1e-12, Load{dy.data()}, x.data(),
                          gpuOut.data(), Identity{});
    });
    expectClose(gpuOut, cpuOut, kTol, "l2_normalize_backward");
  }
}

//===----------------------------------------------------------------------===//
// NT-Xent
//===----------------------------------------------------------------------===//

/// NT-Xent on rows2N x dim: forward, backward and fused, against the CPU.
void checkNtXent(int64_t rows, int64_t dim, bool zeroRow, bool fusedOnly) {
  SCOPED_TRACE("rows=" + std::to_string(rows) + " dim=" + std::to_string(dim));
  Floats z = randomFloats(rows * dim, 61, -2.0, 2.0);
  if (zeroRow) // Row 2's norm is below eps: the clamped branch.
    std::fill(z.begin() + 2 * dim, z.begin() + 3 * dim, 0.0f);
  const float dloss[1] = {0.75f};
  const double temperature = 0.2;
  const int64_t bytes = kernels::ntXentScratchBytes(rows, dim);
  Scratch cpuWs(bytes), gpuWs(bytes);
  const std::vector<int64_t> dims{rows, dim};
  Floats cpuLoss(1), gpuLoss(1);
  cpu::ntXentForward(rows, dim, z.data(), temperature, cpuLoss.data(),
                     cpuWs.data());
  Floats cpuDz(z.size()), gpuDz(z.size());
  if (!fusedOnly) {
    run("ntXentForward", dims, [&](int phase) {
      ntXentForward(phase, rows, dim, z.data(), temperature, gpuLoss.data(),
                    gpuWs.data());
    });
    expectClose(gpuLoss, cpuLoss, kTol, "nt_xent loss");
    EXPECT_TRUE(gpuWs.guardIntact());
  }
  cpu::ntXentBackward(rows, dim, dloss, z.data(), temperature, cpuDz.data(),
                      cpuWs.data());
  // The gradient is a difference of softmax and one-hot terms: its float
  // rounding is relative to the gradient's scale, which the tolerance's
  // floor (max |dz|) expresses.
  if (!fusedOnly) {
    run("ntXentBackward", dims, [&](int phase) {
      ntXentBackward(phase, rows, dim, dloss, z.data(), temperature,
                     gpuDz.data(), gpuWs.data());
    });
    expectClose(gpuDz, cpuDz, kTol, "nt_xent_backward dz");
    EXPECT_TRUE(gpuWs.guardIntact());
  }

  std::fill(gpuDz.begin(), gpuDz.end(), 0.0f);
  gpuLoss[0] = 0;
  run("ntXentForwardBackward", dims, [&](int phase) {
    ntXentForwardBackward(phase, rows, dim, z.data(), temperature, dloss,
                          gpuLoss.data(), gpuDz.data(), gpuWs.data());
  });
  expectClose(gpuLoss, cpuLoss, kTol, "fused nt_xent loss");
  expectClose(gpuDz, cpuDz, kTol, "fused nt_xent dz");
  EXPECT_TRUE(gpuWs.guardIntact());
}

TEST(CudaLossTemplates, NtXent) {
  checkNtXent(14, 5, true, false);
  // More rows than a block has threads: the similarity rows and the
  // staging of H in ntXentGradientRows take several passes (the fused
  // kernel only: the others share its phases, and each emulated block
  // costs 256 fibers).
  checkNtXent(260, 3, false, true);
}

/// NT-Xent over R replicas' gathered rows (rows = R * rows2N, z random),
/// launched as generated code launches it: Launch.h's launches for one
/// replica's {rows2N, dim}, whatever R is. Outputs and the workspace start
/// as NaN bytes, so an element read before it is written shows.
void checkNtXentGathered(int64_t replicas, int64_t rows2N, int64_t dim,
                         bool zeroRow) {
  SCOPED_TRACE("replicas=" + std::to_string(replicas) + " rows2N=" +
               std::to_string(rows2N) + " dim=" + std::to_string(dim));
  const int64_t rows = replicas * rows2N;
  Floats z =
      randomFloats(rows * dim, 63 + static_cast<unsigned>(replicas), -2.0, 2.0);
  // Row 2's norm is below eps: the clamped branch. Its dz is ~1/eps, which
  // sets the tolerance's scale, so the other cases keep every row.
  if (zeroRow)
    std::fill(z.begin() + 2 * dim, z.begin() + 3 * dim, 0.0f);
  const float dloss[1] = {0.75f};
  const double temperature = 0.2;
  // The plan sizes the workspace per replica, in the gathered region.
  const int64_t bytes =
      replicas * kernels::ntXentGatheredScratchBytes(rows2N, dim);
  ASSERT_GE(bytes, kernels::ntXentGatheredScratchBytes(rows, dim));
  Scratch cpuWs(bytes), gpuWs(bytes);
  constexpr unsigned char kNanByte = 0xFF;
  std::memset(gpuWs.data(), kNanByte, static_cast<size_t>(bytes));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Floats cpuLoss(1), gpuLoss(1, nan), cpuDz(z.size()), gpuDz(z.size(), nan);
  cpu::ntXentGatheredForwardBackward(rows, dim, z.data(), temperature, dloss,
                                     cpuLoss.data(), cpuDz.data(),
                                     cpuWs.data());
  run("ntXentGatheredForwardBackward", {rows2N, dim}, [&](int phase) {
    ntXentGatheredForwardBackward(phase, rows, dim, z.data(), temperature,
                                  dloss, gpuLoss.data(), gpuDz.data(),
                                  gpuWs.data());
  });
  expectClose(gpuLoss, cpuLoss, kTol, "gathered nt_xent loss");
  expectClose(gpuDz, cpuDz, kTol, "gathered nt_xent dz");
  EXPECT_TRUE(std::isfinite(gpuLoss[0]));
  for (float value : gpuDz)
    ASSERT_TRUE(std::isfinite(value));
  EXPECT_TRUE(gpuWs.guardIntact());
  EXPECT_TRUE(cpuWs.guardIntact());
  // With one replica it is the single-process loss (the stored-matrix
  // kernel), as a data-parallel artifact run alone must be.
  if (replicas == 1) {
    Scratch ws(kernels::ntXentScratchBytes(rows, dim));
    Floats loss(1), dz(z.size());
    cpu::ntXentForwardBackward(rows, dim, z.data(), temperature, dloss,
                               loss.data(), dz.data(), ws.data());
    expectClose(gpuLoss, loss, kTol, "gathered vs stored nt_xent loss");
    expectClose(gpuDz, dz, kTol, "gathered vs stored nt_xent dz");
  }
}

TEST(CudaLossTemplates, NtXentGathered) {
  checkNtXentGathered(1, 14, 5, true);
  for (int64_t replicas : {1, 2, 3})
    checkNtXentGathered(replicas, 14, 5, false);
  // 3 x 100 rows: more rows than a block has threads (several staging
  // passes of H) on a grid of 100 blocks, each looping over 3 rows.
  checkNtXentGathered(3, 100, 3, false);
}

TEST(CudaLossTemplates, MaskedScaledLogSoftmaxForwardBackward) {
  for (int64_t m : {int64_t{6}, int64_t{260}}) {
    const Floats s = randomFloats(m * m, 71);
    const Floats dout = randomFloats(m * m, 72);
    Floats cpuOut(s.size()), gpuOut(s.size()), cpuDs(s.size()), gpuDs(s.size());
    cpu::maskedScaledLogSoftmaxForward(m, Hooks{s.data()}, 2.0, cpuOut.data(),
                                       Relu{});
    run("maskedScaledLogSoftmaxForward", {m}, [&](int phase) {
      maskedScaledLogSoftmaxForward(phase, m, Hooks{s.data()}, 2.0,
                                    gpuOut.data(), Relu{});
    });
    expectClose(gpuOut, cpuOut, kTol, "masked_scaled_log_softmax");
    cpu::maskedScaledLogSoftmaxForward(m, cpu::Load{s.data()}, 2.0,
                                       cpuOut.data(), cpu::Identity{});
    cpu::maskedScaledLogSoftmaxBackward(m, cpu::Load{dout.data()},
                                        cpuOut.data(), 2.0, cpuDs.data(),
                                        cpu::Identity{});
    run("maskedScaledLogSoftmaxBackward", {m}, [&](int phase) {
      maskedScaledLogSoftmaxBackward(phase, m, Load{dout.data()}, cpuOut.data(),
                                     2.0, gpuDs.data(), Identity{});
    });
    expectClose(gpuDs, cpuDs, kTol, "masked_scaled_log_softmax_backward");
  }
}

TEST(CudaLossTemplates, GatherPositivesAndReduceMean) {
  const int64_t rows = 22;
  const Floats m = randomFloats(rows * rows, 81);
  const Floats dv = randomFloats(rows, 82);
  Floats cpuV(rows), gpuV(rows), cpuDm(m.size()), gpuDm(m.size());
  cpu::gatherPositivesForward(rows, Hooks{m.data()}, cpuV.data(), Relu{});
  run("gatherPositivesForward", {rows}, [&](int phase) {
    gatherPositivesForward(phase, rows, Hooks{m.data()}, gpuV.data(), Relu{});
  });
  expectClose(gpuV, cpuV, kExact, "gather_positives");
  cpu::gatherPositivesBackward(rows, cpu::Load{dv.data()}, cpuDm.data(),
                               Relu{});
  run("gatherPositivesBackward", {rows}, [&](int phase) {
    gatherPositivesBackward(phase, rows, Load{dv.data()}, gpuDm.data(), Relu{});
  });
  expectClose(gpuDm, cpuDm, kExact, "gather_positives_backward");

  // 9000 elements: three reduction blocks, the last one partial.
  for (int64_t count : {int64_t{1}, int64_t{9000}}) {
    const Floats x = randomFloats(count, 83, 0.0, 2.0);
    Floats cpuY(1), gpuY(1);
    const int64_t bytes = kernels::reduceScratchBytes(count);
    Scratch cpuWs(bytes), gpuWs(bytes);
    cpu::reduceMeanForward(count, Hooks{x.data()}, cpuY.data(), cpuWs.data(),
                           Relu{});
    run("reduceMeanForward", {count}, [&](int phase) {
      reduceMeanForward(phase, count, Hooks{x.data()}, gpuY.data(),
                        gpuWs.data(), Relu{});
    });
    expectClose(gpuY, cpuY, kTol, "reduce_mean");
    EXPECT_TRUE(gpuWs.guardIntact());
  }
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

TEST(CudaDataMovementTemplates, SliceConcatCopyBytes) {
  const int64_t outer = 3, srcDim = 7, inner = 5, offset = 2, size = 4;
  const Floats x = randomFloats(outer * srcDim * inner, 91);
  Floats cpuY(outer * size * inner), gpuY(cpuY.size());
  cpu::sliceCopy(outer, srcDim, inner, offset, size, Hooks{x.data()},
                 cpuY.data(), Relu{});
  run("sliceCopy", {outer, srcDim, inner, offset, size}, [&](int phase) {
    sliceCopy(phase, outer, srcDim, inner, offset, size, Hooks{x.data()},
              gpuY.data(), Relu{});
  });
  expectClose(gpuY, cpuY, kExact, "slice");

  // Two operands of a concat along dim 1: 4 + 3 = 7.
  const Floats a = randomFloats(outer * 4 * inner, 92);
  const Floats b = randomFloats(outer * 3 * inner, 93);
  Floats cpuCat(outer * 7 * inner), gpuCat(cpuCat.size());
  cpu::concatCopy(outer, 7, inner, 0, 4, cpu::Load{a.data()}, cpuCat.data(),
                  cpu::Identity{});
  cpu::concatCopy(outer, 7, inner, 4, 3, cpu::Load{b.data()}, cpuCat.data(),
                  cpu::Identity{});
  run("concatCopy", {outer, 7, inner, 0, 4}, [&](int phase) {
    concatCopy(phase, outer, 7, inner, 0, 4, Load{a.data()}, gpuCat.data(),
               Identity{});
  });
  run("concatCopy", {outer, 7, inner, 4, 3}, [&](int phase) {
    concatCopy(phase, outer, 7, inner, 4, 3, Load{b.data()}, gpuCat.data(),
               Identity{});
  });
  expectClose(gpuCat, cpuCat, kExact, "concat");

  // copyBytes: word-aligned, then from an odd address (byte copies).
  std::vector<unsigned char> from(1203), to(1203, 0);
  for (size_t i = 0; i < from.size(); ++i)
    from[i] = static_cast<unsigned char>(i * 7 + 1);
  for (int64_t start : {int64_t{0}, int64_t{1}}) {
    const int64_t bytes = static_cast<int64_t>(from.size()) - start;
    std::fill(to.begin(), to.end(), 0);
    run("copyBytes", {bytes},
        [&](int) { copyBytes(to.data() + start, from.data() + start, bytes); });
    EXPECT_TRUE(std::equal(to.begin() + start, to.end(), from.begin() + start))
        << "copyBytes from offset " << start;
  }
  run("copyBytes", {16}, [&](int) { copyBytes(to.data(), to.data(), 16); });
}

//===----------------------------------------------------------------------===//
// Optimizers
//===----------------------------------------------------------------------===//

/// Parameter tensors of an update: one of two chunks and a partial one,
/// and small ones; their buffers for the CPU and the CUDA run.
struct OptimizerState {
  static constexpr int64_t kCount = 3;
  static constexpr int64_t kSizes[kCount] = {
      kernels::kOptimizerChunkElements + 1000, 7, 300};
  std::vector<Floats> param, grad, state0, state1;

  OptimizerState() {
    for (int64_t s = 0; s < kCount; ++s) {
      const auto size = static_cast<size_t>(kSizes[s]);
      const auto seed = static_cast<unsigned>(100 + 4 * s);
      param.push_back(randomFloats(size, seed));
      grad.push_back(randomFloats(size, seed + 1));
      state0.push_back(randomFloats(size, seed + 2, -0.1, 0.1));
      state1.push_back(randomFloats(size, seed + 3, 0.0, 0.1));
    }
  }
  static int64_t totalChunks() {
    int64_t total = 0;
    for (int64_t size : kSizes)
      total += kernels::optimizerChunks(size);
    return total;
  }
  template <typename Segment> std::vector<Segment> segments() {
    // Weight decay on tensors 0 and 2; layer adaptation on 0 and 1.
    const double decay[kCount] = {1e-2, 0.0, 5e-4};
    const int flags[kCount] = {1, 1, 0};
    std::vector<Segment> table;
    for (int64_t s = 0; s < kCount; ++s)
      table.push_back(Segment{param[s].data(), grad[s].data(), state0[s].data(),
                              state1[s].data(), kSizes[s], decay[s], flags[s]});
    return table;
  }
  void expectEqual(const OptimizerState &cpu, double tol,
                   const std::string &what) const {
    for (int64_t s = 0; s < kCount; ++s) {
      expectClose(param[s], cpu.param[s], tol, what + " param");
      expectClose(state0[s], cpu.state0[s], tol, what + " state0");
      expectClose(state1[s], cpu.state1[s], tol, what + " state1");
    }
  }
};

TEST(CudaOptimizerTemplates, AdamWSgdLars) {
  const int64_t count = OptimizerState::kCount;
  const std::vector<int64_t> dims{count, OptimizerState::totalChunks()};
  const int64_t bytes =
      kernels::optimizerScratchBytes(count, OptimizerState::totalChunks());
  // Two steps each, so that the updated state feeds the second.
  for (const std::string name :
       {"adamWUpdateAll", "sgdUpdateAll", "larsUpdateAll"}) {
    SCOPED_TRACE(name);
    OptimizerState onCpu, onGpu;
    auto cpuTable = onCpu.segments<cpu::OptimizerSegment>();
    auto gpuTable = onGpu.segments<OptimizerSegment>();
    Scratch cpuWs(bytes), gpuWs(bytes);
    for (int64_t step = 0; step < 2; ++step) {
      const float lr = 0.1f;
      if (name == "adamWUpdateAll") {
        cpu::adamWUpdateAll(cpuTable.data(), count, lr, step, 0.9, 0.999, 1e-8,
                            cpuWs.data());
        run(name, dims, [&](int phase) {
          adamWUpdateAll(phase, gpuTable.data(), count, lr, step, 0.9, 0.999,
                         1e-8, gpuWs.data());
        });
      } else if (name == "sgdUpdateAll") {
        cpu::sgdUpdateAll(cpuTable.data(), count, lr, 0.9, cpuWs.data());
        run(name, dims, [&](int phase) {
          sgdUpdateAll(phase, gpuTable.data(), count, lr, 0.9, gpuWs.data());
        });
      } else {
        cpu::larsUpdateAll(cpuTable.data(), count, lr, 0.9, 1e-3, cpuWs.data());
        run(name, dims, [&](int phase) {
          larsUpdateAll(phase, gpuTable.data(), count, lr, 0.9, 1e-3,
                        gpuWs.data());
        });
      }
    }
    // Per-element float math is the CPU's; LARS's norms are double sums in
    // another order, rounded once into the trust ratio.
    onGpu.expectEqual(onCpu, name == "larsUpdateAll" ? kTol : kExact, name);
    EXPECT_TRUE(gpuWs.guardIntact());
  }
}

TEST(CudaOptimizerTemplates, LrWarmupCosine) {
  for (int64_t step : {0, 3, 10, 55, 100, 140})
    EXPECT_EQ(lrWarmupCosine(step, 0.3, 0.001, 10, 100),
              cpu::lrWarmupCosine(step, 0.3, 0.001, 10, 100))
        << "step " << step;
  EXPECT_EQ(lrWarmupCosine(5, 0.3, 0.0, 0, 0), 0.3f);
  EXPECT_TRUE(launchesOf("lrWarmupCosine", {}).has_value());
}

} // namespace
} // namespace simclr::cuda::test
