// Search strategies (docs/nas.md §2): each proposes architectures of one space and learns from
// their scores (higher is better; objective.h turns an evaluation into a score). Proposals and
// observations need not alternate: a strategy may be asked for several proposals before their
// scores come back (workers evaluating in parallel), and observes them in any order.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "leancnn/core/rng.h"
#include "leancnn/search/space.h"

namespace leancnn::search {

struct StrategyOptions {
  uint64_t seed = 0;
  // Regularized evolution (Real et al. 2019).
  int population = 16;   // P: the population (the oldest dies when a child joins)
  int sample_size = 4;   // S: tournament size
  int mutations = 1;     // decisions changed per child
  // TPE (Bergstra et al. 2011).
  int tpe_startup = 8;       // random proposals before the model is used
  double tpe_gamma = 0.25;   // share of the observations that are "good"
  int tpe_candidates = 32;   // draws from l(x), the best l/g ratio wins
  double tpe_prior = 1.0;    // pseudo-count per option
  // REINFORCE (Williams 1992; Zoph & Le 2017), a factorised softmax policy.
  double rl_lr = 0.1;
  double rl_baseline_decay = 0.9;  // moving average (and variance) of the reward
  // Predictor-guided evolution (predictor.h): each child is the best of `predictor_candidates`
  // mutations by the predictor's score, once `predictor_startup` scores are in.
  int predictor_candidates = 32;
  int predictor_startup = 16;
  double predictor_ridge = 1.0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  virtual Architecture propose() = 0;
  // The score of an architecture this strategy proposed (or any other of its space).
  virtual void observe(const Architecture& a, double score) = 0;
};

// "random", "evolution", "tpe", "reinforce", "predictor"; error(usage) listing them for anything else.
// The space must outlive the strategy.
std::unique_ptr<Strategy> make_strategy(const std::string& name, const SearchSpace& space, const StrategyOptions& options);
std::vector<std::string> strategy_names();

}  // namespace leancnn::search
