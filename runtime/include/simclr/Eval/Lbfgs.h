//===- Lbfgs.h - Limited-memory BFGS for smooth unconstrained problems ----===//
//
// Minimizes a smooth function of a double vector (Nocedal & Wright,
// "Numerical Optimization", 2nd ed.): the search direction comes from the
// two-loop recursion (Alg. 7.4) over the last `memory` pairs (s, y) with
// initial Hessian gamma * I, gamma = s'y / y'y (eq. 7.20); the step satisfies
// the strong Wolfe conditions (Alg. 3.5 and zoom, Alg. 3.6, with safeguarded
// cubic interpolation). Stops when the largest gradient component is at most
// `gradientTolerance`, after `maxIterations`, or when no step makes progress
// (the line search fails twice in a row, the second time from steepest
// descent, or the loss changes by less than `lossTolerance` relative).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_LBFGS_H
#define SIMCLR_EVAL_LBFGS_H

#include "simclr/Support/Status.h"

#include <functional>
#include <vector>

namespace simclr::eval {

/// Returns f(x) and writes its gradient into `gradient` (already sized as x).
using Objective =
    std::function<double(const std::vector<double> &x,
                         std::vector<double> &gradient)>;

struct LbfgsOptions {
  /// Number of (s, y) pairs kept.
  int memory = 10;
  int maxIterations = 1000;
  /// Converged when max_i |g_i| <= gradientTolerance.
  double gradientTolerance = 1e-5;
  /// No progress when |f_prev - f| <= lossTolerance * max(|f_prev|, |f|);
  /// 0 leaves the decision to the gradient and the line search.
  double lossTolerance = 1e-12;
  /// Sufficient decrease (c1) and curvature (c2) constants of the strong
  /// Wolfe conditions; N&W's values for quasi-Newton methods.
  double wolfeC1 = 1e-4;
  double wolfeC2 = 0.9;
  /// Function evaluations allowed in one line search.
  int maxLineSearchEvaluations = 40;
};

/// Why minimizeLbfgs stopped.
enum class LbfgsStop { kGradientTolerance, kMaxIterations, kNoProgress };

/// "gradient-tolerance", "max-iterations", "no-progress".
const char *lbfgsStopName(LbfgsStop stop);

struct LbfgsResult {
  std::vector<double> x;
  double loss = 0;
  /// max_i |gradient_i| at x.
  double gradientMaxNorm = 0;
  int iterations = 0;
  int evaluations = 0;
  LbfgsStop stop = LbfgsStop::kMaxIterations;
};

/// Minimizes `objective` from `x0`. Fails (kInvalidArgument) when the loss
/// or gradient at x0 is not finite or an option is out of range; a
/// non-finite value at a trial step only shortens that step.
Expected<LbfgsResult> minimizeLbfgs(const Objective &objective,
                                    std::vector<double> x0,
                                    const LbfgsOptions &options = {});

} // namespace simclr::eval

#endif // SIMCLR_EVAL_LBFGS_H
