// The prune step: magnitude weight pruning of the previous (float) variant, with fine-tuning that
// holds the masks (compress/prune/prune.h). The YAML keys only fill a compress::prune::Spec, as
// `leancnn prune` does.
#include <cstdio>
#include <limits>

#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"
#include "train_settings.h"

namespace leancnn::pipeline {

namespace p = compress::prune;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<KeySpec> prune_keys() {
  std::vector<KeySpec> keys = train_keys();
  const std::vector<KeySpec> own = {
      {"sparsity", KeyType::number, from_native(0.5), 0, 0.99, false, {}, "fraction of the weights set to zero (unstructured)"},
      {"scope", KeyType::string, from_native("layer"), -kInf, kInf, false, {"layer", "global"},
       "the same fraction in every layer, or one magnitude threshold over all layers"},
      {"pattern", KeyType::string, from_native("unstructured"), -kInf, kInf, false, {"unstructured", "2:4", "1:4", "4:8"},
       "unstructured, or N:M semi-structured along input channels (sparsity then follows from N:M)"},
      {"prune_schedule", KeyType::string, from_native("one_shot"), -kInf, kInf, false, {"one_shot", "iterative", "gradual"},
       "prune then fine-tune; prune + fine-tune in rounds (Han et al.); or AGP inside one fine-tuning (Zhu & Gupta)"},
      {"rounds", KeyType::integer, from_native(3), 1, 20, false, {}, "iterative: rounds of prune + fine-tune (epochs each)"},
      {"ramp", KeyType::number, from_native(0.75), 0, 1, true, {}, "gradual: fraction of the fine-tuning steps the sparsity ramps over"},
      {"interval", KeyType::integer, from_native(50), 1, kInf, false, {}, "gradual: optimizer steps between mask updates"},
      {"exclude", KeyType::string_list, from_native(nlohmann::json::array()), -kInf, kInf, false, {}, "layers (node names) kept dense"},
      {"keep_first", KeyType::boolean, from_native(false), -kInf, kInf, false, {}, "keep the first Conv/Gemm layer dense"},
      {"finetune", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "fine-tune after pruning (one_shot may skip it)"},
  };
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

p::Spec spec_of(const nlohmann::json& s, const StepContext& ctx, int64_t train_size) {
  p::Spec spec;
  spec.mask.sparsity = s["sparsity"];
  spec.mask.scope = p::parse_scope(s["scope"]);
  const std::string pattern = s["pattern"];
  if (pattern != "unstructured") {
    spec.mask.pattern = p::Pattern::n_of_m;
    spec.mask.n = pattern[0] - '0';
    spec.mask.m = pattern[2] - '0';
  }
  spec.schedule = p::parse_schedule(s["prune_schedule"]);
  spec.rounds = s["rounds"];
  spec.ramp = s["ramp"];
  spec.interval = s["interval"];
  spec.exclude = s["exclude"].get<std::vector<std::string>>();
  spec.keep_first = s["keep_first"];
  if (s["finetune"].get<bool>()) spec.finetune = train_options(s, ctx, train_size);
  return spec;
}

StepOutput run_prune(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  const train::Dataset& train_set = ctx.train_set();
  p::Spec spec = spec_of(s, ctx, train_set.size());
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  p::Report r = p::run(input, train_set, ctx.test_set(), spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "pruning's fine-tuning interrupted; its checkpoint is in '", ctx.work_dir,
         "': run the same recipe again to resume");
  StepOutput out{std::move(r.graph)};
  nlohmann::json diagnostics = r.finetune.empty() ? nlohmann::json::object() : epochs_json(r.finetune.back());
  diagnostics["sparsity"] = r.sparsity;
  diagnostics["schedule"] = p::schedule_name(spec.schedule);
  diagnostics["pattern"] = s["pattern"];
  diagnostics["finetune_runs"] = r.finetune.size();
  nlohmann::json layers = nlohmann::json::array();
  for (const p::LayerReport& l : r.layers)
    layers.push_back({{"layer", l.layer}, {"params", l.weights}, {"nonzero_params", l.kept}, {"sparsity", l.sparsity()},
                      {"dense_why", l.skipped}});
  diagnostics["prune_layers"] = layers;
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}
}  // namespace

StepKind prune_step_kind() {
  StepKind k;
  k.name = "prune";
  k.description = "magnitude weight pruning (layer-wise, global or N:M) with fine-tuning that holds the masks";
  k.keys = prune_keys;
  k.defaults = finetune_defaults;
  k.run = run_prune;
  return k;
}

}  // namespace leancnn::pipeline
