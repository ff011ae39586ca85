// The decompose step: low-rank decomposition of the previous (float) variant's Conv and Gemm
// layers, then optional fine-tuning (compress/decompose/decompose.h). The YAML keys only fill a
// compress::decompose::Spec, as `leancnn decompose` does.
#include <cstdio>
#include <limits>

#include "leancnn/compress/decompose/decompose.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"
#include "distill_settings.h"
#include "train_settings.h"

namespace leancnn::pipeline {

namespace d = compress::decompose;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<KeySpec> decompose_keys() {
  std::vector<KeySpec> keys = train_keys();
  const std::vector<KeySpec> own = {
      {"method", KeyType::string, from_native("tucker2"), -kInf, kInf, false, {"tucker2", "channel_svd", "spatial_svd", "cp"},
       "how k x k Conv layers are factorised (docs/decomposition.md)"},
      {"convs", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "decompose Conv layers"},
      {"fc", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "decompose Gemm layers by fc_method"},
      {"fc_method", KeyType::string, from_native("svd"), -kInf, kInf, false, {"svd", "tt", "tr"},
       "how Gemm layers are factorised: truncated SVD, Tensor-Train or Tensor-Ring matrix"},
      {"tt_cores", KeyType::integer, from_native(3), 2, 8, false, {}, "tt, tr: cores d (N and K as d balanced factors)"},
      {"rank_rule", KeyType::string, from_native("energy"), -kInf, kInf, false, {"energy", "ratio", "budget", "vbmf"},
       "per-layer kept energy, a fixed ratio of the largest rank, a model budget through the solver, or VBMF"},
      {"energy", KeyType::number, from_native(0.9), 0, 1, true, {}, "energy: kept share of squared singular values"},
      {"rank_ratio", KeyType::number, from_native(0.5), 0, 1, true, {}, "ratio: ranks as a fraction of the largest"},
      {"round_to", KeyType::integer, from_native(1), 1, 1024, false, {},
       "ranks to the nearest multiple of this (8: whole AVX2 vectors; tt and tr ranks stay)"},
      {"budget", KeyType::number, from_native(0.5), 0, 0.999, true, {}, "budget: the model's MACs (or params) after / before"},
      {"budget_unit", KeyType::string, from_native("macs"), -kInf, kInf, false, {"macs", "params", "latency"},
       "budget: what is counted (latency: measured)"},
      {"sensitivity", KeyType::boolean, from_native(false), -kInf, kInf, false, {},
       "budget: measure each rank's accuracy drop on held-out training images (else the weight error as proxy)"},
      {"sensitivity_images", KeyType::integer, from_native(1000), 1, kInf, false, {}, "held-out training images for the sensitivity"},
      {"exclude", KeyType::string_list, from_native(nlohmann::json::array()), -kInf, kInf, false, {}, "layers (node names) left as they are"},
      {"keep_first", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "leave the first Conv/Gemm layer as it is"},
      {"hooi_iters", KeyType::integer, from_native(10), 0, 1000, false, {}, "tucker2: HOOI sweeps after the HOSVD start"},
      {"cp_iters", KeyType::integer, from_native(100), 1, 10000, false, {}, "cp: ALS sweeps at most"},
      {"finetune", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "fine-tune the decomposed model (the train keys)"},
  };
  keys.insert(keys.end(), own.begin(), own.end());
  keys.push_back(distill_section_key());
  return keys;
}

d::Spec spec_of(const nlohmann::json& s, const StepContext& ctx, int64_t train_size) {
  d::Spec spec;
  spec.conv_method = d::parse_method(s["method"]);
  spec.convs = s["convs"];
  spec.fc = s["fc"];
  spec.fc_method = d::parse_method(s["fc_method"]);
  spec.factor.tt_cores = s["tt_cores"];
  spec.rank_rule = d::parse_rank_rule(s["rank_rule"]);
  spec.energy = s["energy"];
  spec.rank_ratio = s["rank_ratio"];
  spec.round_to = s["round_to"];
  spec.budget_ratio = s["budget"];
  spec.budget_unit = s["budget_unit"] == "params"    ? d::CostUnit::params
                     : s["budget_unit"] == "latency" ? d::CostUnit::latency
                                                     : d::CostUnit::macs;
  spec.sensitivity = s["sensitivity"];
  spec.protocol = {s["sensitivity_images"].get<int64_t>(), ctx.recipe->seed};
  spec.exclude = s["exclude"].get<std::vector<std::string>>();
  spec.keep_first = s["keep_first"];
  spec.factor.hooi_iters = s["hooi_iters"];
  spec.factor.cp_iters = s["cp_iters"];
  spec.factor.seed = ctx.recipe->seed;
  if (s["finetune"].get<bool>()) spec.finetune = train_options(s, ctx, train_size);
  return spec;
}

StepOutput run_decompose(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  const bool needs_train = s["finetune"].get<bool>() || (s["rank_rule"] == "budget" && s["sensitivity"].get<bool>());
  static const train::Dataset none;
  const train::Dataset& train_set = needs_train ? ctx.train_set() : none;
  const train::Dataset& test_set = s["finetune"].get<bool>() ? ctx.test_set() : none;
  d::Spec spec = spec_of(s, ctx, train_set.size());
  if (s["finetune"].get<bool>()) spec.finetune_losses = distill_hooks(s, input, ctx);
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  d::Report r = d::run(input, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "decomposition's fine-tuning interrupted; its checkpoint is in '", ctx.work_dir,
         "': run the same recipe again to resume");
  StepOutput out{std::move(r.graph)};
  nlohmann::json diagnostics = r.finetune.empty() ? nlohmann::json::object() : epochs_json(r.finetune.back());
  diagnostics["method"] = s["method"];
  diagnostics["fc_method"] = s["fc_method"];
  diagnostics["rank_rule"] = s["rank_rule"];
  diagnostics["macs_before"] = r.macs_before;
  diagnostics["macs_after"] = r.macs_after;
  diagnostics["params_before"] = r.params_before;
  diagnostics["params_after"] = r.params_after;
  if (r.budget)
    diagnostics["budget"] = {{"met", r.budget->met},
                             {"cost", r.budget->cost},
                             {"start_cost", r.budget->start_cost},
                             {"least_cost", r.budget->least_cost},
                             {"predicted_drop", r.budget->predicted_drop},
                             {"measured_sensitivity", r.measured_sensitivity},
                             {"sensitivity_images", r.sensitivity_images}};
  nlohmann::json layers = nlohmann::json::array();
  for (const d::LayerReport& l : r.layers)
    layers.push_back({{"layer", l.layer},          {"method", l.method},         {"ranks", l.ranks},
                      {"max_ranks", l.max_ranks},  {"macs", l.before.macs},      {"macs_after", l.after.macs},
                      {"params", l.before.params}, {"params_after", l.after.params}, {"rel_error", l.rel_error},
                      {"kept_why", l.kept_why}});
  diagnostics["decompose_layers"] = layers;
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}
}  // namespace

StepKind decompose_step_kind() {
  StepKind k;
  k.name = "decompose";
  k.description = "low-rank decomposition (Tucker-2, CP, channel-wise or spatial SVD; SVD, Tensor-Train or Tensor-Ring for Gemm) with fine-tuning";
  k.keys = decompose_keys;
  k.defaults = finetune_defaults;
  k.run = run_decompose;
  k.check = [](const ir::Graph&, const Json& settings, const Recipe& recipe) {
    return check_distill_key(native(settings), recipe);
  };
  return k;
}

}  // namespace leancnn::pipeline
