// The learned performance predictor (predictor.h): ridge regression on one-hot encodings.
#include "leancnn/search/predictor.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "leancnn/core/error.h"

namespace leancnn::search {

Predictor::Predictor(const SearchSpace& space, double ridge) : space_(space), ridge_(ridge) {
  if (!(ridge > 0)) fail(ErrorKind::usage, "predictor: ridge must be > 0, got ", ridge);
  for (const Decision& d : space.decisions()) {
    offset_.push_back(dims_);
    dims_ += static_cast<int64_t>(d.options.size());
  }
  ++dims_;  // bias
}

std::vector<double> Predictor::features(const Architecture& a) const {
  const Architecture c = space_.canonical(a);
  std::vector<double> f(static_cast<size_t>(dims_), 0.0);
  for (size_t i = 0; i < c.choices.size(); ++i) f[static_cast<size_t>(offset_[i] + c.choices[i])] = 1.0;
  f.back() = 1.0;
  return f;
}

void Predictor::add(const Architecture& a, double score) {
  space_.validate(a);
  x_.push_back(features(a));
  scores_.push_back(score);
}

void Predictor::fit() {
  if (scores_.empty()) return;
  const Eigen::Index n = static_cast<Eigen::Index>(scores_.size()), d = static_cast<Eigen::Index>(dims_);
  Eigen::MatrixXd x(n, d);
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) x(i, j) = x_[static_cast<size_t>(i)][static_cast<size_t>(j)];
    y(i) = scores_[static_cast<size_t>(i)];
  }
  Eigen::MatrixXd a = x.transpose() * x;
  for (Eigen::Index j = 0; j + 1 < d; ++j) a(j, j) += ridge_;  // the bias is not penalised
  a(d - 1, d - 1) += 1e-9;
  const Eigen::VectorXd w = a.ldlt().solve(x.transpose() * y);
  w_.assign(w.data(), w.data() + d);
}

double Predictor::predict(const Architecture& a) const {
  if (w_.empty()) return scores_.empty() ? 0.0 : std::accumulate(scores_.begin(), scores_.end(), 0.0) / static_cast<double>(scores_.size());
  const std::vector<double> f = features(a);
  double s = 0;
  for (size_t j = 0; j < f.size(); ++j) s += f[j] * w_[j];
  return s;
}

namespace {
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t k = i;
    while (k + 1 < order.size() && v[order[k + 1]] == v[order[i]]) ++k;
    for (size_t m = i; m <= k; ++m) r[order[m]] = 0.5 * static_cast<double>(i + k);
    i = k + 1;
  }
  return r;
}
}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) fail(ErrorKind::usage, "spearman: two samples of equal size >= 2");
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

}  // namespace leancnn::search
