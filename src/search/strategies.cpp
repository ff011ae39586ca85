// The search strategies (strategy.h): random search, regularized evolution (plain and guided by
// a learned predictor), TPE and REINFORCE.
#include <algorithm>
#include <cmath>
#include <deque>
#include <set>

#include "leancnn/core/error.h"
#include "leancnn/search/predictor.h"
#include "leancnn/search/strategy.h"

namespace leancnn::search {

namespace {

// Random search (Bergstra & Bengio 2012; Li & Talwalkar 2019: a strong NAS baseline). Repeats
// of an architecture already proposed are redrawn (a few times) so the budget buys new points.
class RandomSearch final : public Strategy {
 public:
  RandomSearch(const SearchSpace& space, const StrategyOptions& o) : space_(space), rng_(o.seed) {}
  std::string name() const override { return "random"; }
  Architecture propose() override {
    Architecture a = space_.sample(rng_);
    for (int tries = 0; tries < 32 && seen_.count(space_.canonical(a).choices); ++tries) a = space_.sample(rng_);
    seen_.insert(space_.canonical(a).choices);
    return a;
  }
  void observe(const Architecture&, double) override {}

 private:
  const SearchSpace& space_;
  Rng rng_;
  std::set<std::vector<int>> seen_;
};

// Regularized evolution's population (Real et al. 2019): members in the order they joined; the
// oldest leaves when it is full; a tournament of S random members names a parent.
class AgingPopulation {
 public:
  struct Member {
    Architecture arch;
    double score;
  };
  void add(const Architecture& a, double score, int capacity) {
    members_.push_back({a, score});
    while (static_cast<int>(members_.size()) > capacity) members_.pop_front();  // the oldest dies
  }
  const Architecture& tournament(Rng& rng, int sample_size) const {
    const Member* parent = nullptr;
    for (int i = 0; i < sample_size; ++i) {
      const Member& m = members_[static_cast<size_t>(rng.below(static_cast<int64_t>(members_.size())))];
      if (!parent || m.score > parent->score) parent = &m;
    }
    return parent->arch;
  }
  int size() const { return static_cast<int>(members_.size()); }
  bool empty() const { return members_.empty(); }

 private:
  std::deque<Member> members_;
};

// Regularized (aging) evolution, Real et al. 2019, Algorithm 1: a population of P random
// architectures; then each step samples S members, mutates the best of them, adds the child
// and removes the oldest member (not the worst: aging regularizes against lucky evaluations).
class Evolution final : public Strategy {
 public:
  Evolution(const SearchSpace& space, const StrategyOptions& o) : space_(space), o_(o), rng_(o.seed) {
    if (o.population < 2) fail(ErrorKind::usage, "evolution: population must be >= 2, got ", o.population);
    if (o.sample_size < 1 || o.sample_size > o.population)
      fail(ErrorKind::usage, "evolution: sample_size must be in [1, population], got ", o.sample_size);
  }
  std::string name() const override { return "evolution"; }
  Architecture propose() override {
    // Until P members exist (counting proposals still being evaluated), the population is random.
    if (population_.size() + pending_ < o_.population || population_.empty()) {
      ++pending_;
      return space_.sample(rng_);
    }
    ++pending_;
    return space_.mutate(population_.tournament(rng_, o_.sample_size), rng_, o_.mutations);
  }
  void observe(const Architecture& a, double score) override {
    pending_ = std::max(0, pending_ - 1);
    population_.add(a, score, o_.population);
  }

 private:
  const SearchSpace& space_;
  StrategyOptions o_;
  Rng rng_;
  AgingPopulation population_;
  int pending_ = 0;
};

int draw(Rng& rng, const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double u = static_cast<double>(rng.uniform()) * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    u -= weights[i];
    if (u < 0) return static_cast<int>(i);
  }
  return static_cast<int>(weights.size()) - 1;
}

// Tree-structured Parzen estimator (Bergstra et al. 2011) over categorical decisions: the
// observations split at the gamma quantile of the score into good and bad; each decision gets
// a smoothed histogram l(x) over the good ones and g(x) over the bad; candidates drawn from l
// are ranked by l(x)/g(x) (the expected-improvement maximiser under TPE's model).
class Tpe final : public Strategy {
 public:
  Tpe(const SearchSpace& space, const StrategyOptions& o) : space_(space), o_(o), rng_(o.seed) {
    if (o.tpe_gamma <= 0 || o.tpe_gamma >= 1) fail(ErrorKind::usage, "tpe: gamma must be in (0, 1), got ", o.tpe_gamma);
  }
  std::string name() const override { return "tpe"; }
  Architecture propose() override {
    Architecture a = propose_any();
    // A repeat would be a cache hit that still spends budget: when every candidate drawn was
    // seen already (l(x) has collapsed onto the best few), a random unseen one instead.
    for (int tries = 0; tries < 32 && seen_.count(space_.canonical(a).choices); ++tries) a = space_.sample(rng_);
    seen_.insert(space_.canonical(a).choices);
    return a;
  }
  void observe(const Architecture& a, double score) override {
    obs_.push_back({a, score});
    seen_.insert(space_.canonical(a).choices);
  }

 private:
  Architecture propose_any() {
    if (static_cast<int>(obs_.size()) < std::max(o_.tpe_startup, 2)) return space_.sample(rng_);
    std::vector<std::pair<double, const Architecture*>> sorted;
    for (const auto& [a, s] : obs_) sorted.push_back({s, &a});
    std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    const size_t n_good = std::max<size_t>(1, static_cast<size_t>(std::ceil(o_.tpe_gamma * static_cast<double>(sorted.size()))));
    const auto& ds = space_.decisions();
    std::vector<std::vector<double>> l(ds.size()), g(ds.size());
    for (size_t i = 0; i < ds.size(); ++i) {
      l[i].assign(ds[i].options.size(), o_.tpe_prior);
      g[i].assign(ds[i].options.size(), o_.tpe_prior);
    }
    for (size_t k = 0; k < sorted.size(); ++k)
      for (size_t i = 0; i < ds.size(); ++i)
        (k < n_good ? l : g)[i][static_cast<size_t>(sorted[k].second->choices[i])] += 1;
    auto normalise = [](std::vector<double>& v) {
      double t = 0;
      for (double x : v) t += x;
      for (double& x : v) x /= t;
    };
    for (size_t i = 0; i < ds.size(); ++i) normalise(l[i]), normalise(g[i]);
    // The candidate with the best l/g ratio among those not evaluated yet (any, when all were).
    Architecture best;
    double best_ratio = -1e300;
    bool best_seen = true;
    for (int c = 0; c < std::max(1, o_.tpe_candidates); ++c) {
      Architecture a{space_.name(), {}};
      double log_ratio = 0;
      for (size_t i = 0; i < ds.size(); ++i) {
        const int x = draw(rng_, l[i]);
        a.choices.push_back(x);
        log_ratio += std::log(l[i][static_cast<size_t>(x)]) - std::log(g[i][static_cast<size_t>(x)]);
      }
      const bool seen = seen_.count(space_.canonical(a).choices) > 0;
      if ((best_seen && !seen) || (seen == best_seen && log_ratio > best_ratio)) best_ratio = log_ratio, best = a, best_seen = seen;
    }
    return best;
  }

  const SearchSpace& space_;
  StrategyOptions o_;
  Rng rng_;
  std::vector<std::pair<Architecture, double>> obs_;
  std::set<std::vector<int>> seen_;  // canonical choices proposed or observed
};

// REINFORCE (Williams 1992) as the controller of Zoph & Le 2017, with one independent softmax
// per decision instead of an LSTM (the factorised policy ENAS's ablations and later work use
// for small spaces): logits += lr * A * (onehot(choice) - p), with A the reward minus its
// exponential moving average, over the rewards' running standard deviation.
class Reinforce final : public Strategy {
 public:
  Reinforce(const SearchSpace& space, const StrategyOptions& o) : space_(space), o_(o), rng_(o.seed) {
    for (const Decision& d : space.decisions()) logits_.emplace_back(d.options.size(), 0.0);
  }
  std::string name() const override { return "reinforce"; }
  Architecture propose() override {
    Architecture a{space_.name(), {}};
    for (const auto& l : logits_) a.choices.push_back(draw(rng_, softmax(l)));
    return a;
  }
  void observe(const Architecture& a, double reward) override {
    if (!has_baseline_) {
      baseline_ = reward;
      has_baseline_ = true;
    }
    // The advantage over the baseline, divided by the running standard deviation of the
    // rewards: architectures' accuracies differ by hundredths, which raw would barely move
    // the policy within a small budget.
    const double diff = reward - baseline_;
    const double advantage = variance_ > 0 ? diff / std::sqrt(variance_ + 1e-12) : 0.0;
    for (size_t i = 0; i < logits_.size(); ++i) {
      const std::vector<double> p = normalised(softmax(logits_[i]));
      for (size_t k = 0; k < p.size(); ++k)
        logits_[i][k] += o_.rl_lr * advantage * ((static_cast<int>(k) == a.choices[i] ? 1.0 : 0.0) - p[k]);
    }
    const double d = o_.rl_baseline_decay;
    variance_ = observed_ == 0 ? diff * diff : d * variance_ + (1 - d) * diff * diff;
    baseline_ = d * baseline_ + (1 - d) * reward;
    ++observed_;
  }
  static std::vector<double> normalised(std::vector<double> p) {
    double t = 0;
    for (double x : p) t += x;
    for (double& x : p) x /= t;
    return p;
  }
  static std::vector<double> softmax(const std::vector<double>& l) {
    const double m = *std::max_element(l.begin(), l.end());
    std::vector<double> p(l.size());
    for (size_t k = 0; k < l.size(); ++k) p[k] = std::exp(l[k] - m);
    return p;  // draw() normalises
  }

 private:
  const SearchSpace& space_;
  StrategyOptions o_;
  Rng rng_;
  std::vector<std::vector<double>> logits_;
  double baseline_ = 0, variance_ = 0;
  int64_t observed_ = 0;
  bool has_baseline_ = false;
};

// Regularized evolution guided by a learned predictor (predictor.h), in the manner of
// predictor-based NAS (Wen et al., "Neural Predictor for Neural Architecture Search", ECCV 2020;
// White et al., BANANAS, AAAI 2021): the tournament picks a parent as in Evolution, but instead
// of one random mutation, `predictor_candidates` mutations (and fresh samples while the
// population fills) are scored by the predictor, refitted on every observation, and the best
// not yet proposed is evaluated. Before `predictor_startup` observations it is plain evolution.
class PredictorEvolution final : public Strategy {
 public:
  PredictorEvolution(const SearchSpace& space, const StrategyOptions& o)
      : space_(space), o_(o), rng_(o.seed), predictor_(space, o.predictor_ridge) {
    if (o.population < 2) fail(ErrorKind::usage, "predictor: population must be >= 2, got ", o.population);
    if (o.sample_size < 1 || o.sample_size > o.population)
      fail(ErrorKind::usage, "predictor: sample_size must be in [1, population], got ", o.sample_size);
    if (o.predictor_candidates < 1) fail(ErrorKind::usage, "predictor: predictor_candidates must be >= 1");
  }
  std::string name() const override { return "predictor"; }
  Architecture propose() override {
    const bool filling = population_.size() + pending_ < o_.population || population_.empty();
    const bool guided = predictor_.size() >= o_.predictor_startup;
    auto candidate = [&]() {
      if (filling) return space_.sample(rng_);
      return space_.mutate(population_.tournament(rng_, o_.sample_size), rng_, o_.mutations);
    };
    Architecture best = candidate();
    if (guided) {
      double best_score = seen_.count(space_.canonical(best).choices) ? -1e300 : predictor_.predict(best);
      for (int k = 1; k < o_.predictor_candidates; ++k) {
        const Architecture c = candidate();
        if (seen_.count(space_.canonical(c).choices)) continue;
        const double s = predictor_.predict(c);
        if (s > best_score) best = c, best_score = s;
      }
    }
    seen_.insert(space_.canonical(best).choices);
    ++pending_;
    return best;
  }
  void observe(const Architecture& a, double score) override {
    pending_ = std::max(0, pending_ - 1);
    population_.add(a, score, o_.population);
    predictor_.add(a, score);
    predictor_.fit();
  }

 private:
  const SearchSpace& space_;
  StrategyOptions o_;
  Rng rng_;
  Predictor predictor_;
  AgingPopulation population_;
  std::set<std::vector<int>> seen_;
  int pending_ = 0;
};

}  // namespace

std::vector<std::string> strategy_names() { return {"random", "evolution", "tpe", "reinforce", "predictor"}; }

std::unique_ptr<Strategy> make_strategy(const std::string& name, const SearchSpace& space, const StrategyOptions& options) {
  if (name == "random") return std::make_unique<RandomSearch>(space, options);
  if (name == "evolution") return std::make_unique<Evolution>(space, options);
  if (name == "tpe" || name == "bo") return std::make_unique<Tpe>(space, options);
  if (name == "reinforce" || name == "rl") return std::make_unique<Reinforce>(space, options);
  if (name == "predictor") return std::make_unique<PredictorEvolution>(space, options);
  fail(ErrorKind::usage, "unknown search strategy '", name, "' (known: random, evolution, tpe, reinforce, predictor)");
}

}  // namespace leancnn::search
