// Per-layer sensitivity: one calibration, then one fake-quant evaluation per layer probe.
#include "leancnn/compress/quantize/sensitivity.h"

#include <cstdio>

#include "leancnn/compress/quantize/evaluate.h"
#include "leancnn/core/error.h"

namespace leancnn::compress::quantize {

SensitivityResult analyze_sensitivity(const ir::Graph& float_graph, const train::Dataset& calib,
                                      const train::Dataset& held_out, const SensitivityOptions& o) {
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  if (o.probe_bits < 2 || o.probe_bits > 8) fail(ErrorKind::usage, "sensitivity probe bits must be 2..8, got ", o.probe_bits);
  if (o.baseline_bits != 0 && (o.baseline_bits < 2 || o.baseline_bits > 8))
    fail(ErrorKind::usage, "sensitivity baseline bits must be 0 (float) or 2..8, got ", o.baseline_bits);
  const ir::Graph prepared = prepare_for_quantization(float_graph);
  const QuantizableSet qs = quantizable(prepared);
  if (qs.layers.empty()) fail(ErrorKind::bad_input, "the model has no layer to quantize");
  PtqOptions p = o.ptq;
  p.layer_bits.clear();
  const std::vector<Tensor> batches = calibration_batches(calib, p.calib_images, p.calib_batch, p.seed);
  log("sensitivity: calibrating on " + std::to_string(p.calib_images) + " images");
  const Calibration cal = calibrate(prepared, qs.activations, batches, p.act_observer);
  const int64_t float_bytes = initializer_bytes(float_graph);

  SensitivityResult r;
  r.float_accuracy = predict(float_graph, held_out, Engine::executor, o.eval_images).accuracy;
  auto config = [&](const std::string& probe) {
    PtqOptions c = p;
    for (const std::string& l : qs.layers) c.layer_bits[l] = l == probe ? o.probe_bits : o.baseline_bits;
    return c;
  };
  PtqResult base = quantize_prepared(prepared, cal, batches, config(""), float_bytes);
  r.baseline_accuracy = o.baseline_bits == 0 ? r.float_accuracy
                                             : predict(base.graph, held_out, Engine::executor, o.eval_images).accuracy;
  char line[256];
  std::snprintf(line, sizeof line, "sensitivity: float %.4f, baseline (all %d-bit) %.4f", r.float_accuracy,
                o.baseline_bits, r.baseline_accuracy);
  log(line);
  for (size_t i = 0; i < qs.layers.size(); ++i) {
    const std::string& name = qs.layers[i];
    PtqResult q = quantize_prepared(prepared, cal, batches, config(name), float_bytes);
    LayerSensitivity s;
    s.name = name;
    for (const LayerReport& lr : q.layers)
      if (lr.name == name) s.op_type = lr.op_type, s.params = lr.params, s.macs = lr.macs;
    const int base_bits = o.baseline_bits == 0 ? 32 : o.baseline_bits;
    s.baseline_bytes = (s.params * base_bits + 7) / 8;
    s.probe_bytes = (s.params * o.probe_bits + 7) / 8;
    s.accuracy = predict(q.graph, held_out, Engine::executor, o.eval_images).accuracy;
    s.drop = r.baseline_accuracy - s.accuracy;
    std::snprintf(line, sizeof line, "sensitivity [%zu/%zu] %-28s %d-bit: accuracy %.4f (drop %+.2f points)", i + 1,
                  qs.layers.size(), name.c_str(), o.probe_bits, s.accuracy, 100.0 * s.drop);
    log(line);
    r.layers.push_back(s);
  }
  return r;
}

}  // namespace leancnn::compress::quantize
