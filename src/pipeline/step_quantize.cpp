// The quantize step: post-training quantization of the previous variant into a QDQ model that
// runtime::Plan runs in integers, with the per-layer report and, when asked, the per-layer
// sensitivity table and a mixed-precision choice under a weight-size budget. The YAML keys only
// fill a compress::quantize::Spec; quantize.h's run() does the work, as for `leancnn quantize`.
#include <cstdio>
#include <filesystem>

#include "leancnn/compress/quantize/quantize.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"

namespace leancnn::pipeline {

namespace q = compress::quantize;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<KeySpec> quantize_keys() {
  const std::vector<std::string> methods = {"minmax", "ema", "percentile", "entropy", "mse"};
  return {
      {"weight_bits", KeyType::integer, from_native(8), 4, 8, false, {"4", "8"}, "weight bits: 8 (s8) or 4 (packed, per channel recommended)"},
      {"scheme", KeyType::string, from_native("uniform"), -kInf, kInf, false, {"uniform", "log2"}, "weight levels: uniform or powers of two"},
      {"per_channel", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "weight scales per output channel (else per tensor)"},
      {"weight_method", KeyType::string, from_native("minmax"), -kInf, kInf, false, methods, "weight range method"},
      {"rounding", KeyType::string, from_native("nearest"), -kInf, kInf, false, {"nearest", "stochastic"}, "weight rounding"},
      {"activation_method", KeyType::string, from_native("minmax"), -kInf, kInf, false, methods, "activation range method (calibration)"},
      {"percentile", KeyType::number, from_native(99.99), 50, 100, false, {}, "kept percent of values for the percentile method"},
      {"calibration_images", KeyType::integer, from_native(512), 1, kInf, false, {}, "calibration inputs used (a seeded sample)"},
      {"calibration_data", KeyType::string, from_native("train"), -kInf, kInf, false, {},
       "train (the recipe's training split), random (synthetic: speed only), or a folder of images, .pb tensors or IDX files"},
      {"calibration_format", KeyType::string, from_native("auto"), -kInf, kInf, false, {"auto", "images", "tensors", "idx"},
       "format of a calibration_data folder"},
      {"resize", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "resize calibration images to the model's input HxW"},
      {"scale", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "scale pixels 0-255 to [0, 1]"},
      {"mean", KeyType::string, from_native(""), -kInf, kInf, false, {}, "per-channel mean subtracted after scaling, e.g. '0.485 0.456 0.406'"},
      {"std", KeyType::string, from_native(""), -kInf, kInf, false, {}, "per-channel std divided by after the mean"},
      {"channel_order", KeyType::string, from_native("rgb"), -kInf, kInf, false, {"rgb", "bgr"}, "the model's input channel order"},
      {"bias_correction", KeyType::boolean, from_native(false), -kInf, kInf, false, {}, "correct the bias shift quantization causes"},
      {"sensitivity_images", KeyType::integer, from_native(0), 0, kInf, false, {},
       "per-layer sensitivity on N training images: each layer quantized alone, its accuracy drop (0 = off)"},
      {"size_budget", KeyType::number, from_native(0.0), 0, kInf, false, {},
       "mixed precision: weight bytes allowed; layers go from 8 to 4 bits, least sensitive first (0 = off)"},
  };
}

q::PtqOptions ptq_options(const nlohmann::json& s, uint64_t seed) {
  q::PtqOptions o;
  o.weight_bits = s["weight_bits"];
  o.weight_scheme = s["scheme"] == "log2" ? q::WeightScheme::log2 : q::WeightScheme::uniform;
  o.per_channel = s["per_channel"];
  o.weight_method = q::range_method_from_name(s["weight_method"]);
  o.rounding = q::rounding_from_name(s["rounding"]);
  o.act_observer.method = q::range_method_from_name(s["activation_method"]);
  o.act_observer.percentile = s["percentile"];
  o.calib_images = s["calibration_images"];
  o.bias_correction = s["bias_correction"];
  o.seed = seed;
  return o;
}

nlohmann::json sensitivity_json(const q::Report& report) {
  const q::SensitivityResult& t = *report.sensitivity;
  nlohmann::json rows = nlohmann::json::array();
  for (const q::LayerSensitivity& l : t.layers)
    rows.push_back({{"layer", l.name}, {"op", l.op_type}, {"weight_bits", report.sensitivity_probe_bits}, {"params", l.params},
                    {"macs", l.macs}, {"acc", l.accuracy}, {"drop", l.drop}});
  return {{"images", report.sensitivity_images},
          {"baseline_bits", report.sensitivity_baseline_bits},
          {"probe_bits", report.sensitivity_probe_bits},
          {"float_acc", t.float_accuracy},      {"baseline_acc", t.baseline_accuracy}, {"layers", rows}};
}

// The calibration data and the model's preprocessing; a relative folder is relative to the recipe.
train::CalibrationData calibration_data(const nlohmann::json& s, const Recipe& recipe) {
  try {
    train::Preprocess pre;
    pre.resize = s["resize"];
    pre.scale = s["scale"];
    pre.mean = train::parse_floats(s["mean"], "mean");
    pre.std = train::parse_floats(s["std"], "std");
    pre.order = train::parse_channel_order(s["channel_order"]);
    std::string source = s["calibration_data"];
    if (source != "train" && source != "random" && std::filesystem::path(source).is_relative() && !recipe.base_dir.empty())
      source = (std::filesystem::path(recipe.base_dir) / source).string();
    return train::calibration_data_from(source, s["calibration_format"], pre);
  } catch (Error& e) {
    e.add_context("quantize step: keys calibration_data / calibration_format / resize / scale / mean / std / channel_order");
    throw;
  }
}

StepOutput run_quantize(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  q::PtqOptions o = ptq_options(s, ctx.recipe->seed);
  if (ctx.progress) o.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  q::Spec spec;
  spec.ptq = o;
  spec.calibration = calibration_data(s, *ctx.recipe);
  const int64_t images = s["sensitivity_images"];
  const double budget = s["size_budget"];
  // Without a budget the table shows each layer quantized alone at weight_bits, the rest float;
  // with one, how much each layer loses going 8 -> 4 bits with the others at 8 (what the
  // mixed-precision choice needs).
  spec.sensitivity = images > 0;
  spec.sensitivity_baseline_bits = 0;
  spec.sensitivity_probe_bits = o.weight_bits;
  spec.protocol = {images > 0 ? images : 1000, ctx.recipe->seed};
  if (budget > 0) spec.budget_form = q::BudgetForm::bytes, spec.budget = budget;
  // The training split is loaded only when it calibrates or scores the sensitivity.
  const train::Dataset none;
  const bool needs_dataset = spec.calibration.kind == train::CalibrationKind::dataset;
  const q::Report report = q::run(input, needs_dataset ? ctx.train_set() : none, spec);
  nlohmann::json sensitivity, mixed;
  if (report.sensitivity) sensitivity = sensitivity_json(report);
  if (report.mixed) {
    const q::MixedPrecisionResult& mp = *report.mixed;
    mixed = {{"budget_bytes", budget}, {"layer_bits", mp.layer_bits}, {"weight_bytes", mp.cost},
             {"all_8bit_bytes", mp.high_cost}, {"all_4bit_bytes", mp.low_cost}, {"predicted_drop", mp.predicted_drop},
             {"met", mp.met}, {"order", mp.order}};
  }
  const q::PtqResult& r = report.ptq;
  StepOutput out{r.graph};
  nlohmann::json layers = nlohmann::json::array();
  for (const q::LayerReport& l : r.layers)
    layers.push_back({{"name", l.name},
                      {"op", l.op_type},
                      {"weight_bits", l.weight_bits},
                      {"scheme", l.scheme},
                      {"params", l.params},
                      {"macs", l.macs},
                      {"weight_sqnr_db", l.weight_sqnr_db},
                      {"bias_correction", l.bias_correction},
                      {"input_scale", l.input_scale},
                      {"input_zero_point", l.input_zero_point},
                      {"output_scale", l.output_scale},
                      {"output_zero_point", l.output_zero_point}});
  nlohmann::json diagnostics = {{"calibration", report.calibration},
                                {"calibration_images", report.calibration_images},
                                {"synthetic_calibration", report.synthetic_calibration},
                                {"preprocess", spec.calibration.preprocess.describe()},
                                {"layers", layers},
                                {"quantized_activations", r.quantized_activations},
                                {"float_weight_bytes", r.float_bytes},
                                {"weight_bytes", r.bytes}};
  if (!sensitivity.is_null()) diagnostics["sensitivity"] = sensitivity;
  if (!mixed.is_null()) diagnostics["mixed_precision"] = mixed;
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}
}  // namespace

StepKind quantize_step_kind() {
  StepKind k;
  k.name = "quantize";
  k.description = "post-training quantization to a QDQ model (int8 or 4-bit weights, u8 activations)";
  k.keys = quantize_keys;
  k.defaults = [](const Recipe&) { return Json::object(); };
  k.run = run_quantize;
  return k;
}

}  // namespace leancnn::pipeline
