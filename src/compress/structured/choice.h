// Private to compress/structured: which units go under a budget. The cost of a model in the
// target's unit (MACs, parameters or measured batch-1 latency), the groups the Spec leaves whole,
// the uniform ratio that meets a budget and the per-group ratios chosen by sensitivity.
#pragma once
#include <cstdint>
#include <set>
#include <vector>

#include "leancnn/compress/structured/groups.h"
#include "leancnn/compress/structured/structured.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::structured {

// MACs, parameters or measured latency (ms, compress/common/latency.h) of a shape-inferred graph.
double cost(const ir::Graph& g, TargetKind t);

// Groups the Spec leaves whole: not removable, or an excluded layer's output group.
std::vector<bool> frozen_groups(const ChannelGraph& cg, const Spec& spec);

// floor(ratio * units), each group keeping one; with round_to > 1 the kept count is rounded up to
// a multiple of round_to (SIMD kernels run whole vectors of channels) where the group has more.
int64_t removed_count(size_t units, double ratio, int64_t round_to);

// The units to remove at `ratio`: per unfrozen group, its lowest-scoring ones.
std::set<int> choose(const ChannelGraph& cg, const std::vector<bool>& frozen, const std::vector<double>& scores, double ratio,
                     int64_t round_to);

struct RatioChoice {
  double ratio = 0, cost = 0;
  bool met = false;
};

// The least uniform ratio whose pruned model costs at most `budget` (bisection over the ratios
// where some group's count steps).
RatioChoice solve_ratio(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen, const Spec& spec,
                        double budget);

// The units to remove with `counts[i]` units of group i (0 for frozen ones): its lowest-scoring.
std::set<int> choose_counts(const ChannelGraph& cg, const std::vector<double>& scores, const std::vector<int64_t>& counts);

struct RoundedChoice {
  std::vector<int64_t> counts;  // units removed per group
  double cost = 0;
  bool met = false;
};

// With round_to > 1 a uniform ratio moves in coarse steps (16 channels keep 16 or 8), so the
// least ratio that meets a budget can overshoot it by far (ResNet-20 at half its MACs and
// round_to 8: 75 % removed). This starts each group one step short of what `ratio` removes and
// removes round_to more units at a time from the group that keeps the largest
// fraction of its units (ties: the one whose step saves most), measuring the cost each time,
// until the budget is met; the result never removes more than the uniform `ratio` would.
RoundedChoice solve_rounded(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen, const Spec& spec,
                            double ratio, double budget);

// NetAdapt's rule (Yang et al., ECCV 2018: "NetAdapt: Platform-Aware Neural Network Adaptation
// for Mobile Applications"), on this CPU: from the dense model, every unfrozen group is tried
// with one step more removed (round_to channels, or an eighth of the group when round_to is 1),
// each trial's batch-1 latency measured (the plan compiled, median of repeated runs); the step
// that removes the most latency per unit of the target's cost saved (per MAC for a latency
// target) is taken, until the budget is met. So the cut lands where the kernels turn it into time.
RoundedChoice solve_latency_adapt(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen,
                                  const Spec& spec, double budget);

struct SensitivityChoice {
  std::set<int> removed;       // the units to remove
  std::vector<double> ratios;  // per group (0 for frozen ones)
  double cost = 0;             // of the pruned model
  double predicted_drop = 0;   // sum of the chosen probes' drops
  bool met = false;
};

// Per-group ratios by sensitivity (compress/common/sensitivity.h's protocol on held-out training
// images): every unfrozen group is probed alone at ratios k/8 up to max_ratio (the criterion's
// lowest units removed), and compress/common's budget solver picks one ratio per group, the
// least accuracy lost per unit of cost saved first, until the pruned model costs at most `budget`.
SensitivityChoice solve_sensitivity(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen,
                                    const std::vector<double>& scores, const Spec& spec, double budget,
                                    const train::Dataset& train_set);

}  // namespace leancnn::compress::structured
