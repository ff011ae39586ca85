// Greedy per-layer bit-width choice under a size or latency budget.
#include "leancnn/compress/quantize/mixed_precision.h"

#include <algorithm>

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
  MixedPrecisionResult r;
  struct Candidate {
    size_t index;
    double saving, drop;
  };
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < table.layers.size(); ++i) {
    const LayerSensitivity& l = table.layers[i];
    r.layer_bits[l.name] = o.high_bits;
    r.high_cost += cost(l, o.high_bits);
    r.low_cost += cost(l, o.low_bits);
    const double saving = cost(l, o.high_bits) - cost(l, o.low_bits);
    if (saving > 0) candidates.push_back({i, saving, l.drop});
  }
  // Least drop per unit saved first; a layer that gains accuracy (negative drop) goes first.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.drop / a.saving < b.drop / b.saving; });
  r.cost = r.high_cost;
  for (const Candidate& c : candidates) {
    if (r.cost <= o.budget) break;
    const LayerSensitivity& l = table.layers[c.index];
    r.layer_bits[l.name] = o.low_bits;
    r.cost -= c.saving;
    r.predicted_drop += l.drop;
    r.order.push_back(l.name);
  }
  r.met = r.cost <= o.budget * (1 + 1e-12);
  return r;
}

}  // namespace leancnn::compress::quantize
