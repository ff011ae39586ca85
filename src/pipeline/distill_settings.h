// The distill keys' translation (private to the pipeline): the distill step's keys and a
// train/finetune step's `distill:` section both fill a compress::distill::Spec.
#pragma once
#include <vector>

#include "leancnn/compress/distill/distill.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"

namespace leancnn::pipeline {

// The keys of the method and its weights (`online`: also dml / kdcl and peers).
std::vector<KeySpec> distill_method_keys(bool online);
// The `distill:` section of the train and finetune steps (offline and self methods).
KeySpec distill_section_key();

// Fills method, teachers (relative paths from the recipe's folder), weights and layers from
// `s` (a distill step's settings or a `distill:` section); training options are the caller's.
compress::distill::Spec distill_spec(const nlohmann::json& s, const Recipe& recipe);
// Teacher files that do not exist (checked before any step runs).
std::vector<SettingProblem> check_distill(const nlohmann::json& s, const Recipe& recipe, const std::string& key_prefix);
// The `distill:` section of a step's settings, when given: its problems (as check_distill).
std::vector<SettingProblem> check_distill_key(const nlohmann::json& step_settings, const Recipe& recipe);
// The loss hooks of a step's `distill:` section for training `student` (empty when absent).
std::vector<train::LossHook> distill_hooks(const nlohmann::json& step_settings, const ir::Graph& student,
                                           const StepContext& ctx);
// The diagnostics of one model of the report.
nlohmann::json model_json(const compress::distill::ModelResult& m);

}  // namespace leancnn::pipeline
