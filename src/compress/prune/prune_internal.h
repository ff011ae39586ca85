// Private to compress/prune: the pruned layers of a Spec, weight views over a graph or the
// trainer's live parameters, and the fine-tuning run that holds (or moves) the masks; shared by
// prune.cpp (one_shot, iterative, gradual) and lottery.cpp.
#pragma once
#include <string>
#include <vector>

#include "leancnn/compress/prune/prune.h"

namespace leancnn::compress::prune::detail {

struct Target {
  std::string layer, weight;
};

// The weight layers the Spec prunes (exclusions applied), in topological order; `report` gets
// one row per weight layer.
std::vector<Target> targets(const ir::Graph& g, const Spec& spec, std::vector<LayerReport>& report);

std::vector<WeightView> views_of(const ir::Graph& g, const std::vector<Target>& ts);
std::vector<WeightView> views_of(std::vector<runtime::Param>& params, const std::vector<Target>& ts);

void log_line(const Spec& spec, const std::string& line);

// One training run of g (in place) that applies `masks` after every optimizer step (gradual:
// recomputes them on its ramp); g holds the masks exactly when it returns.
train::TrainResult finetune(ir::Graph& g, const std::vector<Target>& ts, std::vector<LayerMask>& masks,
                            const train::Dataset& train_set, const train::Dataset& test_set, const Spec& spec,
                            const train::TrainOptions& options);

// The target's mask options: spec.mask with the per-layer fractions of the Spec's ratio rule
// chosen on g (the model as trained; rep.sensitivity or rep.gmm records the choice).
MaskOptions resolve_ratios(const ir::Graph& g, const std::vector<Target>& ts, const train::Dataset& train_set,
                           const Spec& spec, Report& rep);

// The lottery schedule (lottery.cpp) on rep.graph (the input, own initializers): fills
// rep.graph, rep.finetune, rep.interrupted (and the ratio rule's record) and returns the last
// round's masks.
std::vector<LayerMask> run_lottery(Report& rep, const std::vector<Target>& ts, const train::Dataset& train_set,
                                   const train::Dataset& test_set, const Spec& spec);

}  // namespace leancnn::compress::prune::detail
