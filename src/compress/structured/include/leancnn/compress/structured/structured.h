// The structured-pruning family's entry point (docs/structured_pruning.md): a Spec (what
// `leancnn prune --structured` and the recipe step `prune` with a `structured:` block both
// translate into), run(graph, data, spec) and a Report. The model physically shrinks: whole
// channels (units of groups.h) leave every tensor that carries them.
//
// Criteria rank the units of each group (higher score = kept first):
//   l1, l2    filter norm of every filter writing the unit (Li et al. 2017);
//   fpgm      distance to the other filters of the same layer: filters near the geometric
//             median are redundant (He et al. 2019);
//   hrank     average rank of the unit's feature maps over calibration images (Lin et al. 2020);
//   apoz      1 - average percentage of zeros of the unit's activations (Hu et al. 2016);
//   thinet    greedy: the units whose removal least changes the next layers' outputs go first,
//             then least-squares rescaling of the kept input channels (Luo et al. 2017);
//   slimming  |BN γ| after training with an L1 penalty on γ (Liu et al. 2017);
//   sfp       soft filter pruning: during training the lowest-L2 filters are zeroed after every
//             epoch but keep training; the last zeroed set is removed (He et al. 2018);
//   nisp      importance of the classifier's outputs propagated back through |W| and BN scales
//             to every channel, data-free (Yu et al. 2018);
//   group_lasso  training with a group-LASSO penalty λ Σ_unit ||unit's filters, biases, BN γ/β||₂
//             (Wen et al. 2016), then the lowest filter L2 norms go;
//   layer     layer (block) pruning: whole identity residual blocks go, those whose branch adds
//             the least to its input first (blocks.h), until the target is met.
// Criteria that read activations take calibration images from the training set, never the test set.
//
// Per-group ratios are one uniform ratio, found by bisection so that the pruned model's MACs,
// parameters or measured latency are at most (1 - target) of the dense model's, or chosen per
// group by sensitivity under the same budget (choice.h). Schedules: one_shot (prune, then
// fine-tune) or iterative (`rounds` rounds of prune a part + fine-tune). from_scratch trains the
// pruned architecture from a fresh initialisation as well (Liu et al. 2019, "rethinking").
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "leancnn/compress/common/sensitivity.h"
#include "leancnn/compress/structured/groups.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::structured {

enum class Criterion { l1, l2, fpgm, hrank, apoz, thinet, slimming, sfp, layer, nisp, group_lasso };
// "l1" | "l2" | "fpgm" | "hrank" | "apoz" | "thinet" | "slimming" | "sfp" | "layer" | "nisp" |
// "group_lasso"; Error(usage) otherwise.
Criterion parse_criterion(const std::string& name);
const char* criterion_name(Criterion c);
std::vector<std::string> criterion_names();  // every criterion's name, in enum order
bool needs_data(Criterion c);      // hrank, apoz, thinet, layer: calibration images
bool needs_training(Criterion c);  // slimming, sfp, group_lasso: a training run before the pruning

// latency: the compiled plan's batch-1 median latency at the current thread count, measured.
enum class TargetKind { flops, params, latency };
TargetKind parse_target_kind(const std::string& name);  // "flops" | "params" | "latency"
const char* target_kind_name(TargetKind t);

// How the per-group ratios are chosen: one uniform ratio, by sensitivity (each group probed
// alone on held-out training images, then compress/common's budget solver), or by measured
// latency (NetAdapt: step by step, the group whose cut removes the most batch-1 latency per unit
// of the target saved; choice.h solve_latency_adapt).
enum class Ratios { uniform, sensitivity, latency };
Ratios parse_ratios(const std::string& name);  // "uniform" | "sensitivity" | "latency"
const char* ratios_name(Ratios r);

enum class Schedule { one_shot, iterative };
Schedule parse_schedule(const std::string& name);  // "one_shot" | "iterative"
const char* schedule_name(Schedule s);

struct Spec {
  Criterion criterion = Criterion::l1;
  TargetKind target_kind = TargetKind::flops;
  double target = 0.5;                 // fraction of the dense model's MACs (or params) removed, in (0, 1)
  double max_ratio = 0.9;              // no group loses more than this fraction of its channels
  Ratios ratios = Ratios::uniform;
  SensitivityProtocol sensitivity;     // ratios sensitivity: the held-out training images
  int64_t round_to = 1;                // kept channels rounded up to a multiple of this (8: whole AVX2 vectors)
  std::vector<std::string> exclude;    // layers whose output group keeps every channel
  int64_t calibration_images = 256;    // hrank, apoz, thinet: training images (a seeded sample)
  int64_t thinet_samples = 4096;       // thinet: output positions sampled per consumer layer
  bool reconstruct = true;             // thinet: least-squares rescaling of the kept channels
  double slimming_lambda = 1e-4;       // slimming: L1 weight on BN γ during the sparsity training
  double group_lasso_lambda = 1e-3;    // group_lasso: weight of the group-LASSO penalty
  int64_t prune_epochs = 0;            // slimming, sfp, group_lasso: epochs of the training that ranks channels
  Schedule schedule = Schedule::one_shot;
  int rounds = 3;                      // iterative
  bool from_scratch = false;           // also train the pruned architecture from a fresh initialisation
  uint64_t seed = 0;                   // calibration sample, from-scratch initialisation
  train::TrainOptions finetune = [] {  // epochs 0 = prune only
    train::TrainOptions o;
    o.epochs = 0;
    return o;
  }();
  std::function<void(const std::string&)> log;
};

struct LayerChannels {
  std::string layer;                  // a Conv or Gemm
  int64_t out_before = 0, out_after = 0;
  int64_t in_before = 0, in_after = 0;
};

struct GroupReport {
  std::string name;
  std::vector<std::string> sources;
  int64_t before = 0, after = 0;
  bool removable = true;
};

struct Report {
  ir::Graph graph;                        // the pruned (and fine-tuned) model
  std::optional<ir::Graph> scratch;       // from_scratch: the pruned architecture trained anew
  std::vector<GroupReport> groups;
  std::vector<LayerChannels> layers;      // every Conv and Gemm, in topological order
  int64_t params_before = 0, params_after = 0;
  int64_t macs_before = 0, macs_after = 0;
  double ratio = 0;                       // the uniform per-group ratio chosen (last round)
  std::vector<double> group_ratios;       // ratios sensitivity, or round_to's trimmed uniform ratio: per group of the last round's model
  std::vector<std::string> removed_blocks;  // layer: the residual blocks removed (their Adds' names)
  std::vector<train::TrainResult> finetune;  // sparsity training (slimming/sfp) first, then one per round
  std::optional<train::TrainResult> scratch_training;
  bool interrupted = false;
};

// Error(usage) on an inconsistent Spec (a target outside (0, 1), an unknown layer name, a target
// that the removable groups cannot reach, e.g. one that would need the classifier's outputs);
// Error(bad_input) when the model has nothing to prune or a data criterion gets no training
// images (`train_images` = the training set's size).
void check(const ir::Graph& float_graph, const Spec& spec, int64_t train_images);

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec);

// Per-layer output/input channel counts of a Conv/Gemm graph (for reports of any variant).
std::vector<LayerChannels> layer_channels(const ir::Graph& before, const ir::Graph& after);

}  // namespace leancnn::compress::structured
