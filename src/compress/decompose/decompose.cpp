// The decomposition entry point (decompose.h): which layers, at which ranks, then the rewrites
// and the fine-tuning.
#include "leancnn/compress/decompose/decompose.h"

#include <algorithm>
#include <cstdio>

#include "leancnn/compress/common/latency.h"
#include "leancnn/compress/common/layers.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::decompose {

RankRule parse_rank_rule(const std::string& name) {
  if (name == "energy") return RankRule::energy;
  if (name == "ratio") return RankRule::ratio;
  if (name == "budget") return RankRule::budget;
  if (name == "vbmf") return RankRule::vbmf;
  fail(ErrorKind::usage, "rank rule '", name, "' is not one of: energy, ratio, budget, vbmf");
}

const char* rank_rule_name(RankRule r) {
  switch (r) {
    case RankRule::energy: return "energy";
    case RankRule::ratio: return "ratio";
    case RankRule::budget: return "budget";
    case RankRule::vbmf: return "vbmf";
  }
  return "?";
}

namespace {
struct Candidate {
  ir::NodeId node;
  size_t report;  // index into Report::layers
  Method method;
  std::vector<int64_t> ranks;  // chosen; empty: left as it is
};

void log_line(const Spec& s, const std::string& line) {
  if (s.log) s.log(line);
}

std::string ranks_str(const std::vector<int64_t>& r) {
  std::string s;
  for (int64_t x : r) {
    if (!s.empty()) s += 'x';
    s += std::to_string(x);
  }
  return s;
}

void check_spec(const Spec& s) {
  if (is_fc_method(s.conv_method))
    fail(ErrorKind::usage, method_name(s.conv_method), " is a Gemm method; a conv method is one of channel_svd, spatial_svd, tucker2, cp");
  if (!is_fc_method(s.fc_method))
    fail(ErrorKind::usage, method_name(s.fc_method), " is a Conv method; the Gemm (fc) method is one of svd, tt, tr");
  if ((s.fc && s.fc_method != Method::svd) && (s.factor.tt_cores < 2 || s.factor.tt_cores > 8))
    fail(ErrorKind::usage, "tt_cores must be in [2, 8], got ", s.factor.tt_cores);
  if (s.rank_rule == RankRule::vbmf && s.convs && s.conv_method == Method::cp)
    fail(ErrorKind::usage, "the vbmf rank rule does not apply to cp (no matrix to read a rank from): use energy, ratio or budget");
  if (!s.convs && !s.fc) fail(ErrorKind::usage, "nothing to decompose: neither Conv nor Gemm layers are selected");
  if (s.rank_rule == RankRule::energy && !(s.energy > 0 && s.energy <= 1)) fail(ErrorKind::usage, "energy must be in (0, 1], got ", s.energy);
  if (s.rank_rule == RankRule::ratio && !(s.rank_ratio > 0 && s.rank_ratio <= 1))
    fail(ErrorKind::usage, "rank ratio must be in (0, 1], got ", s.rank_ratio);
  if (s.round_to < 1) fail(ErrorKind::usage, "round_to must be >= 1, got ", s.round_to);
  if (s.rank_rule == RankRule::budget && !(s.budget_ratio > 0 && s.budget_ratio < 1))
    fail(ErrorKind::usage, "budget ratio must be in (0, 1), got ", s.budget_ratio);
}

int64_t in_unit(const LayerCost& c, CostUnit u) { return u == CostUnit::params ? c.params : c.macs; }

// The layer alone, batch 1: an input of its input's shape, its weight (and bias) initializers,
// its output; for timing a layer and its chains in isolation (the latency budget).
ir::Graph layer_alone(const ir::Graph& g, const ir::Node& n) {
  ir::Graph one;
  one.name = n.name;
  Shape shape = g.value(n.inputs[0]).shape;
  shape[0] = 1;
  std::vector<ir::ValueId> inputs = {one.add_input("input", shape)};
  for (size_t i = 1; i < n.inputs.size(); ++i) {
    if (n.inputs[i] == ir::kNone) {
      inputs.push_back(ir::kNone);
      continue;
    }
    const ir::Value& v = g.value(n.inputs[i]);
    inputs.push_back(one.add_initializer(v.name, v.data, v.trainable));
  }
  const ir::ValueId out = one.add_value("output");
  one.add_node(n.op_type, inputs, {out}, n.attrs, n.name, n.domain);
  one.mark_output(out);
  ir::infer_shapes(one, ops::op_table());
  return one;
}

// The budget rule: one option per candidate ("as it is", then the rank ladder) from the solver.
BudgetChoice choose_by_budget(const ir::Graph& g, std::vector<Candidate>& cands, const Spec& spec,
                              const train::Dataset& train_set, double model_cost, Report& rep) {
  const ir::OpTable& ops = ops::op_table();
  std::vector<LayerOptions> options;
  std::vector<std::vector<RankOption>> ladders;
  double candidates_cost = 0;
  std::optional<SensitivitySplit> split;
  double baseline = 0;
  if (spec.sensitivity) {
    split = split_for_sensitivity(train_set, spec.protocol);
    baseline = held_out_accuracy(g, split->held_out);
    rep.measured_sensitivity = true;
    rep.sensitivity_images = split->held_out.size();
  }
  // Latency: each layer and each of its chains timed alone (layer_alone), batch 1: additive
  // costs, and far less noisy than the whole model timed with one layer changed (tried first:
  // run-to-run drift of the model's time made chains that were slower look faster).
  const bool latency = spec.budget_unit == CostUnit::latency;
  FactorOptions timing = spec.factor;
  timing.hooi_iters = 0;  // the shapes decide the time, not the factors' values
  timing.cp_iters = 1;
  for (size_t i = 0; i < cands.size(); ++i) {
    const Candidate& c = cands[i];
    const ir::Node& n = g.node(c.node);
    const LayerCost base = layer_cost(g, n);
    std::vector<RankOption> ladder = rank_ladder(g, n, c.method, spec.budget_unit, spec.factor, spec.round_to);
    std::vector<double> cost(ladder.size());
    double base_cost = static_cast<double>(in_unit(base, spec.budget_unit));
    if (latency) {
      const ir::Graph alone = layer_alone(g, n);
      measured_latency_ms(alone);  // warms the caches: the next measurement counts
      base_cost = measured_latency_ms(alone);
      for (size_t k = 0; k < ladder.size(); ++k) {
        ir::Graph chain = alone;
        decompose_layer(chain, chain.node_ids().at(0), c.method, ladder[k].ranks, timing);
        ir::infer_shapes(chain, ops);
        cost[k] = measured_latency_ms(chain);
        char line[200];
        std::snprintf(line, sizeof line, "latency [%zu/%zu] %-24s %.4f ms; %s rank %s: %.4f ms", i + 1, cands.size(),
                      n.name.c_str(), base_cost, method_name(c.method), ranks_str(ladder[k].ranks).c_str(), cost[k]);
        log_line(spec, line);
      }
      // Keep the rungs faster than the option before them by more than 3 % (timing noise).
      std::vector<RankOption> kept;
      std::vector<double> kept_cost;
      double last = base_cost;
      for (size_t k = 0; k < ladder.size(); ++k)
        if (cost[k] < 0.97 * last) {
          last = cost[k];
          kept.push_back(ladder[k]);
          kept_cost.push_back(cost[k]);
        }
      ladder = std::move(kept);
      cost = std::move(kept_cost);
    } else {
      for (size_t k = 0; k < ladder.size(); ++k) cost[k] = static_cast<double>(in_unit(ladder[k].cost, spec.budget_unit));
    }
    candidates_cost += base_cost;
    LayerOptions lo;
    lo.layer = n.name;
    lo.options.push_back({"as is", base_cost, 0.0});
    ladders.push_back(ladder);
    // Without sensitivity, every rung's drop comes from the layer's spectra at once.
    const std::vector<double> proxy = split ? std::vector<double>{} : ladder_errors(g, n, c.method, ladders.back(), spec.factor);
    for (size_t k = 0; k < ladders.back().size(); ++k) {
      const RankOption& r = ladders.back()[k];
      double drop;
      if (split) {
        ir::Graph probe = g;
        decompose_layer(probe, c.node, c.method, r.ranks, spec.factor);
        ir::infer_shapes(probe, ops);
        drop = baseline - held_out_accuracy(probe, split->held_out);
        char line[200];
        std::snprintf(line, sizeof line, "sensitivity [%zu/%zu] %-24s %s rank %s: drop %+.2f points", i + 1, cands.size(),
                      n.name.c_str(), method_name(c.method), ranks_str(r.ranks).c_str(), 100 * drop);
        log_line(spec, line);
      } else {
        drop = proxy[k];  // the share of the weight's energy lost: a data-free stand-in for the drop
      }
      lo.options.push_back({r.ranks.size() > 1 ? "ranks " + ranks_str(r.ranks) : "rank " + ranks_str(r.ranks), cost[k], drop});
    }
    options.push_back(std::move(lo));
  }
  const double fixed = model_cost - candidates_cost;
  const double target = spec.budget_ratio * model_cost;
  // Below the fixed part no choice meets the budget: the solver then takes every cheapest option.
  BudgetChoice choice = solve_budget(options, std::max(target - fixed, 1e-9));
  choice.cost += fixed;
  choice.start_cost += fixed;
  choice.least_cost += fixed;
  choice.met = choice.cost <= target * (1 + 1e-12);
  for (size_t i = 0; i < cands.size(); ++i) {
    const int at = choice.option[i];
    if (at == 0) rep.layers[cands[i].report].kept_why = "budget met without it";
    else cands[i].ranks = ladders[i][static_cast<size_t>(at - 1)].ranks;
  }
  return choice;
}
}  // namespace

void check(const ir::Graph& float_graph, const Spec& spec) {
  check_spec(spec);
  const std::vector<ir::NodeId> layers = weight_layers(float_graph);
  if (layers.empty()) fail(ErrorKind::bad_input, "the model has no Conv or Gemm layer with f32 initializer weights to decompose");
  for (const std::string& name : spec.exclude)
    if (std::none_of(layers.begin(), layers.end(), [&](ir::NodeId id) { return float_graph.node(id).name == name; }))
      fail(ErrorKind::usage, "exclude: '", name, "' is not a Conv or Gemm layer of the model");
}

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec) {
  check(float_graph, spec);
  const ir::OpTable& ops = ops::op_table();
  Report rep;
  rep.graph = ir::with_own_initializers(float_graph);
  ir::Graph& g = rep.graph;
  ir::infer_shapes(g, ops);
  const std::vector<ir::NodeId> layers = weight_layers(g);
  const ir::Summary before = ir::summarize(g, ops);
  rep.macs_before = before.macs;
  rep.params_before = before.params;

  std::vector<Candidate> cands;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ir::Node& n = g.node(layers[i]);
    LayerReport lr;
    lr.layer = n.name;
    lr.before = lr.after = layer_cost(g, n);
    const bool gemm = ir::is_onnx_op(n, "Gemm");
    const Method m = gemm ? spec.fc_method : spec.conv_method;
    if (std::find(spec.exclude.begin(), spec.exclude.end(), n.name) != spec.exclude.end()) lr.kept_why = "excluded";
    else if (spec.keep_first && i == 0) lr.kept_why = "first layer kept";
    else if (gemm ? !spec.fc : !spec.convs) lr.kept_why = gemm ? "Gemm layers not selected" : "Conv layers not selected";
    else lr.kept_why = not_applicable(g, n, m);
    if (lr.kept_why.empty()) {
      lr.max_ranks = max_ranks(g, n, m, spec.factor);
      cands.push_back({layers[i], rep.layers.size(), m, {}});
    }
    rep.layers.push_back(lr);
  }

  if (spec.rank_rule == RankRule::budget) {
    double model_cost = static_cast<double>(spec.budget_unit == CostUnit::params ? before.params : before.macs);
    if (spec.budget_unit == CostUnit::latency) {
      measured_latency_ms(g);  // warms the caches and the CPU: the second measurement counts
      model_cost = measured_latency_ms(g);
    }
    rep.budget = choose_by_budget(g, cands, spec, train_set, model_cost, rep);
  } else {
    for (Candidate& c : cands) {
      const ir::Node& n = g.node(c.node);
      const std::vector<int64_t> r = rounded_ranks(
          spec.rank_rule == RankRule::energy ? energy_ranks(g, n, c.method, spec.energy, spec.factor)
          : spec.rank_rule == RankRule::vbmf ? vbmf_ranks(g, n, c.method, spec.factor)
                                             : ratio_ranks(g, n, c.method, spec.rank_ratio, spec.factor),
          rep.layers[c.report].max_ranks, c.method, spec.round_to);
      // A TT / TR layer is there to save parameters (its MACs can exceed the dense layer's
      // when n_k r_k > m_k); every other chain must save MACs.
      const bool by_params = c.method == Method::tt || c.method == Method::tr;
      const LayerCost chain = decomposed_cost(g, n, c.method, r), dense = layer_cost(g, n);
      if (by_params ? chain.params >= dense.params : chain.macs >= dense.macs)
        rep.layers[c.report].kept_why = std::string(by_params ? "no parameter" : "no MAC") + " saving at ranks " + ranks_str(r);
      else c.ranks = r;
    }
  }

  for (const Candidate& c : cands) {
    if (c.ranks.empty()) continue;
    LayerReport& lr = rep.layers[c.report];
    lr.after = decomposed_cost(g, g.node(c.node), c.method, c.ranks);
    const Rewrite rw = decompose_layer(g, c.node, c.method, c.ranks, spec.factor);
    lr.method = method_name(c.method);
    lr.ranks = c.ranks;
    lr.rel_error = rw.rel_error;
    char line[200];
    std::snprintf(line, sizeof line, "decompose: %-24s %s ranks %s, MACs %lld -> %lld, relative error %.4f", lr.layer.c_str(),
                  lr.method.c_str(), ranks_str(lr.ranks).c_str(), static_cast<long long>(lr.before.macs),
                  static_cast<long long>(lr.after.macs), lr.rel_error);
    log_line(spec, line);
  }
  ir::infer_shapes(g, ops);
  ir::verify(g, ops);
  const ir::Summary after = ir::summarize(g, ops);
  rep.macs_after = after.macs;
  rep.params_after = after.params;
  if (spec.rank_rule == RankRule::budget && spec.budget_unit == CostUnit::latency) {
    std::vector<double> before_ms, after_ms;
    for (int round = 0; round < 3; ++round) {
      before_ms.push_back(measured_latency_ms(float_graph));
      after_ms.push_back(measured_latency_ms(g));
    }
    std::sort(before_ms.begin(), before_ms.end());
    std::sort(after_ms.begin(), after_ms.end());
    rep.latency_before_ms = before_ms[1];
    rep.latency_after_ms = after_ms[1];
    char line[200];
    std::snprintf(line, sizeof line, "decompose: whole model %.4f -> %.4f ms (medians of 3 alternating rounds)%s",
                  rep.latency_before_ms, rep.latency_after_ms,
                  rep.latency_after_ms >= rep.latency_before_ms ? ": NOT faster in the network" : "");
    log_line(spec, line);
  }

  if (spec.finetune.epochs > 0) {
    rep.finetune.push_back(train::train_model(g, ops, train_set, test_set, spec.finetune, train::TrainHooks{{}, {}, spec.finetune_losses}));
    rep.interrupted = rep.finetune.back().interrupted;
  }
  return rep;
}

}  // namespace leancnn::compress::decompose
