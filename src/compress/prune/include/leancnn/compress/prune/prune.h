// The weight-pruning family's one entry point (docs/pruning.md): a Spec (what `leancnn prune`'s
// flags and the recipe's prune step both translate into), run(graph, data, spec), and a Report.
// Magnitude masks (mask.h) on every Conv and Gemm weight, on one of four schedules:
//   one_shot  prune to the target, then fine-tune with the mask held (pruned weights stay 0);
//   iterative Han et al. 2015: `rounds` rounds of prune + fine-tune, each removing the same
//             fraction of what remains, sparsity 1 - (1 - s)^(r / rounds) after round r;
//   gradual   Zhu & Gupta 2017 (AGP): one fine-tuning run in which the sparsity follows
//             s_t = s (1 - (1 - t / T)^3) over the first `ramp` of its steps, masks recomputed
//             every `interval` steps from the live weights, then held;
//   lottery   Frankle & Carbin 2019 with rewinding (Frankle et al. 2020): train, prune by
//             magnitude, rewind the surviving weights to their values at `rewind_epoch`
//             (0 = the initialisation), retrain with the mask held; `rounds` > 1 is iterative
//             magnitude pruning (each round prunes the retrained ticket further). lottery.cpp.
// Each layer's fraction is the same `sparsity` (scope layer), one global threshold (scope
// global), N:M, explicit per-layer fractions (mask.layer_sparsity), or chosen by a rule
// (ratios.h): a sensitivity table under a budget, or a Gaussian-mixture split of each layer.
// The result is a dense graph whose pruned weights are exact zeros.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "leancnn/compress/common/sensitivity.h"
#include "leancnn/compress/prune/mask.h"
#include "leancnn/compress/prune/ratios.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::prune {

enum class Schedule { one_shot, iterative, gradual, lottery };
// "one_shot" | "iterative" | "gradual" | "lottery"; Error(usage) otherwise.
Schedule parse_schedule(const std::string& name);
const char* schedule_name(Schedule s);

struct Spec {
  MaskOptions mask;                  // mask.layer_sparsity: explicit per-layer fractions (scope layer)
  std::vector<std::string> exclude;  // layer (node) names kept dense; an unknown name is Error(usage)
  bool keep_first = false;           // keep the first weight layer dense
  Schedule schedule = Schedule::one_shot;
  int rounds = 3;                    // iterative; lottery (rounds of iterative magnitude pruning)
  double ramp = 0.75;                // gradual: fraction of the fine-tuning steps the sparsity ramps over
  int64_t interval = 50;             // gradual: steps between mask updates
  // Per-layer fractions chosen by a rule (ratios.h); `mask.sparsity` is then the overall target
  // (of the budget's quantity for `sensitivity`). Excludes explicit mask.layer_sparsity.
  RatioRule ratio_rule = RatioRule::uniform;
  BudgetTarget target = BudgetTarget::sparsity;             // sensitivity: what mask.sparsity removes
  std::vector<double> probe_ratios = {0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98};  // sensitivity: fractions probed per layer
  SensitivityProtocol protocol;                             // sensitivity: held-out training images
  // lottery: the epoch whose weights the ticket is rewound to (0 = the initialisation). Without
  // rewind_from, the input model is the initialisation: run() trains it for finetune.epochs
  // itself, keeping the trainer's checkpoint at rewind_epoch, and the retraining resumes that
  // checkpoint (epochs rewind_epoch + 1 .. finetune.epochs, the same learning-rate schedule).
  // With rewind_from, the input is the trained model and rewind_from its weights at the early
  // epoch (same initializer names and shapes); each round retrains for finetune.epochs.
  int64_t rewind_epoch = 0;
  std::optional<ir::Graph> rewind_from;
  // The fine-tuning (per round for iterative; the training and each retraining for lottery);
  // epochs 0 = prune only (one_shot without fine-tuning; the others need epochs). out_dir
  // receives the checkpoints.
  train::TrainOptions finetune = [] {
    train::TrainOptions o;
    o.epochs = 0;
    return o;
  }();
  // Extra loss terms of every fine-tuning but the lottery's dense training (distillation:
  // compress::distill::make_hooks), with the masks held as always.
  std::vector<train::LossHook> finetune_losses;
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

struct LayerReport {
  std::string layer;
  int64_t weights = 0, kept = 0;
  double target = 0;    // the fraction the layer was asked to lose (0 when dense)
  std::string skipped;  // why the layer stayed dense ("" when pruned)
  double sparsity() const { return weights == 0 ? 0.0 : 1.0 - static_cast<double>(kept) / static_cast<double>(weights); }
};

struct Report {
  ir::Graph graph;                      // the pruned (and fine-tuned) model
  std::vector<LayerReport> layers;      // every weight layer, excluded ones included (kept = weights)
  double sparsity = 0;                  // zeros / weights over every weight layer
  std::vector<train::TrainResult> finetune;  // one per training run (rounds; lottery: the dense training first)
  std::optional<SensitivityRatios> sensitivity;  // ratio_rule sensitivity: the table and the budget's choice
  std::optional<GmmRatios> gmm;                  // ratio_rule gmm: each layer's split
  bool interrupted = false;             // a fine-tuning run stopped on Ctrl-C (rerun to resume)
};

// The names of the layers pruning can touch (Conv and Gemm with f32 initializer weights), in
// topological order: what exclude and layer_sparsity may name.
std::vector<std::string> prunable_layers(const ir::Graph& g);

// Error(usage) on an inconsistent Spec (a fraction outside [0, 1), a layer name the model does
// not have, ...); Error(bad_input) when the graph has no weight layer. Everything run() checks
// before any work, for front ends that check first.
void check(const ir::Graph& float_graph, const Spec& spec);

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec);

}  // namespace leancnn::compress::prune
