// Per-layer sensitivity to quantization, on the shared protocol (compress/common/sensitivity.h):
// starting from a baseline configuration (every layer at `baseline_bits`, activations u8), one
// layer at a time is moved to `probe_bits` and the fake-quant accuracy (reference executor on the
// QDQ graph) on held-out training images is measured; the drop against the baseline is that
// layer's sensitivity. One calibration (on the fitting part) serves every probe.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "leancnn/compress/quantize/ptq.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::quantize {

struct SensitivityOptions {
  PtqOptions ptq;              // quantization of every probe (weight_bits / layer_bits are overridden)
  int baseline_bits = 8;       // every layer's bits in the baseline (0: float baseline)
  int probe_bits = 4;          // the one layer's bits in a probe (8 with baseline 0: "this layer alone at 8")
  std::function<void(const std::string&)> log;
};

struct LayerSensitivity {
  std::string name;
  std::string op_type;
  int64_t params = 0;
  int64_t macs = 0;
  int64_t baseline_bytes = 0;  // weight storage at baseline bits (params * bits / 8)
  int64_t probe_bytes = 0;     // at probe bits
  double accuracy = 0;         // fake-quant accuracy with this layer at probe bits
  double drop = 0;             // baseline accuracy - accuracy (points are 100 x this)
};

struct SensitivityResult {
  double float_accuracy = 0;
  double baseline_accuracy = 0;
  std::vector<LayerSensitivity> layers;  // topological order
};

// `calib` gives calibration images (PtqOptions::calib_images of them), `held_out` the
// evaluation images (all of them: compress::split_for_sensitivity makes the two).
// Error(bad_input) on a model with no quantizable layer.
SensitivityResult analyze_sensitivity(const ir::Graph& float_graph, const train::Dataset& calib,
                                      const train::Dataset& held_out, const SensitivityOptions& options);

}  // namespace leancnn::compress::quantize
