// The decomposition family's one entry point (docs/decomposition.md): a Spec (what `leancnn
// decompose`'s flags and the recipe's decompose step both translate into), run(graph, data,
// spec), and a Report. Every Conv layer the conv method applies to (and, with `fc`, every Gemm
// by the fc method: truncated SVD, Tensor-Train or Tensor-Ring) is replaced by its low-rank
// chain of standard ONNX ops (methods.h), at ranks chosen by one rule:
//   energy  per layer, the kept share of squared singular values (rank_selection.h);
//   ratio   per layer, a fixed fraction of the largest rank;
//   vbmf    per layer, analytic empirical VBMF on the factorised matrix or unfoldings (vbmf.h);
//   budget  the model's MACs or parameters to a fraction of the original: each layer's options
//           are "as it is" then a ladder of ranks (rank_selection.h), their drops measured with
//           the shared sensitivity protocol (compress/common/sensitivity.h) or, without it, the
//           squared relative reconstruction error as a proxy (from the spectra where they give
//           it, rank_selection.h's ladder_errors); the shared solver
//           (compress/common/budget.h) picks one per layer.
// A layer whose chain would not cost fewer MACs than the layer stays as it is. Then, optionally,
// fine-tuning of the whole decomposed model (every factor trainable).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "leancnn/compress/common/budget.h"
#include "leancnn/compress/common/sensitivity.h"
#include "leancnn/compress/decompose/methods.h"
#include "leancnn/compress/decompose/rank_selection.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::decompose {

enum class RankRule { energy, ratio, budget, vbmf };
// "energy" | "ratio" | "budget" | "vbmf"; Error(usage) otherwise.
RankRule parse_rank_rule(const std::string& name);
const char* rank_rule_name(RankRule r);

struct Spec {
  Method conv_method = Method::tucker2;  // for Conv layers (svd is not a conv method)
  bool convs = true;                     // decompose Conv layers
  bool fc = true;                        // decompose Gemm layers by fc_method
  Method fc_method = Method::svd;        // svd, tt or tr
  RankRule rank_rule = RankRule::energy;
  double energy = 0.9;                   // energy: kept share of squared singular values, (0, 1]
  double rank_ratio = 0.5;               // ratio: of the largest rank, (0, 1]
  int64_t round_to = 1;                  // every rule: ranks to multiples of this (rounded_ranks), >= 1
  // budget: what is counted. latency: the model's measured batch-1 latency; each rung's cost is
  // the model's latency with that layer alone decomposed at it (factors from HOSVD, no HOOI: only
  // their shapes matter for the time), rungs that are not faster than the one before dropped.
  CostUnit budget_unit = CostUnit::macs;
  double budget_ratio = 0.5;             // budget: the model's MACs (params, latency) after / before, (0, 1)
  bool sensitivity = false;              // budget: measure drops on held-out images (else the proxy)
  SensitivityProtocol protocol;
  std::vector<std::string> exclude;      // layer (node) names left as they are; unknown: Error(usage)
  bool keep_first = true;                // leave the first weight layer as it is (few input channels)
  FactorOptions factor;
  train::TrainOptions finetune = [] {    // epochs 0: no fine-tuning
    train::TrainOptions o;
    o.epochs = 0;
    return o;
  }();
  std::vector<train::LossHook> finetune_losses;  // extra loss terms of the fine-tuning (distillation)
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

struct LayerReport {
  std::string layer;
  std::string method;              // "" when left as it is
  std::vector<int64_t> ranks;      // chosen (tucker2: {r_in, r_out}; tt, tr: methods.h)
  std::vector<int64_t> max_ranks;
  LayerCost before, after;         // after == before when left as it is
  double rel_error = 0;            // of the factorised weight, before fine-tuning
  std::string kept_why;            // why left as it is ("" when decomposed)
};

struct Report {
  ir::Graph graph;                 // the decomposed (and fine-tuned) model, shapes inferred
  std::vector<LayerReport> layers; // every weight layer, in topological order
  int64_t macs_before = 0, macs_after = 0;      // whole model, per image
  int64_t params_before = 0, params_after = 0;  // whole model
  std::optional<BudgetChoice> budget;           // the budget rule's choice
  // Latency budget: the whole model timed before and after (three alternating rounds, medians),
  // since the rungs were timed layer by layer: on small images a chain that is faster alone
  // can be slower in the network (ResNet-20 at 28x28: docs/decomposition.md).
  double latency_before_ms = 0, latency_after_ms = 0;
  bool measured_sensitivity = false;            // budget drops from held-out images (else proxy)
  int64_t sensitivity_images = 0;
  std::vector<train::TrainResult> finetune;
  bool interrupted = false;        // fine-tuning stopped on Ctrl-C (rerun to resume)
};

// Error(usage) on an inconsistent Spec or an excluded name that is not a Conv/Gemm layer;
// Error(bad_input) when the graph has no weight layer. run() calls it first; front ends call it
// before they read any data.
void check(const ir::Graph& float_graph, const Spec& spec);

// run() checks as check() does.
// train_set is read for the sensitivity's held-out images and for fine-tuning; test_set for
// fine-tuning's evaluation (both may be empty when neither is asked for).
Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec);

}  // namespace leancnn::compress::decompose
