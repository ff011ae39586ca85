// Per-layer bit-width choice under a size or latency budget: the shared budget solver
// (compress/common/budget.h) over two options per layer, high and low bits.
#include "leancnn/compress/quantize/mixed_precision.h"

#include "leancnn/compress/common/budget.h"
#include "leancnn/core/error.h"

namespace leancnn::compress::quantize {

MixedPrecisionResult choose_bits(const SensitivityResult& table, const MixedPrecisionOptions& o) {
  if (o.low_bits >= o.high_bits || o.low_bits < 2 || o.high_bits > 8)
    fail(ErrorKind::usage, "mixed precision needs 2 <= low bits < high bits <= 8, got ", o.low_bits, " and ", o.high_bits);
  if (!(o.budget > 0)) fail(ErrorKind::usage, "mixed precision needs a positive budget, got ", o.budget);
  auto cost = [&](const LayerSensitivity& l, int bits) {
    const double unit = o.kind == BudgetKind::bytes ? static_cast<double>(l.params) / 8.0 : static_cast<double>(l.macs);
    return unit * bits;
  };
  std::vector<LayerOptions> layers;
  for (const LayerSensitivity& l : table.layers)
    layers.push_back({l.name,
                      {{std::to_string(o.high_bits) + "-bit", cost(l, o.high_bits), 0.0},
                       {std::to_string(o.low_bits) + "-bit", cost(l, o.low_bits), l.drop}}});
  const BudgetChoice c = solve_budget(layers, o.budget);
  MixedPrecisionResult r;
  for (size_t i = 0; i < layers.size(); ++i) r.layer_bits[layers[i].layer] = c.option[i] == 0 ? o.high_bits : o.low_bits;
  r.cost = c.cost;
  r.high_cost = c.start_cost;
  r.low_cost = c.least_cost;
  r.predicted_drop = c.predicted_drop;
  r.met = c.met;
  r.order = c.order;
  return r;
}

}  // namespace leancnn::compress::quantize
