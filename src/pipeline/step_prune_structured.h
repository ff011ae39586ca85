// The prune step's structured branch (private to the pipeline): a `structured:` block in a prune
// step's settings turns it into channel pruning (compress/structured/structured.h). The block's
// keys are checked here; the step's train keys, prune_schedule (one_shot or iterative), rounds,
// exclude and finetune apply as for weight pruning.
#pragma once
#include <vector>

#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"

namespace leancnn::pipeline {

// The keys a `structured:` block may hold, with their defaults and help (docs/recipes.md).
const std::vector<KeySpec>& structured_keys();

std::vector<SettingProblem> check_structured_prune(const ir::Graph& model, const nlohmann::json& settings, const Recipe& recipe);
StepOutput run_structured_prune(const ir::Graph& input, const nlohmann::json& settings, StepContext& ctx);

}  // namespace leancnn::pipeline
