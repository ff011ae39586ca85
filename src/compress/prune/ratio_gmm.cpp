// The Gaussian-mixture ratio rule (ratios.h): a zero-mean two-component scale mixture per
// layer, fitted by EM, and one scale factor that brings the shares to the target.
#include <algorithm>
#include <cmath>

#include "leancnn/compress/prune/ratios.h"
#include "leancnn/core/error.h"

namespace leancnn::compress::prune {

RatioRule parse_ratio_rule(const std::string& name) {
  if (name == "uniform") return RatioRule::uniform;
  if (name == "sensitivity") return RatioRule::sensitivity;
  if (name == "gmm") return RatioRule::gmm;
  fail(ErrorKind::usage, "ratio rule '", name, "' is not one of: uniform, sensitivity, gmm");
}

const char* ratio_rule_name(RatioRule r) {
  switch (r) {
    case RatioRule::uniform: return "uniform";
    case RatioRule::sensitivity: return "sensitivity";
    case RatioRule::gmm: return "gmm";
  }
  return "?";
}

namespace {
constexpr double kTwoPi = 6.283185307179586;

// log of pi N(x; 0, var) for x^2 = x2.
double log_weighted_normal(double pi, double var, double x2) { return std::log(pi) - 0.5 * std::log(kTwoPi * var) - 0.5 * x2 / var; }
}  // namespace

GmmSplit fit_gmm_split(const float* w, int64_t n, int max_iter) {
  GmmSplit s;
  if (n <= 0) return s;
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += static_cast<double>(w[i]) * w[i];
  var /= static_cast<double>(n);
  if (!(var > 0)) return s;  // an all-zero layer: nothing to split
  const double floor = var * 1e-12;
  double pi = 0.5, v1 = var / 4, v2 = 2 * var, prev = -INFINITY;
  for (s.iterations = 0; s.iterations < max_iter;) {
    ++s.iterations;
    double g_sum = 0, g_x2 = 0, h_x2 = 0, ll = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double x2 = static_cast<double>(w[i]) * w[i];
      const double a = log_weighted_normal(pi, v1, x2), b = log_weighted_normal(1 - pi, v2, x2);
      const double m = std::max(a, b), lse = m + std::log(std::exp(a - m) + std::exp(b - m));
      const double g = std::exp(a - lse);  // responsibility of the narrow component
      g_sum += g;
      g_x2 += g * x2;
      h_x2 += (1 - g) * x2;
      ll += lse;
    }
    const double nd = static_cast<double>(n);
    pi = std::clamp(g_sum / nd, 1e-6, 1 - 1e-6);
    v1 = std::max(floor, g_x2 / std::max(g_sum, 1e-300));
    v2 = std::max(floor, h_x2 / std::max(nd - g_sum, 1e-300));
    if (v1 > v2) std::swap(v1, v2), pi = 1 - pi;  // keep component 1 the narrow one
    if (ll - prev < 1e-9 * nd) break;
    prev = ll;
  }
  s.pi_small = pi;
  s.sigma_small = std::sqrt(v1);
  s.sigma_large = std::sqrt(v2);
  // pi N(t; v1) = (1 - pi) N(t; v2)  <=>  t^2 (1/v1 - 1/v2) / 2 = log(pi sqrt(v2) / ((1 - pi) sqrt(v1))).
  const double rhs = std::log(pi / (1 - pi)) + 0.5 * std::log(v2 / v1);
  const double k = 0.5 * (1 / v1 - 1 / v2);
  s.threshold = rhs > 0 && k > 0 ? std::sqrt(rhs / k) : 0.0;
  int64_t below = 0;
  for (int64_t i = 0; i < n; ++i) below += std::fabs(static_cast<double>(w[i])) < s.threshold;
  s.share = static_cast<double>(below) / static_cast<double>(n);
  return s;
}

GmmRatios gmm_ratios(const std::vector<WeightView>& weights, double target) {
  if (!(target >= 0 && target < 1)) fail(ErrorKind::usage, "sparsity ", target, " must be in [0, 1)");
  GmmRatios r;
  double total = 0, weighted_share = 0;
  for (const WeightView& v : weights) {
    r.layers.push_back(v.layer);
    r.splits.push_back(fit_gmm_split(v.value.data<float>(), v.value.numel()));
    total += static_cast<double>(v.value.numel());
    weighted_share += static_cast<double>(v.value.numel()) * r.splits.back().share;
  }
  const double cap = std::max(0.98, target);
  auto mean_at = [&](double scale) {
    double m = 0;
    for (size_t i = 0; i < weights.size(); ++i)
      m += static_cast<double>(weights[i].value.numel()) * std::min(cap, scale * r.splits[i].share);
    return total > 0 ? m / total : 0.0;
  };
  if (!(weighted_share > 0)) {  // no layer has a narrow component: the uniform fraction
    for (const std::string& l : r.layers) r.layer_sparsity[l] = target;
    return r;
  }
  // mean_at is non-decreasing in scale; bisect for mean_at(scale) = target.
  double lo = 0, hi = 1;
  while (mean_at(hi) < target && hi < 1e12) hi *= 2;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (mean_at(mid) < target ? lo : hi) = mid;
  }
  r.scale = hi;
  for (size_t i = 0; i < weights.size(); ++i) r.layer_sparsity[r.layers[i]] = std::min(cap, hi * r.splits[i].share);
  return r;
}

}  // namespace leancnn::compress::prune
