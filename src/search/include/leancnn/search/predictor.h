// A learned performance predictor (docs/nas.md §3): ridge regression from an architecture's
// canonical one-hot encoding (one feature per decision option that reaches the network, plus a
// bias) to its score, fitted in closed form on the architectures evaluated so far. Linear models
// on one-hot encodings rank NAS candidates about as well as GCN or MLP predictors at a few
// hundred samples (White, Zela, Ru, Liu, Hutter, "How Powerful are Performance Predictors in
// Neural Architecture Search?", NeurIPS 2021), and fit in microseconds, so the search can ask
// it about many candidates per evaluation it pays for.
#pragma once
#include <cstdint>
#include <vector>

#include "leancnn/search/space.h"

namespace leancnn::search {

class Predictor {
 public:
  // `ridge`: the L2 penalty on every weight but the bias (> 0 keeps the fit well posed with
  // fewer samples than features).
  explicit Predictor(const SearchSpace& space, double ridge = 1.0);
  void add(const Architecture& a, double score);
  int64_t size() const { return static_cast<int64_t>(scores_.size()); }
  // Refits on every sample added so far; no-op without samples.
  void fit();
  // The fitted model's score for `a` (the mean score before any fit).
  double predict(const Architecture& a) const;
  // The one-hot features of a (canonical) architecture; the last entry is the bias (1).
  std::vector<double> features(const Architecture& a) const;

 private:
  const SearchSpace& space_;
  double ridge_;
  std::vector<int64_t> offset_;  // per decision: its first feature
  int64_t dims_ = 0;
  std::vector<std::vector<double>> x_;
  std::vector<double> scores_;
  std::vector<double> w_;
};

// Spearman's rank correlation of two equally long samples (ties ranked by their mean rank).
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace leancnn::search
