// The runner: a recipe's steps in order, each turning the previous variant into the next and
// writing <name>.onnx + <name>.settings.json into the output folder; then the evaluations of
// every variant (<name>.eval.json). A step whose key (SHA-256 of the input model file's bytes,
// the step's canonical settings and the data's identity) matches its settings file, and whose
// ONNX file still hashes as recorded, is skipped; evaluations likewise. So an interrupted run
// resumes where it stopped (a training step also resumes from its checkpoint in <name>.work/).
#pragma once
#include <string>
#include <vector>

#include "leancnn/core/json.h"
#include "leancnn/ir/graph.h"
#include "leancnn/pipeline/recipe.h"

namespace leancnn::pipeline {

struct RunOptions {
  std::string out_dir;      // "" = the recipe's output, else "runs/recipe"
  bool force = false;       // rerun every step and evaluation
  bool reevaluate = false;  // rerun the evaluations (e.g. to re-measure latency)
  bool progress = true;     // progress lines on stderr
};

struct VariantResult {
  std::string name;    // "input" for the model the recipe starts from, else the step's name
  std::string kind;    // "input", "train", "quantize", ...
  std::string parent;  // the variant it was made from ("" for input)
  std::string file;    // ONNX file, relative to the output folder
  std::string settings_file;  // <name>.settings.json ("" for input)
  Json settings = Json::object();
  std::string key;     // the step's content key
  std::string sha256;  // of the ONNX file
  bool reused = false;       // the step was skipped: an earlier run made the same file
  bool eval_reused = false;  // the evaluation came from <name>.eval.json
  double step_seconds = 0;   // time the step took when it ran
  Json diagnostics = Json::object();
  Json evaluation = Json::object();
  bool evaluated = false;    // listed in the report (input is only when no train step comes first)
};

struct RunResult {
  Json recipe;  // Recipe::to_json()
  std::string out_dir;
  std::string data_sha256;
  std::vector<VariantResult> variants;  // input first, then one per step
  double seconds = 0;
};

// Runs (or resumes) a recipe. Error(bad_input) for missing data files before any work;
// Error(runtime) when a step fails or training is interrupted (rerun to resume).
RunResult run_recipe(const Recipe& recipe, const RunOptions& options);

// The recipe's input model: the zoo model built from the seed, or the recipe's ONNX file.
// Error(bad_input) when it does not have one input and one output.
ir::Graph build_input_model(const Recipe& recipe);

// Every step's check (StepKind::check) against the input model; the first problem is
// Error(bad_input) "recipe 'r.yaml', line 14: steps[2] (prune): key 'layer_sparsity': ...".
// run_recipe calls it before any step runs; `leancnn run --check` too.
void check_steps(const Recipe& recipe, const ir::Graph& model);

// The key of a step: SHA-256 over the input model's hash, the canonical JSON of everything
// that decides the step's output, and the data's hash.
std::string step_key(const std::string& input_sha256, const Json& settings, const std::string& data_sha256);
// SHA-256 over the dataset's split files (train-*, t10k-* in the folder, sorted by name).
// Error(bad_input) naming the folder and the missing file when one of the four is absent.
std::string data_sha256(const std::string& dataset_spec);

}  // namespace leancnn::pipeline
