// The sensitivity ratio rule (ratios.h): one-layer probes at a few fractions on the shared
// protocol, then the shared budget solver over the fractions.
#include <algorithm>
#include <cstdio>

#include "leancnn/compress/common/budget.h"
#include "leancnn/compress/prune/ratios.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::prune {

BudgetTarget parse_budget_target(const std::string& name) {
  if (name == "sparsity") return BudgetTarget::sparsity;
  if (name == "params") return BudgetTarget::params;
  if (name == "macs") return BudgetTarget::macs;
  fail(ErrorKind::usage, "pruning target '", name, "' is not one of: sparsity, params, macs");
}

const char* budget_target_name(BudgetTarget t) {
  switch (t) {
    case BudgetTarget::sparsity: return "sparsity";
    case BudgetTarget::params: return "params";
    case BudgetTarget::macs: return "macs";
  }
  return "?";
}

namespace {
// The model with one layer's weight pruned to `ratio` by magnitude (the rest untouched).
ir::Graph probe_graph(const ir::Graph& g, const RatioLayer& l, double ratio) {
  ir::Graph p = ir::with_own_initializers(g);
  const std::vector<WeightView> v = {{l.layer, l.weight, p.value(p.find_value(l.weight)).data}};
  MaskOptions mo;
  mo.sparsity = ratio;
  apply_masks(v, magnitude_masks(v, mo));
  return p;
}
}  // namespace

SensitivityRatios sensitivity_ratios(const ir::Graph& g, const std::vector<RatioLayer>& layers,
                                     const train::Dataset& train_set, const SensitivityRatioOptions& o) {
  if (!(o.fraction >= 0 && o.fraction < 1)) fail(ErrorKind::usage, "sparsity ", o.fraction, " must be in [0, 1)");
  if (o.probe_ratios.empty()) fail(ErrorKind::usage, "sensitivity needs at least one probe fraction");
  std::vector<double> ratios = o.probe_ratios;
  std::sort(ratios.begin(), ratios.end());
  ratios.erase(std::unique(ratios.begin(), ratios.end()), ratios.end());
  for (double r : ratios)
    if (!(r > 0 && r < 1)) fail(ErrorKind::usage, "probe fraction ", r, " must be in (0, 1)");
  if (layers.empty()) fail(ErrorKind::bad_input, "no layer to probe: every weight layer is excluded");

  SensitivityRatios res;
  res.target = o.target;
  res.fraction = o.fraction;
  const SensitivitySplit split = split_for_sensitivity(train_set, o.protocol);
  res.images = split.held_out.size();
  res.baseline_acc = held_out_accuracy(g, split.held_out);
  std::vector<std::string> names;
  for (const RatioLayer& l : layers) {
    names.push_back(l.layer);
    res.layers.push_back({l.layer, l.weights, l.macs, ratios, {}, 0.0});
  }
  for (double r : ratios) {
    char what[48];
    std::snprintf(what, sizeof what, "pruned %.2f", r);
    const std::vector<LayerProbe> probes = probe_layers(
        names, res.baseline_acc,
        [&](const std::string& layer) {
          const auto it = std::find_if(layers.begin(), layers.end(), [&](const RatioLayer& l) { return l.layer == layer; });
          return probe_graph(g, *it, r);
        },
        split.held_out, what, o.log);
    for (size_t i = 0; i < probes.size(); ++i) res.layers[i].drops.push_back(probes[i].drop);
  }

  // Costs in the target's unit: weights (sparsity, params) or MACs; the fixed part is what the
  // pruned layers do not hold.
  const bool macs = o.target == BudgetTarget::macs;
  double pruned_total = 0, model_total = 0;
  for (const RatioLayer& l : layers) pruned_total += static_cast<double>(macs ? l.macs : l.weights);
  if (o.target == BudgetTarget::sparsity) {
    model_total = pruned_total;
  } else {
    ir::Graph shaped = g;
    ir::infer_shapes(shaped, ops::op_table());
    const ir::Summary s = ir::summarize(shaped, ops::op_table());
    model_total = static_cast<double>(macs ? s.macs : s.params);
  }
  const double fixed = model_total - pruned_total;
  std::vector<LayerOptions> options;
  for (const RatioProbe& p : res.layers) {
    const double unit = static_cast<double>(macs ? p.macs : p.weights);
    LayerOptions lo{p.layer, {{"dense", unit, 0.0}}};
    for (size_t k = 0; k < p.ratios.size(); ++k) {
      char label[32];
      std::snprintf(label, sizeof label, "ratio %.2f", p.ratios[k]);
      lo.options.push_back({label, unit * (1 - p.ratios[k]), p.drops[k]});
    }
    options.push_back(lo);
  }
  // The solver's budget covers the pruned layers only; an unreachable target (the fixed part
  // alone is over it) asks for the least it can give.
  res.budget = (1 - o.fraction) * model_total - fixed;
  const BudgetChoice c = solve_budget(options, std::max(res.budget, 1e-9));
  res.cost = c.cost + fixed;
  res.start_cost = c.start_cost + fixed;
  res.least_cost = c.least_cost + fixed;
  res.budget += fixed;
  res.predicted_drop = c.predicted_drop;
  res.met = c.met && res.budget - fixed > 0;
  for (size_t i = 0; i < res.layers.size(); ++i) {
    const int k = c.option[i];
    res.layers[i].chosen = k == 0 ? 0.0 : res.layers[i].ratios[static_cast<size_t>(k - 1)];
    res.layer_sparsity[res.layers[i].layer] = res.layers[i].chosen;
  }
  if (o.log) {
    char line[200];
    std::snprintf(line, sizeof line, "sensitivity: %s target %.3f -> cost %.0f of %.0f (budget %.0f)%s, predicted drop %.2f points",
                  budget_target_name(o.target), o.fraction, res.cost, res.start_cost, res.budget, res.met ? "" : " NOT met",
                  100 * res.predicted_drop);
    o.log(line);
  }
  return res;
}

}  // namespace leancnn::compress::prune
