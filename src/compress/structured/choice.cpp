// Which units go under a budget (choice.h).
#include "choice.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "leancnn/compress/common/budget.h"
#include "leancnn/compress/common/latency.h"
#include "leancnn/compress/common/sensitivity.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/benchmark.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::compress::structured {


double cost(const ir::Graph& g, TargetKind t) {
  if (t == TargetKind::latency) return measured_latency_ms(g);
  const ir::Summary s = ir::summarize(g, ops::op_table());
  return static_cast<double>(t == TargetKind::flops ? s.macs : s.params);
}

// Groups the Spec leaves whole: not removable, or an excluded layer's output group.
std::vector<bool> frozen_groups(const ChannelGraph& cg, const Spec& spec) {
  std::vector<bool> frozen(cg.groups.size(), false);
  for (size_t i = 0; i < cg.groups.size(); ++i) {
    frozen[i] = !cg.groups[i].removable || cg.groups[i].units.size() < 2;
    for (const std::string& layer : spec.exclude)
      for (const std::string& s : cg.groups[i].sources) frozen[i] = frozen[i] || s == layer;
  }
  return frozen;
}

// floor(ratio * units), each group keeping one; with round_to > 1 the kept count is rounded up to
// a multiple of round_to (SIMD kernels run whole vectors of channels) where the group has more.
int64_t removed_count(size_t units, double ratio, int64_t round_to) {
  const int64_t n = static_cast<int64_t>(units);
  int64_t k = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ratio * static_cast<double>(n) + 1e-9)), 0, n - 1);
  if (round_to > 1 && n > round_to) k = n - std::min(n, (n - k + round_to - 1) / round_to * round_to);
  return k;
}

// The units to remove at `ratio`: per unfrozen group, its lowest-scoring ones.
std::set<int> choose(const ChannelGraph& cg, const std::vector<bool>& frozen, const std::vector<double>& scores, double ratio,
                     int64_t round_to) {
  std::vector<int64_t> counts(cg.groups.size(), 0);
  for (size_t i = 0; i < cg.groups.size(); ++i)
    if (!frozen[i]) counts[i] = removed_count(cg.groups[i].units.size(), ratio, round_to);
  return choose_counts(cg, scores, counts);
}

std::set<int> choose_counts(const ChannelGraph& cg, const std::vector<double>& scores, const std::vector<int64_t>& counts) {
  std::set<int> out;
  for (size_t i = 0; i < cg.groups.size(); ++i) {
    if (counts[i] <= 0) continue;
    std::vector<int> units = cg.groups[i].units;
    std::stable_sort(units.begin(), units.end(), [&](int a, int b) { return scores[a] < scores[b]; });
    out.insert(units.begin(), units.begin() + std::min<int64_t>(counts[i], static_cast<int64_t>(units.size())));
  }
  return out;
}

// The least uniform ratio whose pruned model costs at most `budget`. The cost changes only where
// some group's count floor(ratio * units) steps, at ratios k / units; those are searched by
// bisection (the cost falls as the ratio grows). Which units go does not change the cost, so the
// first ones stand in.
RatioChoice solve_ratio(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen, const Spec& spec,
                        double budget) {
  const std::vector<double> flat(cg.units.size(), 0.0);
  const double max_ratio = spec.max_ratio;
  const auto cost_at = [&](double r) {
    return cost(remove_units(g, cg, choose(cg, frozen, flat, r, spec.round_to)), spec.target_kind);
  };
  std::vector<double> steps;
  for (size_t i = 0; i < cg.groups.size(); ++i) {
    if (frozen[i]) continue;
    const size_t n = cg.groups[i].units.size();
    for (size_t k = 1; k < n; ++k) {
      const double r = static_cast<double>(k) / static_cast<double>(n);
      if (r <= max_ratio) steps.push_back(r);
    }
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  steps.push_back(max_ratio);
  RatioChoice best{max_ratio, cost_at(max_ratio), false};
  if (best.cost > budget) return best;
  best.met = true;
  size_t lo = 0, hi = steps.size() - 1;  // steps[hi] meets the budget
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const double c = cost_at(steps[mid]);
    if (c <= budget) {
      hi = mid;
      best = {steps[mid], c, true};
    } else {
      lo = mid + 1;
    }
  }
  return best;
}

RoundedChoice solve_rounded(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen, const Spec& spec,
                            double ratio, double budget) {
  const std::vector<double> flat(cg.units.size(), 0.0);
  const size_t n = cg.groups.size();
  std::vector<int64_t> cap(n, 0);  // the most each group may lose: what the uniform `ratio` removes
  for (size_t i = 0; i < n; ++i)
    if (!frozen[i]) cap[i] = removed_count(cg.groups[i].units.size(), ratio, spec.round_to);
  // The start: per group, the largest count below its cap that some uniform ratio gives (each
  // group one step short of what `ratio` removes).
  RoundedChoice rc;
  rc.counts.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t units = static_cast<int64_t>(cg.groups[i].units.size());
    for (int64_t k = 1; k < units && !frozen[i]; ++k) {
      const int64_t c = removed_count(cg.groups[i].units.size(), static_cast<double>(k) / static_cast<double>(units),
                                      spec.round_to);
      if (c < cap[i]) rc.counts[i] = std::max(rc.counts[i], c);
    }
  }
  const auto cost_of = [&](const std::vector<int64_t>& counts) {
    return cost(remove_units(g, cg, choose_counts(cg, flat, counts)), spec.target_kind);
  };
  rc.cost = cost_of(rc.counts);
  while (rc.cost > budget) {
    // The next step of each group (round_to units, or to its cap), the most-kept group first.
    size_t best = n;
    double best_kept = -1, best_cost = 0;
    std::vector<int64_t> next;
    for (size_t i = 0; i < n; ++i) {
      if (frozen[i] || rc.counts[i] >= cap[i]) continue;
      const double units = static_cast<double>(cg.groups[i].units.size());
      const double kept = (units - static_cast<double>(rc.counts[i])) / units;
      if (kept < best_kept - 1e-12) continue;
      std::vector<int64_t> trial = rc.counts;
      trial[i] = std::min(cap[i], rc.counts[i] + std::max<int64_t>(1, spec.round_to));
      const double c = cost_of(trial);
      if (kept > best_kept + 1e-12 || c < best_cost) {
        best = i, best_kept = kept, best_cost = c;
        next = std::move(trial);
      }
    }
    if (best == n) break;  // every group at its cap
    rc.counts = std::move(next);
    rc.cost = best_cost;
  }
  rc.met = rc.cost <= budget;
  return rc;
}

RoundedChoice solve_latency_adapt(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen,
                                  const Spec& spec, double budget) {
  const std::vector<double> flat(cg.units.size(), 0.0);
  const size_t n = cg.groups.size();
  std::vector<int64_t> cap(n, 0), step(n, 1);
  for (size_t i = 0; i < n; ++i) {
    if (frozen[i]) continue;
    const int64_t units = static_cast<int64_t>(cg.groups[i].units.size());
    cap[i] = removed_count(cg.groups[i].units.size(), spec.max_ratio, spec.round_to);
    step[i] = spec.round_to > 1 ? spec.round_to : std::max<int64_t>(1, units / 8);
  }
  const auto pruned = [&](const std::vector<int64_t>& counts) { return remove_units(g, cg, choose_counts(cg, flat, counts)); };
  // Each step is scored by the latency it removes per unit it removes of the target, or, for a
  // latency target (latency per latency: 1 for every step), per MAC removed.
  const bool latency_target = spec.target_kind == TargetKind::latency;
  const auto per = [&](const ir::Graph& m) { return cost(m, latency_target ? TargetKind::flops : spec.target_kind); };
  RoundedChoice rc;
  rc.counts.assign(n, 0);
  double lat = measured_latency_ms(g), denom = per(g);
  rc.cost = latency_target ? lat : denom;
  int round = 0;
  while (rc.cost > budget) {
    size_t best = n;
    double best_score = -1e300, best_cost = 0, best_lat = 0, best_denom = 0;
    for (size_t i = 0; i < n; ++i) {
      if (frozen[i] || rc.counts[i] >= cap[i]) continue;
      std::vector<int64_t> trial = rc.counts;
      trial[i] = std::min(cap[i], trial[i] + step[i]);
      const ir::Graph t = pruned(trial);
      const double d = per(t);
      if (d >= denom) continue;  // the step saves nothing
      const double l = measured_latency_ms(t);
      const double score = (lat - l) / (denom - d);
      if (score > best_score) best = i, best_score = score, best_lat = l, best_denom = d, best_cost = latency_target ? l : d;
    }
    if (best == n) break;  // every group at its cap
    rc.counts[best] = std::min(cap[best], rc.counts[best] + step[best]);
    rc.cost = best_cost;
    lat = best_lat;
    denom = best_denom;
    if (spec.log) {
      char line[256];
      std::snprintf(line, sizeof line, "prune: latency step %d: %s loses %lld (now %lld of %zu), latency %.4f ms", ++round,
                    cg.groups[best].name.c_str(), static_cast<long long>(step[best]),
                    static_cast<long long>(rc.counts[best]), cg.groups[best].units.size(), lat);
      spec.log(line);
    }
  }
  rc.met = rc.cost <= budget;
  return rc;
}

namespace {

// `frozen` with every group but `keep` frozen too.
std::vector<bool> only_group(const std::vector<bool>& frozen, size_t keep) {
  std::vector<bool> f(frozen.size(), true);
  f[keep] = frozen[keep];
  return f;
}

}  // namespace

SensitivityChoice solve_sensitivity(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen,
                                    const std::vector<double>& scores, const Spec& spec, double budget,
                                    const train::Dataset& train_set) {
  const SensitivitySplit split = split_for_sensitivity(train_set, spec.sensitivity);
  const double base = held_out_accuracy(g, split.held_out);
  const double dense = cost(g, spec.target_kind);
  // Per unfrozen group, the ratios k/8 up to max_ratio that remove a different number of units,
  // each probed alone: its cost is the whole model's with only that group pruned.
  std::vector<LayerOptions> options;
  std::vector<size_t> group_of;
  std::vector<std::vector<double>> ratio_of;
  size_t probes = 0, done = 0;
  for (size_t i = 0; i < cg.groups.size(); ++i)
    if (!frozen[i]) probes += static_cast<size_t>(std::floor(spec.max_ratio * 8 + 1e-9));
  for (size_t i = 0; i < cg.groups.size(); ++i) {
    if (frozen[i]) continue;
    LayerOptions lo;
    lo.layer = cg.groups[i].name;
    lo.options.push_back({"ratio 0", dense, 0.0});
    std::vector<double> ratios{0.0};
    int64_t last = 0;
    for (int k = 1; k <= 8 && k / 8.0 <= spec.max_ratio + 1e-9; ++k) {
      const double r = k / 8.0;
      ++done;
      const int64_t n = removed_count(cg.groups[i].units.size(), r, spec.round_to);
      if (n == last) continue;
      last = n;
      const ir::Graph probe = remove_units(g, cg, choose(cg, only_group(frozen, i), scores, r, spec.round_to));
      const double acc = held_out_accuracy(probe, split.held_out);
      char label[32];
      std::snprintf(label, sizeof label, "ratio %.3f", r);
      lo.options.push_back({label, cost(probe, spec.target_kind), base - acc});
      ratios.push_back(r);
      if (spec.log) {
        char line[256];
        std::snprintf(line, sizeof line, "prune: sensitivity [%zu/%zu] %s at ratio %.3f: accuracy %.4f (drop %.2f points)", done,
                      probes, lo.layer.c_str(), r, acc, 100 * (base - acc));
        spec.log(line);
      }
    }
    options.push_back(std::move(lo));
    group_of.push_back(i);
    ratio_of.push_back(std::move(ratios));
  }
  SensitivityChoice out;
  out.ratios.assign(cg.groups.size(), 0.0);
  if (options.empty()) return out;
  // The options' costs are whole-model costs with one group changed: summed over the groups they
  // count the dense cost (n - 1) times too much. The savings of two neighbouring groups overlap
  // (a conv between them loses rows and columns), so the sum overstates what a choice saves;
  // the real cost is measured and the budget tightened by the excess until it is met.
  const double n = static_cast<double>(options.size());
  double target = budget;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const BudgetChoice bc = solve_budget(options, (n - 1) * dense + target);
    std::set<int> removed;
    for (size_t j = 0; j < options.size(); ++j) {
      const double r = ratio_of[j][static_cast<size_t>(bc.option[j])];
      out.ratios[group_of[j]] = r;
      if (r <= 0) continue;
      const std::set<int> part = choose(cg, only_group(frozen, group_of[j]), scores, r, spec.round_to);
      removed.insert(part.begin(), part.end());
    }
    out.removed = removed;
    out.cost = cost(remove_units(g, cg, removed), spec.target_kind);
    out.predicted_drop = bc.predicted_drop;
    out.met = out.cost <= budget;
    if (out.met || !bc.met) break;
    target -= out.cost - budget;
    if (target <= 0) break;
  }
  return out;
}

}  // namespace leancnn::compress::structured
