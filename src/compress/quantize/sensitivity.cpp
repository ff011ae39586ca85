// Per-layer sensitivity: one calibration, then one fake-quant evaluation per layer probe.
#include "leancnn/compress/quantize/sensitivity.h"

#include <cstdio>

#include "leancnn/compress/common/sensitivity.h"
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
  r.float_accuracy = held_out_accuracy(float_graph, held_out);
  auto config = [&](const std::string& probe) {
    PtqOptions c = p;
    for (const std::string& l : qs.layers) c.layer_bits[l] = l == probe ? o.probe_bits : o.baseline_bits;
    return c;
  };
  const PtqResult base = quantize_prepared(prepared, cal, batches, config(""), float_bytes);
  r.baseline_accuracy = o.baseline_bits == 0 ? r.float_accuracy : held_out_accuracy(base.graph, held_out);
  char line[256];
  std::snprintf(line, sizeof line, "sensitivity: float %.4f, baseline (all %d-bit) %.4f on %lld held-out images",
                r.float_accuracy, o.baseline_bits, r.baseline_accuracy, static_cast<long long>(held_out.size()));
  log(line);
  const std::vector<LayerProbe> probes = probe_layers(
      qs.layers, r.baseline_accuracy,
      [&](const std::string& layer) { return quantize_prepared(prepared, cal, batches, config(layer), float_bytes).graph; },
      held_out, std::to_string(o.probe_bits) + "-bit", log);
  const int base_bits = o.baseline_bits == 0 ? 32 : o.baseline_bits;
  for (const LayerProbe& probe : probes) {
    LayerSensitivity s;
    s.name = probe.layer;
    for (const LayerReport& lr : base.layers)
      if (lr.name == probe.layer) s.op_type = lr.op_type, s.params = lr.params, s.macs = lr.macs;
    s.baseline_bytes = (s.params * base_bits + 7) / 8;
    s.probe_bytes = (s.params * o.probe_bits + 7) / 8;
    s.accuracy = probe.accuracy;
    s.drop = probe.drop;
    r.layers.push_back(s);
  }
  return r;
}

}  // namespace leancnn::compress::quantize
