// The post-training quantization family entry point (quantize.h).
#include "leancnn/compress/quantize/quantize.h"

#include "leancnn/core/error.h"

namespace leancnn::compress::quantize {

namespace {
void log_line(const PtqOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

MixedPrecisionOptions resolve_budget(const Spec& spec, const SensitivityResult& table) {
  MixedPrecisionOptions mo;
  double params = 0, mac_bits_8 = 0;
  for (const LayerSensitivity& l : table.layers) {
    params += static_cast<double>(l.params);
    mac_bits_8 += 8.0 * static_cast<double>(l.macs);
  }
  switch (spec.budget_form) {
    case BudgetForm::bytes: mo.budget = spec.budget; break;
    case BudgetForm::bytes_ratio_of_fp32: mo.budget = spec.budget * 4.0 * params; break;
    case BudgetForm::mac_bits_ratio_of_8bit:
      mo.kind = BudgetKind::latency;
      mo.budget = spec.budget * mac_bits_8;
      break;
    case BudgetForm::none: break;
  }
  return mo;
}
}  // namespace

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const Spec& spec) {
  const bool mixed = spec.budget_form != BudgetForm::none;
  if (mixed && !(spec.budget > 0)) fail(ErrorKind::usage, "a mixed-precision budget must be positive, got ", spec.budget);
  if (mixed && spec.ptq.weight_scheme != WeightScheme::uniform)
    fail(ErrorKind::usage, "mixed precision chooses between 8 and 4 uniform bits; log weights cannot take a budget");
  const train::CalibrationData& cd = spec.calibration;
  if (cd.kind != train::CalibrationKind::dataset && (spec.sensitivity || mixed))
    fail(ErrorKind::usage, "the sensitivity analysis and mixed precision score labelled training images: they need the "
         "dataset's calibration, not ", cd.describe());
  Report r;
  PtqOptions ptq = spec.ptq;
  r.calibration = cd.describe(train_set.name);
  r.synthetic_calibration = cd.synthetic();
  // The calibration inputs first, so that data that does not fit the model fails before any work.
  std::vector<Tensor> batches;
  if (ptq.act_bits > 0 || ptq.bias_correction) {
    const ir::Graph& g = float_graph;
    batches = train::load_calibration_batches(cd, g.value(g.inputs().at(0)).shape, ptq.calib_images, ptq.calib_batch,
                                              ptq.seed, &train_set);
    for (const Tensor& b : batches) r.calibration_images += b.shape().at(0);
    if (cd.synthetic())
      log_line(ptq, "calibrating on random inputs: the scales are not the data's; use this model for speed "
                    "measurements only, never for accuracy");
  }
  if (spec.sensitivity || mixed) {
    // Held out of the training set, never the test set the variants are scored on.
    const SensitivitySplit split = split_for_sensitivity(train_set, spec.protocol);
    SensitivityOptions so;
    so.ptq = ptq;
    so.baseline_bits = mixed ? 8 : spec.sensitivity_baseline_bits;
    so.probe_bits = mixed ? 4 : spec.sensitivity_probe_bits;
    so.log = ptq.log;
    r.sensitivity = analyze_sensitivity(float_graph, split.fit, split.held_out, so);
    r.sensitivity_images = split.held_out.size();
    r.sensitivity_baseline_bits = so.baseline_bits;
    r.sensitivity_probe_bits = so.probe_bits;
    if (mixed) {
      r.mixed_options = resolve_budget(spec, *r.sensitivity);
      r.mixed = choose_bits(*r.sensitivity, r.mixed_options);
      ptq.layer_bits = r.mixed->layer_bits;
      log_line(ptq, "mixed precision: " + std::to_string(r.mixed->order.size()) + " of " +
                        std::to_string(r.sensitivity->layers.size()) + " layers at 4 bits, cost " +
                        std::to_string(static_cast<int64_t>(r.mixed->cost)) + " (budget " +
                        std::to_string(static_cast<int64_t>(r.mixed_options.budget)) +
                        (r.mixed->met ? ")" : ", NOT met: every layer at 4 bits)"));
    }
  }
  r.ptq = quantize_post_training(float_graph, batches, ptq);
  return r;
}

}  // namespace leancnn::compress::quantize
