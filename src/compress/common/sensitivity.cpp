// The shared sensitivity protocol (sensitivity.h).
#include "leancnn/compress/common/sensitivity.h"

#include <algorithm>
#include <cstdio>

#include "leancnn/core/error.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/predict.h"

namespace leancnn::compress {

SensitivitySplit split_for_sensitivity(const train::Dataset& train_set, const SensitivityProtocol& p) {
  if (train_set.size() < 2) fail(ErrorKind::bad_input, "sensitivity needs at least 2 training images, got ", train_set.size());
  if (p.images < 1) fail(ErrorKind::usage, "sensitivity needs at least 1 held-out image, got ", p.images);
  auto [fit, held_out] = train::split_validation(train_set, std::min(p.images, train_set.size() / 2), p.seed);
  return {std::move(fit), std::move(held_out)};
}

double held_out_accuracy(const ir::Graph& g, const train::Dataset& held_out) {
  return train::predict(g, held_out, train::Engine::executor).accuracy;
}

std::vector<LayerProbe> probe_layers(const std::vector<std::string>& layers, double baseline_accuracy,
                                     const std::function<ir::Graph(const std::string&)>& probe,
                                     const train::Dataset& held_out, const std::string& what,
                                     const std::function<void(const std::string&)>& log) {
  std::vector<LayerProbe> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerProbe p;
    p.layer = layers[i];
    p.accuracy = held_out_accuracy(probe(layers[i]), held_out);
    p.drop = baseline_accuracy - p.accuracy;
    if (log) {
      char line[256];
      std::snprintf(line, sizeof line, "sensitivity [%zu/%zu] %-28s %s: accuracy %.4f (drop %+.2f points)", i + 1,
                    layers.size(), layers[i].c_str(), what.c_str(), p.accuracy, 100.0 * p.drop);
      log(line);
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace leancnn::compress
