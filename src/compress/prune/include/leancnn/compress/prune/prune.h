// The weight-pruning family's one entry point (docs/pruning.md): a Spec (what `leancnn prune`'s
// flags and the recipe's prune step both translate into), run(graph, data, spec), and a Report.
// Magnitude masks (mask.h) on every Conv and Gemm weight, on one of three schedules:
//   one_shot  prune to the target, then fine-tune with the mask held (pruned weights stay 0);
//   iterative Han et al. 2015: `rounds` rounds of prune + fine-tune, each removing the same
//             fraction of what remains, sparsity 1 - (1 - s)^(r / rounds) after round r;
//   gradual   Zhu & Gupta 2017 (AGP): one fine-tuning run in which the sparsity follows
//             s_t = s (1 - (1 - t / T)^3) over the first `ramp` of its steps, masks recomputed
//             every `interval` steps from the live weights, then held.
// The result is a dense graph whose pruned weights are exact zeros.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "leancnn/compress/prune/mask.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::prune {

enum class Schedule { one_shot, iterative, gradual };
// "one_shot" | "iterative" | "gradual"; Error(usage) otherwise.
Schedule parse_schedule(const std::string& name);
const char* schedule_name(Schedule s);

struct Spec {
  MaskOptions mask;
  std::vector<std::string> exclude;  // layer (node) names kept dense; an unknown name is Error(usage)
  bool keep_first = false;           // keep the first weight layer dense
  Schedule schedule = Schedule::one_shot;
  int rounds = 3;                    // iterative
  double ramp = 0.75;                // gradual: fraction of the fine-tuning steps the sparsity ramps over
  int64_t interval = 50;             // gradual: steps between mask updates
  // The fine-tuning (per round for iterative); epochs 0 = prune only (one_shot without
  // fine-tuning; iterative and gradual need epochs). out_dir receives the checkpoints.
  train::TrainOptions finetune = [] {
    train::TrainOptions o;
    o.epochs = 0;
    return o;
  }();
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

struct LayerReport {
  std::string layer;
  int64_t weights = 0, kept = 0;
  std::string skipped;  // why the layer stayed dense ("" when pruned)
  double sparsity() const { return weights == 0 ? 0.0 : 1.0 - static_cast<double>(kept) / static_cast<double>(weights); }
};

struct Report {
  ir::Graph graph;                      // the pruned (and fine-tuned) model
  std::vector<LayerReport> layers;      // every weight layer, excluded ones included (kept = weights)
  double sparsity = 0;                  // zeros / weights over every weight layer
  std::vector<train::TrainResult> finetune;  // one per fine-tuning run (rounds)
  bool interrupted = false;             // a fine-tuning run stopped on Ctrl-C (rerun to resume)
};

// Error(usage) on an inconsistent Spec; Error(bad_input) when the graph has no weight layer.
Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec);

}  // namespace leancnn::compress::prune
