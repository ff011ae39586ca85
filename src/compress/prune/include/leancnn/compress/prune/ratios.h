// Per-layer pruning fractions chosen automatically (docs/pruning.md):
//  - sensitivity: compress/common's protocol (held-out training images) probes each layer alone
//    at a few fractions (magnitude, no fine-tuning), and compress/common's budget solver picks
//    one fraction per layer so that the model meets a target of overall sparsity, parameters or
//    MACs with the least summed accuracy drop;
//  - gmm: a learned rule (Lee & Hwang, "Layer-wise network compression using Gaussian mixture
//    model", Electronics 2021): a two-component zero-mean Gaussian mixture fitted by EM to each
//    layer's weights; the fraction of weights the narrow component explains (|w| below the point
//    where the two weighted densities cross) is the layer's share of small weights, and every
//    layer's share is scaled by one factor so that the weight-weighted mean is the target.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "leancnn/compress/common/sensitivity.h"
#include "leancnn/compress/prune/mask.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::prune {

enum class RatioRule { uniform, sensitivity, gmm };
// "uniform" | "sensitivity" | "gmm"; Error(usage) otherwise.
RatioRule parse_ratio_rule(const std::string& name);
const char* ratio_rule_name(RatioRule r);

// What the overall target removes a fraction of: the pruned layers' weights (sparsity), every
// parameter of the model (params: biases, BN and dense layers are a fixed cost), or the model's
// MACs with zero weights skipped (macs: a layer's MACs scale with its density).
enum class BudgetTarget { sparsity, params, macs };
BudgetTarget parse_budget_target(const std::string& name);  // Error(usage) on an unknown name
const char* budget_target_name(BudgetTarget t);

// A layer the rules choose a fraction for.
struct RatioLayer {
  std::string layer, weight;  // node and initializer names
  int64_t weights = 0, macs = 0;
};

struct RatioProbe {
  std::string layer;
  int64_t weights = 0, macs = 0;
  std::vector<double> ratios;  // probed fractions, ascending
  std::vector<double> drops;   // held-out accuracy drop with this layer alone at each fraction
  double chosen = 0;           // the solver's fraction for this layer
};

struct SensitivityRatios {
  BudgetTarget target = BudgetTarget::sparsity;
  double fraction = 0;         // of the target's quantity to remove
  int64_t images = 0;          // held-out images
  double baseline_acc = 0;     // the unpruned model on them
  std::vector<RatioProbe> layers;
  double budget = 0, cost = 0, start_cost = 0, least_cost = 0;  // in the target's unit (weights or MACs)
  double predicted_drop = 0;
  bool met = false;
  std::map<std::string, double> layer_sparsity;  // the choice, every layer listed
};

struct SensitivityRatioOptions {
  BudgetTarget target = BudgetTarget::sparsity;
  double fraction = 0.5;                        // in [0, 1)
  std::vector<double> probe_ratios = {0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98};  // each in (0, 1)
  SensitivityProtocol protocol;
  std::function<void(const std::string&)> log;
};

// `g` is the model to prune; `layers` the ones pruned (the others stay dense: a fixed cost for
// params and macs). Error(usage) on bad options.
SensitivityRatios sensitivity_ratios(const ir::Graph& g, const std::vector<RatioLayer>& layers,
                                     const train::Dataset& train_set, const SensitivityRatioOptions& options);

// One layer's mixture fit: p(w) = pi N(w; 0, s1^2) + (1 - pi) N(w; 0, s2^2), s1 <= s2.
struct GmmSplit {
  double pi_small = 0, sigma_small = 0, sigma_large = 0;
  double threshold = 0;   // |w| below it: the narrow component is the likelier one
  double share = 0;       // fraction of the layer's weights below the threshold
  int iterations = 0;
};

// EM from a deterministic start (s1^2 = var / 4, s2^2 = 2 var, pi = 1/2) until the
// log-likelihood gains less than 1e-9 per weight, at most max_iter steps.
GmmSplit fit_gmm_split(const float* w, int64_t n, int max_iter = 200);

struct GmmRatios {
  std::vector<std::string> layers;
  std::vector<GmmSplit> splits;
  double scale = 0;                              // the factor on every share
  std::map<std::string, double> layer_sparsity;  // min(cap, scale x share), cap = max(0.98, target)
};

// Error(usage) when target is outside [0, 1). Layers whose shares are all zero fall back to
// the uniform fraction.
GmmRatios gmm_ratios(const std::vector<WeightView>& weights, double target);

}  // namespace leancnn::compress::prune
