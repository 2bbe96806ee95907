//===- Lbfgs.cpp - L-BFGS with a strong-Wolfe line search -----------------===//
//
// Algorithm (Nocedal & Wright, 2nd ed.):
//  1. d = -H g by the two-loop recursion (Alg. 7.4) over the kept pairs,
//     H0 = gamma I with gamma = s'y / y'y of the newest pair (eq. 7.20);
//     with no pairs, d = -g and the first trial step is 1 / max|g|.
//  2. A step alpha along d meeting the strong Wolfe conditions
//       f(x + a d) <= f(x) + c1 a g'd,   |g(x + a d)'d| <= c2 |g'd|
//     by bracketing (Alg. 3.5) and zoom (Alg. 3.6) with safeguarded cubic
//     interpolation (eq. 3.59).
//  3. Keep (s, y) = (a d, g_new - g) when s'y > 0 (Wolfe's curvature
//     condition guarantees it up to rounding), dropping the oldest past
//     `memory` pairs.
//  4. Stop on max|g| <= tolerance, the iteration limit, a negligible loss
//     change, or a line search that fails even from steepest descent.
//
//===----------------------------------------------------------------------===//
#include "simclr/Eval/Lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace simclr::eval {
namespace {

/// Interpolated steps stay this fraction of the bracket away from its ends
/// (N&W's safeguard against steps that make no progress).
constexpr double kBracketSafeguard = 0.1;
/// Growth of the trial step while the minimum is not yet bracketed.
constexpr double kExtrapolationFactor = 2.0;
/// A pair with s'y below this times |s||y| carries no usable curvature.
constexpr double kCurvatureEpsilon = 1e-12;

double dot(const std::vector<double> &a, const std::vector<double> &b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i)
    sum += a[i] * b[i];
  return sum;
}

double maxAbs(const std::vector<double> &v) {
  double m = 0;
  for (double e : v)
    m = std::max(m, std::abs(e));
  return m;
}

bool allFinite(const std::vector<double> &v) {
  for (double e : v)
    if (!std::isfinite(e))
      return false;
  return true;
}

/// One evaluated point on the search line.
struct Trial {
  double alpha = 0;
  double loss = 0;
  /// Directional derivative g(x + alpha d)'d.
  double slope = 0;
  std::vector<double> x;
  std::vector<double> gradient;
};

/// The minimizer of the cubic through (a, fa, da) and (b, fb, db), or the
/// midpoint when it does not exist; kept kBracketSafeguard inside [a, b].
double interpolate(const Trial &a, const Trial &b) {
  double lo = std::min(a.alpha, b.alpha), hi = std::max(a.alpha, b.alpha);
  double width = hi - lo;
  double d1 = a.slope + b.slope - 3 * (a.loss - b.loss) / (a.alpha - b.alpha);
  double radicand = d1 * d1 - a.slope * b.slope;
  double alpha = 0.5 * (lo + hi);
  if (radicand >= 0) {
    double d2 = std::copysign(std::sqrt(radicand), b.alpha - a.alpha);
    double candidate = b.alpha - (b.alpha - a.alpha) * (b.slope + d2 - d1) /
                                     (b.slope - a.slope + 2 * d2);
    if (std::isfinite(candidate))
      alpha = candidate;
  }
  return std::clamp(alpha, lo + kBracketSafeguard * width,
                    hi - kBracketSafeguard * width);
}

class LineSearch {
public:
  LineSearch(const Objective &objective, const LbfgsOptions &options,
             const std::vector<double> &x, double loss,
             const std::vector<double> &direction, double slope0,
             int &evaluations)
      : objective_(objective), options_(options), x_(x), loss0_(loss),
        direction_(direction), slope0_(slope0), evaluations_(evaluations) {}

  /// A point meeting the strong Wolfe conditions, or one with sufficient
  /// decrease when the evaluation budget runs out; false when neither.
  bool run(double alpha, Trial &accepted) {
    Trial previous;
    previous.alpha = 0;
    previous.loss = loss0_;
    previous.slope = slope0_;
    previous.x = x_;
    for (int i = 0; budgetLeft(); ++i) {
      Trial current = evaluate(alpha);
      // A non-finite point (overflowing logits) is treated as too far.
      if (!std::isfinite(current.loss) || !std::isfinite(current.slope) ||
          !sufficientDecrease(current) ||
          (i > 0 && current.loss >= previous.loss))
        return zoom(std::move(previous), std::move(current), accepted);
      if (std::abs(current.slope) <= -options_.wolfeC2 * slope0_) {
        accepted = std::move(current);
        return true;
      }
      if (current.slope >= 0)
        return zoom(std::move(current), std::move(previous), accepted);
      previous = std::move(current);
      alpha *= kExtrapolationFactor;
    }
    // Out of budget while still descending: the last point decreased enough.
    if (previous.alpha > 0) {
      accepted = std::move(previous);
      return true;
    }
    return false;
  }

private:
  bool budgetLeft() const { return used_ < options_.maxLineSearchEvaluations; }

  bool sufficientDecrease(const Trial &t) const {
    return t.loss <= loss0_ + options_.wolfeC1 * t.alpha * slope0_;
  }

  Trial evaluate(double alpha) {
    Trial t;
    t.alpha = alpha;
    t.x.resize(x_.size());
    for (size_t i = 0; i < x_.size(); ++i)
      t.x[i] = x_[i] + alpha * direction_[i];
    t.gradient.assign(x_.size(), 0.0);
    t.loss = objective_(t.x, t.gradient);
    t.slope = dot(t.gradient, direction_);
    ++used_;
    ++evaluations_;
    return t;
  }

  /// N&W Alg. 3.6: `lo` has sufficient decrease and the lowest loss so far;
  /// the minimum lies between lo and hi.
  bool zoom(Trial lo, Trial hi, Trial &accepted) {
    while (budgetLeft()) {
      double alpha;
      if (std::isfinite(hi.loss) && std::isfinite(hi.slope))
        alpha = interpolate(lo, hi);
      else
        alpha = 0.5 * (lo.alpha + hi.alpha);
      if (alpha == lo.alpha || alpha == hi.alpha)
        break; // The bracket is below double resolution.
      Trial current = evaluate(alpha);
      if (!std::isfinite(current.loss) || !std::isfinite(current.slope) ||
          !sufficientDecrease(current) || current.loss >= lo.loss) {
        hi = std::move(current);
        continue;
      }
      if (std::abs(current.slope) <= -options_.wolfeC2 * slope0_) {
        accepted = std::move(current);
        return true;
      }
      if (current.slope * (hi.alpha - lo.alpha) >= 0)
        hi = std::move(lo);
      lo = std::move(current);
    }
    if (lo.alpha > 0 && lo.loss < loss0_) {
      accepted = std::move(lo);
      return true;
    }
    return false;
  }

  const Objective &objective_;
  const LbfgsOptions &options_;
  const std::vector<double> &x_;
  double loss0_;
  const std::vector<double> &direction_;
  double slope0_;
  int &evaluations_;
  int used_ = 0;
};

} // namespace

const char *lbfgsStopName(LbfgsStop stop) {
  switch (stop) {
  case LbfgsStop::kGradientTolerance:
    return "gradient-tolerance";
  case LbfgsStop::kMaxIterations:
    return "max-iterations";
  case LbfgsStop::kNoProgress:
    return "no-progress";
  }
  return "unknown";
}

Expected<LbfgsResult> minimizeLbfgs(const Objective &objective,
                                    std::vector<double> x0,
                                    const LbfgsOptions &options) {
  if (options.memory < 1 || options.maxIterations < 0 ||
      options.maxLineSearchEvaluations < 1 ||
      !(options.wolfeC1 > 0 && options.wolfeC1 < options.wolfeC2 &&
        options.wolfeC2 < 1))
    return invalidArgument("L-BFGS: options out of range (memory >= 1, "
                           "0 < c1 < c2 < 1, positive budgets)");
  LbfgsResult result;
  result.x = std::move(x0);
  std::vector<double> gradient(result.x.size(), 0.0);
  result.loss = objective(result.x, gradient);
  result.evaluations = 1;
  if (!std::isfinite(result.loss) || !allFinite(gradient))
    return invalidArgument("L-BFGS: loss or gradient at the start is not "
                           "finite");

  std::deque<std::vector<double>> ss, ys;
  std::deque<double> rhos;
  std::vector<double> direction(result.x.size());
  std::vector<double> alphas;
  bool lastSearchFailed = false;
  result.stop = LbfgsStop::kMaxIterations;
  while (true) {
    result.gradientMaxNorm = maxAbs(gradient);
    if (result.gradientMaxNorm <= options.gradientTolerance) {
      result.stop = LbfgsStop::kGradientTolerance;
      break;
    }
    if (result.iterations >= options.maxIterations) {
      result.stop = LbfgsStop::kMaxIterations;
      break;
    }

    // 1. Two-loop recursion: direction = -H gradient.
    for (size_t i = 0; i < direction.size(); ++i)
      direction[i] = -gradient[i];
    alphas.assign(ss.size(), 0.0);
    for (size_t j = ss.size(); j-- > 0;) {
      alphas[j] = rhos[j] * dot(ss[j], direction);
      for (size_t i = 0; i < direction.size(); ++i)
        direction[i] -= alphas[j] * ys[j][i];
    }
    double initialStep = 1.0;
    if (!ss.empty()) {
      double gamma = dot(ss.back(), ys.back()) / dot(ys.back(), ys.back());
      for (double &d : direction)
        d *= gamma;
    } else {
      initialStep = 1.0 / result.gradientMaxNorm;
    }
    for (size_t j = 0; j < ss.size(); ++j) {
      double beta = rhos[j] * dot(ys[j], direction);
      for (size_t i = 0; i < direction.size(); ++i)
        direction[i] += ss[j][i] * (alphas[j] - beta);
    }
    double slope = dot(gradient, direction);
    if (!(slope < 0)) {
      // Rounding made H lose positive definiteness: restart from -g.
      ss.clear(), ys.clear(), rhos.clear();
      continue;
    }

    // 2. Line search.
    Trial step;
    LineSearch search(objective, options, result.x, result.loss, direction,
                      slope, result.evaluations);
    if (!search.run(initialStep, step)) {
      if (lastSearchFailed || ss.empty()) {
        result.stop = LbfgsStop::kNoProgress;
        break;
      }
      lastSearchFailed = true;
      ss.clear(), ys.clear(), rhos.clear();
      continue;
    }
    lastSearchFailed = false;
    ++result.iterations;

    // 3. Curvature pair.
    std::vector<double> s(result.x.size()), y(result.x.size());
    for (size_t i = 0; i < s.size(); ++i) {
      s[i] = step.x[i] - result.x[i];
      y[i] = step.gradient[i] - gradient[i];
    }
    double sy = dot(s, y);
    if (sy > kCurvatureEpsilon * std::sqrt(dot(s, s) * dot(y, y))) {
      ss.push_back(std::move(s));
      ys.push_back(std::move(y));
      rhos.push_back(1.0 / sy);
      if (static_cast<int>(ss.size()) > options.memory) {
        ss.pop_front(), ys.pop_front(), rhos.pop_front();
      }
    }

    // 4. Progress.
    double previousLoss = result.loss;
    result.x = std::move(step.x);
    gradient = std::move(step.gradient);
    result.loss = step.loss;
    if (std::abs(previousLoss - result.loss) <=
        options.lossTolerance *
            std::max(std::abs(previousLoss), std::abs(result.loss))) {
      result.gradientMaxNorm = maxAbs(gradient);
      result.stop = result.gradientMaxNorm <= options.gradientTolerance
                        ? LbfgsStop::kGradientTolerance
                        : LbfgsStop::kNoProgress;
      break;
    }
  }
  return result;
}

} // namespace simclr::eval
