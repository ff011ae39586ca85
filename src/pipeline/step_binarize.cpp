// The binarize step: binary (or ternary) weights and, by method, binary activations of the
// previous float variant, trained with latent f32 weights and packed 1 bit per weight
// (compress/binarize/binarize.h). The YAML keys only fill a compress::binarize::Spec, as
// `leancnn binarize` does.
#include <cstdio>
#include <limits>

#include "leancnn/compress/binarize/binarize.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"
#include "train_settings.h"

namespace leancnn::pipeline {

namespace b = compress::binarize;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<KeySpec> binarize_keys() {
  std::vector<KeySpec> keys = train_keys();
  const std::vector<KeySpec> own = {
      {"method", KeyType::string, from_native("xnor"), -kInf, kInf, false,
       {"binaryconnect", "binaryconnect_stochastic", "bnn", "xnor", "irnet", "twn"},
       "binarization method (docs/binarization.md)"},
      {"keep_first_last", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "keep the first and last weight layers f32"},
      {"drop_relu", KeyType::boolean, from_native(true), -kInf, kInf, false, {},
       "remove Relu nodes that feed binarized inputs (sign after Relu is always +1)"},
      {"clip_latent", KeyType::string, from_native("auto"), -kInf, kInf, false, {"auto", "on", "off"},
       "clip latent weights to [-1, 1] after each step (auto: BinaryConnect and BNN)"},
      {"ede_t", KeyType::number, from_native(1.0), 0, kInf, true, {}, "irnet: error-decay estimator t"},
      {"ede_k", KeyType::number, from_native(1.0), 0, kInf, true, {}, "irnet: error-decay estimator k"},
      {"exclude", KeyType::string_list, from_native(nlohmann::json::array()), -kInf, kInf, false, {}, "layers (node names) kept f32"},
      {"train", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "train the binarized model (the train keys)"},
  };
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

StepOutput run_binarize(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  const bool trains = s["train"].get<bool>();
  static const train::Dataset none;
  const train::Dataset& train_set = trains ? ctx.train_set() : none;
  const train::Dataset& test_set = trains ? ctx.test_set() : none;
  b::Spec spec;
  spec.method = b::parse_method(s["method"]);
  spec.keep_first_last = s["keep_first_last"];
  spec.drop_relu = s["drop_relu"];
  spec.clip_latent = s["clip_latent"] == "auto" ? -1 : s["clip_latent"] == "on" ? 1 : 0;
  spec.ede_t = s["ede_t"].get<float>();
  spec.ede_k = s["ede_k"].get<float>();
  spec.exclude = s["exclude"].get<std::vector<std::string>>();
  if (trains) spec.train = train_options(s, ctx, train_set.size());
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  b::Report r = b::run(input, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "binarization's training interrupted; its checkpoint is in '", ctx.work_dir,
         "': run the same recipe again to resume");
  StepOutput out{std::move(r.graph)};
  nlohmann::json diagnostics = r.train.epochs.empty() ? nlohmann::json::object() : epochs_json(r.train);
  diagnostics["method"] = s["method"];
  diagnostics["binarized_layers"] = r.binarized;
  diagnostics["relu_dropped"] = r.relu_dropped;
  nlohmann::json layers = nlohmann::json::array();
  for (const b::LayerReport& l : r.layers)
    layers.push_back({{"layer", l.layer}, {"binarized", l.binarized}, {"weight_bits", l.weight_bits},
                      {"input_bits", l.input_bits}, {"params", l.params}, {"kept_why", l.kept_why}});
  diagnostics["binarize_layers"] = layers;
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}
}  // namespace

StepKind binarize_step_kind() {
  StepKind k;
  k.name = "binarize";
  k.description = "binary / ternary weights and activations (BinaryConnect, BNN, XNOR-Net, IR-Net, TWN), 1-bit packed";
  k.keys = binarize_keys;
  k.defaults = finetune_defaults;
  k.run = run_binarize;
  return k;
}

}  // namespace leancnn::pipeline
