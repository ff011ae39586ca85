// Greedy choice of one option per layer under a budget (budget.h).
#include "leancnn/compress/common/budget.h"

#include "leancnn/core/error.h"

namespace leancnn::compress {

BudgetChoice solve_budget(const std::vector<LayerOptions>& layers, double budget) {
  if (!(budget > 0)) fail(ErrorKind::usage, "a budget must be positive, got ", budget);
  BudgetChoice r;
  r.option.assign(layers.size(), 0);
  for (const LayerOptions& l : layers) {
    if (l.options.empty()) fail(ErrorKind::usage, "layer '", l.layer, "' has no option to choose from");
    r.start_cost += l.options.front().cost;
    r.least_cost += l.options.back().cost;
  }
  r.cost = r.start_cost;
  while (r.cost > budget) {
    int best = -1;
    double best_ratio = 0, best_saving = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      const std::vector<BudgetOption>& o = layers[i].options;
      const int at = r.option[i];
      if (at + 1 >= static_cast<int>(o.size())) continue;
      const double saving = o[at].cost - o[at + 1].cost;
      if (!(saving > 0)) continue;
      // A move that gains accuracy (negative drop) comes first.
      const double ratio = (o[at + 1].drop - o[at].drop) / saving;
      if (best < 0 || ratio < best_ratio) best = static_cast<int>(i), best_ratio = ratio, best_saving = saving;
    }
    if (best < 0) break;
    const std::vector<BudgetOption>& o = layers[best].options;
    const int at = r.option[best];
    r.predicted_drop += o[at + 1].drop - o[at].drop;
    r.cost -= best_saving;
    r.option[best] = at + 1;
    r.order.push_back(layers[best].layer);
  }
  r.met = r.cost <= budget * (1 + 1e-12);
  return r;
}

}  // namespace leancnn::compress
