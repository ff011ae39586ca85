// The prune step: magnitude weight pruning of the previous (float) variant, with fine-tuning that
// holds the masks (compress/prune/prune.h): uniform, explicit or automatically chosen per-layer
// fractions, and the one-shot, iterative, gradual and lottery schedules. The YAML keys only fill
// a compress::prune::Spec, as `leancnn prune` does; the step's check runs compress::prune::check
// against the recipe's model before any step runs, naming the key at fault.
#include <cstdio>
#include <limits>

#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"
#include "step_prune_structured.h"
#include "distill_settings.h"
#include "train_settings.h"

namespace leancnn::pipeline {

namespace p = compress::prune;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<KeySpec> own_keys() {
  return {
      {"sparsity", KeyType::number, from_native(0.5), 0, 1, false, {},
       "fraction of the weights set to zero (unstructured; with a ratio rule, the overall target)", true},
      {"scope", KeyType::string, from_native("layer"), -kInf, kInf, false, {"layer", "global"},
       "the same fraction in every layer, or one magnitude threshold over all layers"},
      {"pattern", KeyType::string, from_native("unstructured"), -kInf, kInf, false, {"unstructured", "2:4", "1:4", "4:8"},
       "unstructured, or N:M semi-structured along input channels (sparsity then follows from N:M)"},
      {"layer_sparsity", KeyType::number_map, from_native(nlohmann::json::object()), 0, 1, false, {},
       "explicit fractions per layer ({conv1: 0.3, fc1: 0.9}); unlisted layers get sparsity", true},
      {"ratios", KeyType::string, from_native("uniform"), -kInf, kInf, false, {"uniform", "sensitivity", "gmm"},
       "per-layer fractions: uniform (sparsity), sensitivity (probes + budget solver) or gmm (Gaussian-mixture split)"},
      {"target", KeyType::string, from_native("sparsity"), -kInf, kInf, false, {"sparsity", "params", "macs"},
       "ratios sensitivity: what sparsity is the fraction removed of (pruned weights, all parameters, MACs)"},
      {"sensitivity_images", KeyType::integer, from_native(1000), 1, kInf, false, {},
       "ratios sensitivity: held-out training images per probe"},
      {"prune_schedule", KeyType::string, from_native("one_shot"), -kInf, kInf, false,
       {"one_shot", "iterative", "gradual", "lottery"},
       "prune then fine-tune; prune + fine-tune in rounds (Han et al.); AGP inside one fine-tuning (Zhu & Gupta); "
       "or train, prune, rewind and retrain (lottery ticket)"},
      {"rounds", KeyType::integer, from_native(3), 1, 20, false, {}, "iterative and lottery: rounds of prune + (re)train"},
      {"rewind_epoch", KeyType::integer, from_native(0), 0, kInf, false, {},
       "lottery: the epoch the surviving weights are rewound to (0 = the initialisation); below epochs"},
      {"ramp", KeyType::number, from_native(0.75), 0, 1, true, {}, "gradual: fraction of the fine-tuning steps the sparsity ramps over"},
      {"interval", KeyType::integer, from_native(50), 1, kInf, false, {}, "gradual: optimizer steps between mask updates"},
      {"exclude", KeyType::string_list, from_native(nlohmann::json::array()), -kInf, kInf, false, {}, "layers (node names) kept dense"},
      {"keep_first", KeyType::boolean, from_native(false), -kInf, kInf, false, {}, "keep the first Conv/Gemm layer dense"},
      {"finetune", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "fine-tune after pruning (one_shot may skip it)"},
      {"structured", KeyType::section, from_native(nlohmann::json::object()), -kInf, kInf, false, {},
       "structured (channel) pruning settings: criterion, target, fraction, ... (docs/structured_pruning.md); "
       "given, the step removes whole channels instead of weights"},
  };
}

std::vector<KeySpec> prune_keys() {
  std::vector<KeySpec> keys = train_keys();
  const std::vector<KeySpec> own = own_keys();
  keys.insert(keys.end(), own.begin(), own.end());
  keys.push_back(distill_section_key());  // distils the fine-tuning (not the lottery's dense training)
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
  spec.mask.layer_sparsity = s["layer_sparsity"].get<std::map<std::string, double>>();
  spec.ratio_rule = p::parse_ratio_rule(s["ratios"]);
  spec.target = p::parse_budget_target(s["target"]);
  spec.protocol = {s["sensitivity_images"].get<int64_t>(), ctx.recipe->seed};
  spec.schedule = p::parse_schedule(s["prune_schedule"]);
  spec.rounds = s["rounds"];
  spec.rewind_epoch = s["rewind_epoch"];
  spec.ramp = s["ramp"];
  spec.interval = s["interval"];
  spec.exclude = s["exclude"].get<std::vector<std::string>>();
  spec.keep_first = s["keep_first"];
  if (s["finetune"].get<bool>()) spec.finetune = train_options(s, ctx, train_size);
  return spec;
}

// compress::prune::check's message names its field first ("layer_sparsity: 'conv9' is ...",
// "rewind_epoch 5 must be ..."): that field is the key at fault.
std::vector<SettingProblem> check_prune(const ir::Graph& model, const Json& settings, const Recipe& recipe) {
  StepContext ctx;
  ctx.recipe = &recipe;
  ctx.work_dir = "<check>";
  const nlohmann::json& s = native(settings);
  if (!s["structured"].empty()) return check_structured_prune(model, s, recipe);
  try {
    p::check(model, spec_of(s, ctx, 1));
  } catch (const Error& e) {
    const std::string msg = e.message();
    for (const KeySpec& k : own_keys()) {
      if (msg.rfind(k.name + ": ", 0) == 0) return {{k.name, msg.substr(k.name.size() + 2)}};
      if (msg.rfind(k.name + " ", 0) == 0) return {{k.name, msg}};
    }
    return {{"", msg}};
  }
  return {};
}

nlohmann::json sensitivity_json(const p::SensitivityRatios& t) {
  nlohmann::json layers = nlohmann::json::array();
  for (const p::RatioProbe& l : t.layers)
    layers.push_back({{"layer", l.layer}, {"params", l.weights}, {"macs", l.macs}, {"ratios", l.ratios}, {"drops", l.drops},
                      {"chosen", l.chosen}});
  return {{"target", p::budget_target_name(t.target)}, {"fraction", t.fraction}, {"images", t.images},
          {"baseline_acc", t.baseline_acc}, {"budget", t.budget}, {"cost", t.cost}, {"dense_cost", t.start_cost},
          {"least_cost", t.least_cost}, {"predicted_drop", t.predicted_drop}, {"met", t.met}, {"layers", layers}};
}

nlohmann::json gmm_json(const p::GmmRatios& g) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const p::GmmSplit& s = g.splits[i];
    layers.push_back({{"layer", g.layers[i]}, {"pi_small", s.pi_small}, {"sigma_small", s.sigma_small},
                      {"sigma_large", s.sigma_large}, {"threshold", s.threshold}, {"share", s.share},
                      {"sparsity", g.layer_sparsity.at(g.layers[i])}});
  }
  return {{"scale", g.scale}, {"layers", layers}};
}

StepOutput run_prune(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  if (!s["structured"].empty()) return run_structured_prune(input, s, ctx);
  const train::Dataset& train_set = ctx.train_set();
  p::Spec spec = spec_of(s, ctx, train_set.size());
  spec.finetune_losses = distill_hooks(s, input, ctx);
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  p::Report r = p::run(input, train_set, ctx.test_set(), spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "pruning's training interrupted; its checkpoint is in '", ctx.work_dir, "': run the same recipe again to ",
         spec.schedule == p::Schedule::lottery ? "start the lottery schedule over" : "resume");
  StepOutput out{std::move(r.graph)};
  nlohmann::json diagnostics = r.finetune.empty() ? nlohmann::json::object() : epochs_json(r.finetune.back());
  diagnostics["sparsity"] = r.sparsity;
  diagnostics["schedule"] = p::schedule_name(spec.schedule);
  diagnostics["pattern"] = s["pattern"];
  diagnostics["ratios"] = s["ratios"];
  diagnostics["finetune_runs"] = r.finetune.size();
  if (spec.schedule == p::Schedule::lottery) {
    diagnostics["rewind_epoch"] = spec.rewind_epoch;
    diagnostics["dense"] = epochs_json(r.finetune.front());  // the dense training the mask came from
  }
  nlohmann::json layers = nlohmann::json::array();
  for (const p::LayerReport& l : r.layers)
    layers.push_back({{"layer", l.layer}, {"params", l.weights}, {"nonzero_params", l.kept}, {"sparsity", l.sparsity()},
                      {"target", l.target}, {"dense_why", l.skipped}});
  diagnostics["prune_layers"] = layers;
  if (r.sensitivity) diagnostics["prune_sensitivity"] = sensitivity_json(*r.sensitivity);
  if (r.gmm) diagnostics["gmm"] = gmm_json(*r.gmm);
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}
}  // namespace

StepKind prune_step_kind() {
  StepKind k;
  k.name = "prune";
  k.description = "magnitude weight pruning (layer-wise, global, N:M; uniform, explicit or chosen per-layer fractions; "
                  "one-shot, iterative, gradual or lottery ticket) with training that holds the masks; with a "
                  "structured: block, channel pruning that shrinks the model";
  k.keys = prune_keys;
  k.defaults = finetune_defaults;
  k.run = run_prune;
  k.check = [](const ir::Graph& model, const Json& settings, const Recipe& recipe) {
    std::vector<SettingProblem> problems = check_prune(model, settings, recipe);
    for (SettingProblem& p : check_distill_key(native(settings), recipe)) problems.push_back(std::move(p));
    return problems;
  };
  return k;
}

}  // namespace leancnn::pipeline
