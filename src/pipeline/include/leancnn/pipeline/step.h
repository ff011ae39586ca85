// Step kinds of a recipe: a registry from the kind's name to its settings schema and the
// function that turns the previous variant into the next one. Kinds that later issues bring
// (distill, search) are listed as not available yet, so that a
// recipe naming them fails at parse time with a clear message instead of running a stub.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "leancnn/core/json.h"
#include "leancnn/ir/graph.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/train/dataset.h"

namespace leancnn::pipeline {

// What a step runs with. Datasets are loaded once per run, on first use.
struct StepContext {
  const Recipe* recipe = nullptr;
  std::function<const train::Dataset&()> train_set;  // the recipe's training split (limit applied)
  std::function<const train::Dataset&()> test_set;   // the test split (data.limit_test applied)
  std::string work_dir;  // a folder of the step's own (checkpoints); it survives an interrupted run
  bool resume = false;   // work_dir holds state of an earlier, interrupted run of the same step
  bool progress = true;  // show progress on stderr
};

struct StepOutput {
  ir::Graph model;
  Json diagnostics = Json::object();  // the step's own figures for the report
};

// A problem a step's settings have with the model they will run on.
struct SettingProblem {
  std::string key;  // the settings key at fault ("" = the step as a whole)
  std::string why;
};

struct StepKind {
  std::string name;
  std::string description;  // one line
  // Keys of the step's settings (besides "kind" and "name"). Empty for kinds not available.
  std::function<std::vector<KeySpec>()> keys;
  // Effective settings from the recipe's defaults (train block etc.) before the step's own keys.
  std::function<Json(const Recipe&)> defaults;
  // Runs the step; null when the kind is not available yet.
  std::function<StepOutput(const ir::Graph& input, const Json& settings, StepContext& ctx)> run;
  std::string unavailable;  // why not available ("" when available)
  // Optional: checks the settings against the recipe's input model before any step runs
  // (layer names, a model without the layers the step works on); null = nothing to check.
  std::function<std::vector<SettingProblem>(const ir::Graph& model, const Json& settings, const Recipe& recipe)> check;
};

// Every kind, available or not, in documentation order.
const std::vector<StepKind>& step_kinds();
// nullptr when the name is unknown.
const StepKind* find_step_kind(const std::string& name);
// The registered kinds (defined in their own files).
StepKind train_step_kind();
StepKind finetune_step_kind();
StepKind quantize_step_kind();
StepKind qat_step_kind();
StepKind prune_step_kind();
StepKind decompose_step_kind();
StepKind search_step_kind();
StepKind binarize_step_kind();
StepKind distill_step_kind();

}  // namespace leancnn::pipeline
