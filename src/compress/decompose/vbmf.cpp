// Analytic empirical VBMF (vbmf.h), after Nakajima et al. (JMLR 2013): with L <= M the sides of
// the matrix, alpha = L / M and tau_bar = 2.5129 sqrt(alpha), a singular value survives when
// s > sqrt(M sigma2 (1 + tau_bar)(1 + alpha / tau_bar)); sigma2 minimises the free energy
//   sum_{x_h <= x_bar} (x_h - log x_h) + sum_{x_h > x_bar} (x_h - tau(x_h) + log((tau + 1) / x_h)
//   + alpha log(tau / alpha + 1)),   x_h = s_h^2 / (M sigma2),
// over [max(s_{h_bar}^2 / (M x_bar), mean_{h >= h_bar} s_h^2 / M), sum s^2 / (L M)].
#include "leancnn/compress/decompose/vbmf.h"

#include <algorithm>
#include <cmath>

#include "leancnn/core/error.h"

namespace leancnn::compress::decompose {

namespace {
double tau_of(double x, double alpha) {
  const double a = x - (1 + alpha);
  return 0.5 * (a + std::sqrt(std::max(0.0, a * a - 4 * alpha)));
}

double free_energy(double sigma2, const std::vector<double>& s2, double m, double alpha, double x_bar) {
  double obj = 0;
  for (double v : s2) {
    const double x = v / (m * sigma2);
    if (x <= x_bar) {
      obj += x - std::log(x);
    } else {
      const double t = tau_of(x, alpha);
      obj += x - t + std::log((t + 1) / x) + alpha * std::log(t / alpha + 1);
    }
  }
  return obj;
}
}  // namespace

VbmfResult evbmf(const std::vector<double>& s_in, int64_t rows, int64_t cols) {
  if (rows < 1 || cols < 1) fail(ErrorKind::usage, "VBMF of a ", rows, " x ", cols, " matrix");
  const double l = static_cast<double>(std::min(rows, cols)), m = static_cast<double>(std::max(rows, cols));
  if (s_in.empty()) fail(ErrorKind::usage, "VBMF needs the singular values");
  std::vector<double> s2;
  double top = 0;
  for (double v : s_in) top = std::max(top, v * v);
  VbmfResult r;
  if (top == 0) return r;
  // Exact zeros (rank-deficient matrices) would make log(x) infinite at every sigma2: a floor
  // far below any signal keeps them as "noise" without dominating the free energy.
  for (double v : s_in) s2.push_back(std::max(v * v, 1e-24 * top));
  const double alpha = l / m, tau_bar = 2.5129 * std::sqrt(alpha);
  const double x_bar = (1 + tau_bar) * (1 + alpha / tau_bar);
  const size_t h = s2.size();
  // h_bar: the largest rank that can survive; the lower bound comes from the values beyond it.
  const int64_t eh_ub = std::min<int64_t>(static_cast<int64_t>(std::ceil(l / (1 + alpha))) - 1, static_cast<int64_t>(h)) - 1;
  const size_t from = static_cast<size_t>(std::clamp<int64_t>(eh_ub + 1, 0, static_cast<int64_t>(h) - 1));
  double total = 0, tail = 0;
  for (size_t i = 0; i < h; ++i) total += s2[i], tail += i >= from ? s2[i] : 0;
  const double upper = total / (l * m);
  double lower = std::max(s2[from] / (m * x_bar), tail / static_cast<double>(h - from) / m);
  lower = std::min(lower, upper);
  double sigma2 = upper;
  if (lower < upper) {
    // A scan on log sigma2 (the free energy need not be unimodal), then golden-section search
    // around the best point.
    const int steps = 200;
    const double la = std::log(lower), lb = std::log(upper);
    int best = 0;
    double best_f = 0;
    for (int i = 0; i <= steps; ++i) {
      const double f = free_energy(std::exp(la + (lb - la) * i / steps), s2, m, alpha, x_bar);
      if (i == 0 || f < best_f) best = i, best_f = f;
    }
    double a = la + (lb - la) * std::max(0, best - 1) / steps, b = la + (lb - la) * std::min(steps, best + 1) / steps;
    const double g = (std::sqrt(5.0) - 1) / 2;
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = free_energy(std::exp(c), s2, m, alpha, x_bar), fd = free_energy(std::exp(d), s2, m, alpha, x_bar);
    for (int it = 0; it < 100; ++it) {
      if (fc < fd) {
        b = d, d = c, fd = fc;
        c = b - g * (b - a);
        fc = free_energy(std::exp(c), s2, m, alpha, x_bar);
      } else {
        a = c, c = d, fc = fd;
        d = a + g * (b - a);
        fd = free_energy(std::exp(d), s2, m, alpha, x_bar);
      }
    }
    sigma2 = std::exp((a + b) / 2);
  }
  r.sigma2 = sigma2;
  r.threshold = std::sqrt(m * sigma2 * (1 + tau_bar) * (1 + alpha / tau_bar));
  for (double v : s_in) r.rank += v > r.threshold ? 1 : 0;
  return r;
}

int64_t vbmf_rank(const std::vector<double>& s, int64_t rows, int64_t cols) {
  return std::max<int64_t>(1, evbmf(s, rows, cols).rank);
}

}  // namespace leancnn::compress::decompose
