// The qat step: quantization-aware fine-tuning of the previous (float) variant into a QDQ model
// (compress/quantize/qat.h run_qat: FakeQuantize, the trainer, the QDQ conversion). The YAML keys
// only fill a compress::quantize::QatSpec, as `leancnn train --qat-bits` does.
#include <cstdio>
#include <limits>

#include "leancnn/compress/quantize/qat.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"
#include "distill_settings.h"
#include "train_settings.h"

namespace leancnn::pipeline {

namespace q = compress::quantize;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<KeySpec> qat_keys() {
  std::vector<KeySpec> keys = train_keys();
  const std::vector<KeySpec> own = {
      {"weight_bits", KeyType::integer, from_native(4), 2, 8, false, {}, "weight bits (signed, symmetric; DoReFa: 2-7)"},
      {"act_bits", KeyType::integer, from_native(8), 2, 8, false, {}, "activation bits (unsigned, per tensor)"},
      {"method", KeyType::string, from_native("lsq"), -kInf, kInf, false, {"ste", "lsq", "dorefa"},
       "gradient of the quantizer: straight-through, learned step size (LSQ) or DoReFa"},
      {"init", KeyType::string, from_native("minmax"), -kInf, kInf, false, {"minmax", "lsq"},
       "initial scales: min-max or LSQ's 2 mean|x| / sqrt(Qp)"},
      {"per_channel", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "weight scales per output channel (else per tensor)"},
      {"first_last_bits", KeyType::integer, from_native(0), 0, 8, false, {}, "weight bits of the first and last layers (0 = weight_bits)"},
      {"calibration_images", KeyType::integer, from_native(256), 1, kInf, false, {}, "training images for the initial scales"},
  };
  keys.insert(keys.end(), own.begin(), own.end());
  keys.push_back(distill_section_key());
  return keys;
}

StepOutput run_qat(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  const train::Dataset& train_set = ctx.train_set();
  q::QatSpec spec;
  spec.qat.weight_bits = s["weight_bits"];
  spec.qat.act_bits = s["act_bits"];
  spec.qat.method = q::parse_qat_method(s["method"]);
  if (s["init"] == "lsq") spec.qat.weight_init = spec.qat.act_init = q::ScaleInit::lsq;
  spec.qat.per_channel = s["per_channel"];
  spec.qat.first_last_bits = s["first_last_bits"];
  spec.calib_images = s["calibration_images"];
  spec.seed = ctx.recipe->seed;
  spec.train = train_options(s, ctx, train_set.size());
  spec.losses = distill_hooks(s, input, ctx);
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  q::QatReport r = q::run_qat(input, train_set, ctx.test_set(), spec);
  if (r.train.interrupted)
    fail(ErrorKind::runtime, "QAT interrupted; its checkpoint is in '", ctx.work_dir, "': run the same recipe again to resume");
  StepOutput out{std::move(r.qdq)};
  nlohmann::json diagnostics = epochs_json(r.train);
  diagnostics["quantized_layers"] = r.inserted.layers;
  diagnostics["quantized_activations"] = r.inserted.activations;
  diagnostics["weight_bits"] = spec.qat.weight_bits;
  diagnostics["act_bits"] = spec.qat.act_bits;
  diagnostics["method"] = q::qat_method_name(spec.qat.method);
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}
}  // namespace

StepKind qat_step_kind() {
  StepKind k;
  k.name = "qat";
  k.description = "quantization-aware fine-tuning of the float variant into a QDQ model (defaults: the finetune step's)";
  k.keys = qat_keys;
  k.defaults = finetune_defaults;
  k.run = run_qat;
  k.check = [](const ir::Graph&, const Json& settings, const Recipe& recipe) {
    return check_distill_key(native(settings), recipe);
  };
  return k;
}

}  // namespace leancnn::pipeline
