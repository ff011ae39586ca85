// Per-layer sensitivity, one protocol for every family (docs/compression.md): the images are
// held out of the training set (never the test set): `split` puts `images` of them (at most
// half the set, a seeded sample) aside for evaluation and leaves the rest for fitting
// (calibration, statistics). A probe is the model with one layer changed (4-bit weights, a prune
// ratio, a rank, binary) and the rest at the baseline; its drop is the baseline's accuracy on
// the held-out images minus the probe's, both through the reference executor (fake-quant for a
// QDQ model), top-1.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress {

struct SensitivityProtocol {
  int64_t images = 1000;  // held-out training images
  uint64_t seed = 0;      // the held-out sample
};

struct SensitivitySplit {
  train::Dataset fit;       // calibration / statistics
  train::Dataset held_out;  // evaluation of probes
};

// Error(bad_input) when the training set has fewer than 2 images.
SensitivitySplit split_for_sensitivity(const train::Dataset& train_set, const SensitivityProtocol& p);

// Top-1 accuracy of g on the held-out images (reference executor).
double held_out_accuracy(const ir::Graph& g, const train::Dataset& held_out);

struct LayerProbe {
  std::string layer;
  double accuracy = 0;  // with this layer probed
  double drop = 0;      // baseline accuracy - accuracy (points are 100 x this)
};

// One probe per layer: `probe(layer)` builds the model with that layer changed; `log` (may be
// empty) gets one line per probe, "<what> [i/n] <layer>: accuracy A (drop D points)".
std::vector<LayerProbe> probe_layers(const std::vector<std::string>& layers, double baseline_accuracy,
                                     const std::function<ir::Graph(const std::string&)>& probe,
                                     const train::Dataset& held_out, const std::string& what,
                                     const std::function<void(const std::string&)>& log);

}  // namespace leancnn::compress
