// The prune step's structured branch (step_prune_structured.h): the `structured:` block and the
// step's shared keys fill a compress::structured::Spec, as `leancnn prune --structured` does.
#include "step_prune_structured.h"

#include <cstdio>
#include <limits>

#include "leancnn/compress/structured/structured.h"
#include "leancnn/core/error.h"
#include "train_settings.h"

namespace leancnn::pipeline {

namespace st = compress::structured;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

// One key of the block: its type and range, checked here since the recipe reader keeps the
// block's values as they are.
nlohmann::json block_value(const nlohmann::json& block, const KeySpec& k) {
  if (!block.contains(k.name)) return native(k.def);
  const nlohmann::json& v = block[k.name];
  const auto bad = [&](const std::string& why) { fail(ErrorKind::usage, "structured.", k.name, ": ", why); };
  switch (k.type) {
    case KeyType::boolean:
      if (!v.is_boolean()) bad("expected true or false");
      return v;
    case KeyType::string: {
      if (!v.is_string()) bad("expected a string");
      const std::string s = v;
      if (!k.choices.empty() && std::find(k.choices.begin(), k.choices.end(), s) == k.choices.end()) {
        std::string list;
        for (const std::string& c : k.choices) list += (list.empty() ? "" : ", ") + c;
        bad("'" + s + "' is not one of: " + list);
      }
      return v;
    }
    default: {
      if (!v.is_number() || (k.type == KeyType::integer && !v.is_number_integer())) bad(k.type == KeyType::integer ? "expected an integer" : "expected a number");
      const double d = v;
      const bool low = k.min_exclusive ? !(d > k.min) : !(d >= k.min);
      const bool high = k.max_exclusive ? !(d < k.max) : d > k.max;
      if (low || high) bad(str_cat("value ", d, " is out of range [", k.min, ", ", k.max, "]"));
      return v;
    }
  }
}

st::Spec spec_of(const nlohmann::json& s, const StepContext& ctx, int64_t train_size) {
  const nlohmann::json& block = s["structured"];
  for (auto it = block.begin(); it != block.end(); ++it) {
    bool known = false;
    for (const KeySpec& k : structured_keys()) known = known || k.name == it.key();
    if (!known) {
      std::string list;
      for (const KeySpec& k : structured_keys()) list += (list.empty() ? "" : ", ") + k.name;
      fail(ErrorKind::usage, "structured.", it.key(), ": not a structured-pruning key (the keys: ", list, ")");
    }
  }
  const auto get = [&](const char* name) {
    for (const KeySpec& k : structured_keys())
      if (k.name == name) return block_value(block, k);
    fail(ErrorKind::internal, "structured key ", name, " is not listed");
  };
  st::Spec spec;
  spec.criterion = st::parse_criterion(get("criterion"));
  spec.target_kind = st::parse_target_kind(get("target"));
  spec.target = get("fraction");
  spec.max_ratio = get("max_ratio");
  spec.ratios = st::parse_ratios(get("ratios"));
  spec.sensitivity.images = get("sensitivity_images");
  spec.sensitivity.seed = ctx.recipe->seed;
  spec.round_to = get("round_to");
  spec.calibration_images = get("calibration_images");
  spec.thinet_samples = get("thinet_samples");
  spec.reconstruct = get("reconstruct");
  spec.slimming_lambda = get("slimming_lambda");
  spec.group_lasso_lambda = get("group_lasso_lambda");
  spec.prune_epochs = get("prune_epochs");
  spec.from_scratch = get("from_scratch");
  const std::string schedule = s["prune_schedule"];
  if (schedule != "one_shot" && schedule != "iterative")
    fail(ErrorKind::usage, "prune_schedule: structured pruning runs one_shot or iterative, not ", schedule);
  spec.schedule = st::parse_schedule(schedule);
  spec.rounds = s["rounds"];
  spec.exclude = s["exclude"].get<std::vector<std::string>>();
  spec.seed = ctx.recipe->seed;
  if (s["finetune"].get<bool>() || spec.from_scratch || st::needs_training(spec.criterion))
    spec.finetune = train_options(s, ctx, train_size);
  if (!s["finetune"].get<bool>()) spec.finetune.epochs = 0;
  return spec;
}
}  // namespace

const std::vector<KeySpec>& structured_keys() {
  static const std::vector<KeySpec> keys = {
      {"criterion", KeyType::string, from_native("l1"), -kInf, kInf, false,
       st::criterion_names(), "how channels (or, layer: residual blocks) are ranked (docs/structured_pruning.md)"},
      {"target", KeyType::string, from_native("flops"), -kInf, kInf, false, {"flops", "params", "latency"},
       "what fraction removes (latency: batch-1 median of the compiled plan, measured)"},
      {"fraction", KeyType::number, from_native(0.5), 0, 1, true, {}, "fraction of the MACs (or params) removed", true},
      {"max_ratio", KeyType::number, from_native(0.9), 0, 1, true, {}, "most channels any group may lose", true},
      {"ratios", KeyType::string, from_native("uniform"), -kInf, kInf, false, {"uniform", "sensitivity", "latency"},
       "per-group ratios: one uniform ratio, chosen by each group's measured sensitivity under the budget, or by measured "
       "latency (NetAdapt: where batch-1 latency falls most per unit of the target)"},
      {"sensitivity_images", KeyType::integer, from_native(1000), 1, kInf, false, {}, "ratios sensitivity: held-out training images"},
      {"round_to", KeyType::integer, from_native(1), 1, kInf, false, {}, "keep a multiple of this many channels per layer (8: whole SIMD vectors)"},
      {"calibration_images", KeyType::integer, from_native(256), 1, kInf, false, {}, "hrank, apoz, thinet: training images read"},
      {"thinet_samples", KeyType::integer, from_native(4096), 16, kInf, false, {}, "thinet: output entries sampled per next layer"},
      {"reconstruct", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "thinet: least-squares rescaling of the kept channels"},
      {"slimming_lambda", KeyType::number, from_native(1e-4), 0, kInf, false, {}, "slimming: L1 weight on BN gamma"},
      {"group_lasso_lambda", KeyType::number, from_native(1e-3), 0, kInf, false, {}, "group_lasso: weight of the group-LASSO penalty"},
      {"prune_epochs", KeyType::integer, from_native(0), 0, kInf, false, {}, "slimming, sfp, group_lasso: training epochs before pruning"},
      {"from_scratch", KeyType::boolean, from_native(false), -kInf, kInf, false, {},
       "also train the pruned architecture from scratch (Liu et al. 2019), as a diagnostic row"},
  };
  return keys;
}

std::vector<SettingProblem> check_structured_prune(const ir::Graph& model, const nlohmann::json& s, const Recipe& recipe) {
  StepContext ctx;
  ctx.recipe = &recipe;
  ctx.work_dir = "<check>";
  try {
    const st::Spec spec = spec_of(s, ctx, 1);
    st::check(model, spec, 1);  // the recipe always has its data set
  } catch (const Error& e) {
    const std::string msg = e.message();
    for (const char* k : {"exclude", "prune_schedule"})
      if (msg.rfind(std::string(k) + ":", 0) == 0) return {{k, msg.substr(std::string(k).size() + 2)}};
    return {{"structured", msg}};
  }
  return {};
}

StepOutput run_structured_prune(const ir::Graph& input, const nlohmann::json& s, StepContext& ctx) {
  const train::Dataset& train_set = ctx.train_set();
  st::Spec spec = spec_of(s, ctx, train_set.size());
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  st::Report r = st::run(input, train_set, ctx.test_set(), spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "structured pruning's training interrupted; its checkpoint is in '", ctx.work_dir,
         "': run the same recipe again to resume");
  StepOutput out{std::move(r.graph)};
  const size_t ranking = st::needs_training(spec.criterion) ? 1 : 0;
  nlohmann::json d = r.finetune.size() > ranking ? epochs_json(r.finetune.back()) : nlohmann::json::object();
  d["structured"] = true;
  d["criterion"] = st::criterion_name(spec.criterion);
  d["target"] = st::target_kind_name(spec.target_kind);
  d["fraction"] = spec.target;
  d["schedule"] = st::schedule_name(spec.schedule);
  d["ratio"] = r.ratio;
  d["ratios"] = st::ratios_name(spec.ratios);
  d["params_before"] = r.params_before;
  d["macs_before"] = r.macs_before;
  d["params_after"] = r.params_after;
  d["macs_after"] = r.macs_after;
  d["finetune_runs"] = r.finetune.size() - ranking;
  nlohmann::json layers = nlohmann::json::array();
  for (const st::LayerChannels& l : r.layers)
    layers.push_back({{"layer", l.layer}, {"out_channels_before", l.out_before}, {"out_channels_after", l.out_after},
                      {"in_channels_before", l.in_before}, {"in_channels_after", l.in_after}});
  d["structured_layers"] = layers;
  nlohmann::json groups = nlohmann::json::array();
  for (const st::GroupReport& g : r.groups)
    groups.push_back({{"group", g.name}, {"sources", g.sources}, {"channels_before", g.before}, {"channels_after", g.after},
                      {"removable", g.removable}});
  d["structured_groups"] = groups;
  if (!r.removed_blocks.empty()) d["removed_blocks"] = r.removed_blocks;
  if (r.scratch_training) d["from_scratch"] = epochs_json(*r.scratch_training);
  out.diagnostics = from_native(std::move(d));
  return out;
}

}  // namespace leancnn::pipeline
