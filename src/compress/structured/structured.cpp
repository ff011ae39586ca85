// The structured-pruning entry point (structured.h): checks, the uniform ratio that meets the
// budget, scoring, removal, the schedules, the fine-tuning and the from-scratch comparison.
#include "leancnn/compress/structured/structured.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>

#include "choice.h"
#include "criteria.h"
#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/structured/blocks.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::structured {

namespace {
const char* kCriteria[] = {"l1", "l2", "fpgm", "hrank", "apoz", "thinet", "slimming", "sfp", "layer", "nisp", "group_lasso"};
}

Criterion parse_criterion(const std::string& name) {
  for (size_t i = 0; i < std::size(kCriteria); ++i)
    if (name == kCriteria[i]) return static_cast<Criterion>(i);
  fail(ErrorKind::usage, "structured pruning criterion '", name, "' is not one of: l1, l2, fpgm, hrank, apoz, thinet, slimming, sfp, layer, nisp, group_lasso");
}
const char* criterion_name(Criterion c) { return kCriteria[static_cast<size_t>(c)]; }
std::vector<std::string> criterion_names() { return {std::begin(kCriteria), std::end(kCriteria)}; }
bool needs_data(Criterion c) {
  return c == Criterion::hrank || c == Criterion::apoz || c == Criterion::thinet || c == Criterion::layer;
}
bool needs_training(Criterion c) {
  return c == Criterion::slimming || c == Criterion::sfp || c == Criterion::group_lasso;
}

TargetKind parse_target_kind(const std::string& name) {
  if (name == "flops" || name == "macs") return TargetKind::flops;
  if (name == "params") return TargetKind::params;
  if (name == "latency") return TargetKind::latency;
  fail(ErrorKind::usage, "structured pruning target '", name, "' is not one of: flops, params, latency");
}
const char* target_kind_name(TargetKind t) {
  return t == TargetKind::flops ? "flops" : t == TargetKind::params ? "params" : "latency";
}

Ratios parse_ratios(const std::string& name) {
  if (name == "uniform") return Ratios::uniform;
  if (name == "sensitivity") return Ratios::sensitivity;
  if (name == "latency") return Ratios::latency;
  fail(ErrorKind::usage, "structured pruning ratios '", name, "' is not one of: uniform, sensitivity, latency");
}
const char* ratios_name(Ratios r) {
  return r == Ratios::uniform ? "uniform" : r == Ratios::sensitivity ? "sensitivity" : "latency";
}

Schedule parse_schedule(const std::string& name) {
  if (name == "one_shot") return Schedule::one_shot;
  if (name == "iterative") return Schedule::iterative;
  fail(ErrorKind::usage, "structured pruning schedule '", name, "' is not one of: one_shot, iterative");
}
const char* schedule_name(Schedule s) { return s == Schedule::one_shot ? "one_shot" : "iterative"; }

namespace {

ir::Graph shaped(const ir::Graph& g) {
  ir::Graph s = g;
  ir::infer_shapes(s, ops::op_table());
  return s;
}

void log_line(const Spec& spec, const std::string& line) {
  if (spec.log) spec.log(line);
}


std::vector<double> scores_for(const ir::Graph& g, const ChannelGraph& cg, const train::Dataset& train_set, const Spec& spec,
                               const Tensor& calib) {
  switch (spec.criterion) {
    case Criterion::hrank:
    case Criterion::apoz: return detail::activation_scores(g, cg, spec.criterion, calib);
    case Criterion::thinet: return detail::thinet_scores(g, cg, calib, spec.thinet_samples, spec.seed);
    case Criterion::nisp: return detail::nisp_scores(g, cg);
    default: (void)train_set; return detail::weight_scores(g, cg, spec.criterion);
  }
}

// Training before pruning that shapes the ranking: slimming (L1 on BN γ, Liu et al. 2017), group
// LASSO (above) or SFP (after every epoch the lowest-L2 filters at the target ratio are zeroed and
// keep training).
train::TrainResult ranking_training(ir::Graph& g, const train::Dataset& train_set, const train::Dataset& test_set,
                                    const Spec& spec, double ratio) {
  const ir::Graph s = shaped(g);
  const ChannelGraph cg = analyze(s);
  const std::vector<bool> frozen = frozen_groups(cg, spec);
  train::TrainOptions to = spec.finetune;
  to.epochs = spec.prune_epochs;
  if (!to.out_dir.empty()) to.out_dir += "/ranking";
  train::TrainHooks hooks;
  std::vector<std::string> gammas;
  for (size_t u = 0; u < cg.units.size(); ++u)
    if (!frozen[static_cast<size_t>(cg.units[u].group)])
      for (auto& [bn, ch] : cg.units[u].norms) gammas.push_back(s.value(s.node(bn).inputs[1]).name);
  std::sort(gammas.begin(), gammas.end());
  gammas.erase(std::unique(gammas.begin(), gammas.end()), gammas.end());
  if (spec.criterion == Criterion::slimming) {
    const double lambda = spec.slimming_lambda;
    hooks.regularizers.push_back([gammas, lambda](std::vector<runtime::Param>& params) {
      double term = 0;
      for (runtime::Param& p : params) {
        if (!std::binary_search(gammas.begin(), gammas.end(), p.name) || !p.grad.defined()) continue;
        const float* v = p.value.data<float>();
        float* d = p.grad.data<float>();
        for (int64_t i = 0; i < p.value.numel(); ++i) {
          term += lambda * std::fabs(v[i]);
          d[i] += static_cast<float>(lambda) * (v[i] > 0 ? 1.f : v[i] < 0 ? -1.f : 0.f);
        }
      }
      return term;
    });
  } else if (spec.criterion == Criterion::group_lasso) {
    hooks.regularizers.push_back(detail::group_lasso(s, cg, frozen, spec.group_lasso_lambda));
  } else {
    const int64_t steps = std::max<int64_t>(1, train_set.size() / to.batch);
    auto step = std::make_shared<int64_t>(0);
    const int64_t round_to = spec.round_to;
    hooks.after_step.push_back([&s, &cg, &frozen, ratio, round_to, steps, step](std::vector<runtime::Param>& params) {
      if (++*step % steps != 0) return;
      ir::Graph live = s;  // the trainer's parameters share storage with the graph being trained
      for (runtime::Param& p : params) live.value(live.find_value(p.name)).data = p.value;
      const std::set<int> zero = choose(cg, frozen, detail::weight_scores(live, cg, Criterion::l2), ratio, round_to);
      for (const TensorAxis& a : cg.tensors) {
        if (!a.producer) continue;
        const Tensor& t = live.value(a.value).data;
        int64_t outer = 1, inner = 1;
        for (int i = 0; i < a.axis; ++i) outer *= t.dim(i);
        for (int i = a.axis + 1; i < t.rank(); ++i) inner *= t.dim(i);
        float* p = t.data<float>();
        for (int64_t o = 0; o < outer; ++o)
          for (size_t c = 0; c < a.units.size(); ++c)
            if (a.units[c] >= 0 && zero.count(a.units[c]))
              std::fill_n(p + (o * static_cast<int64_t>(a.units.size()) + static_cast<int64_t>(c)) * inner, inner, 0.f);
      }
    });
  }
  return train::train_model(g, ops::op_table(), train_set, test_set, to, hooks);
}

// Layer pruning: the lowest-scoring identity residual blocks go until the cost meets the budget.
ir::Graph prune_blocks(const ir::Graph& g, const Tensor& calib, const Spec& spec, double budget, Report& rep) {
  const std::vector<ResidualBlock> blocks = residual_blocks(g);
  const std::vector<double> scores = block_scores(g, blocks, calib);
  std::vector<int> order(blocks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] < scores[b]; });
  std::set<int> which;
  ir::Graph out = g;
  for (int b : order) {
    if (cost(out, spec.target_kind) <= budget) break;
    which.insert(b);
    out = remove_blocks(g, blocks, which);
    rep.removed_blocks.push_back(blocks[static_cast<size_t>(b)].name);
    log_line(spec, "prune: removed residual block " + blocks[static_cast<size_t>(b)].name);
  }
  return out;
}

// One round of channel pruning: the uniform ratio (trimmed per group when round_to makes it
// overshoot), or per-group ratios by sensitivity or by measured latency, that meets the budget;
// the criterion's lowest units removed.
ir::Graph prune_channels(ir::Graph g, const train::Dataset& train_set, const Tensor& calib, const Spec& spec, double budget,
                         Report& rep) {
  const ChannelGraph cg = analyze(g);
  const std::vector<bool> frozen = frozen_groups(cg, spec);
  const std::vector<double> scores = scores_for(g, cg, train_set, spec, calib);
  std::set<int> removed;
  char line[160];
  std::optional<SensitivityChoice> sc;
  if (spec.ratios == Ratios::sensitivity) {
    sc = solve_sensitivity(g, cg, frozen, scores, spec, budget, train_set);
    if (!sc->met) log_line(spec, "prune: the sensitivity choice misses the budget; the uniform ratio is used");
  }
  // Each group's removed fraction, for the report.
  const auto ratios_of = [&](const std::vector<int64_t>& counts) {
    std::vector<double> r(cg.groups.size(), 0.0);
    for (size_t i = 0; i < cg.groups.size(); ++i)
      r[i] = static_cast<double>(counts[i]) / static_cast<double>(cg.groups[i].units.size());
    return r;
  };
  bool chosen = false;
  if (spec.ratios == Ratios::latency) {
    const RoundedChoice la = solve_latency_adapt(g, cg, frozen, spec, budget);
    if (la.met) {
      removed = choose_counts(cg, scores, la.counts);
      rep.group_ratios = ratios_of(la.counts);
      std::snprintf(line, sizeof line, "prune: ratios by measured latency (NetAdapt), %zu channels removed", removed.size());
      chosen = true;
    } else {
      log_line(spec, "prune: the latency-guided choice misses the budget; the uniform ratio is used");
    }
  }
  if (!chosen && sc && sc->met) {
    removed = sc->removed;
    rep.group_ratios = sc->ratios;
    std::snprintf(line, sizeof line, "prune: ratios by sensitivity, %zu channels removed, predicted drop %.2f points",
                  removed.size(), 100 * sc->predicted_drop);
  } else if (!chosen) {
    const RatioChoice rc = solve_ratio(g, cg, frozen, spec, budget);
    removed = choose(cg, frozen, scores, rc.ratio, spec.round_to);
    rep.ratio = rc.ratio;
    std::snprintf(line, sizeof line, "prune: ratio %.3f per group, %zu channels removed", rc.ratio, removed.size());
    if (spec.round_to > 1 && rc.met) {  // whole vectors per group: the coarse uniform step may overshoot
      const RoundedChoice rd = solve_rounded(g, cg, frozen, spec, rc.ratio, budget);
      if (rd.met && rd.cost > rc.cost) {
        removed = choose_counts(cg, scores, rd.counts);
        rep.group_ratios = ratios_of(rd.counts);
        std::snprintf(line, sizeof line,
                      "prune: ratio %.3f per group rounded to multiples of %lld channels, then trimmed to the budget: "
                      "%zu channels removed",
                      rc.ratio, static_cast<long long>(spec.round_to), removed.size());
      }
    }
  }
  log_line(spec, line);
  if (spec.criterion == Criterion::thinet && spec.reconstruct)
    g = shaped(detail::thinet_reconstruct(g, cg, removed, calib, spec.thinet_samples, spec.seed + 1));
  return remove_units(g, cg, removed);
}

// Kaiming-normal weights, zero biases, BN at identity: the pruned architecture from scratch.
void reinitialize(ir::Graph& g, uint64_t seed) {
  Rng rng(seed ^ 0x5c7a7c4ULL);
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    if (is_weight_layer(g, n)) {
      const Tensor& w = g.value(n.inputs[1]).data;
      const double fan_in = static_cast<double>(w.numel() / w.dim(0));
      rng.fill_normal(w, 0.f, static_cast<float>(std::sqrt(2.0 / fan_in)));
      if (n.inputs.size() > 2 && n.inputs[2] != ir::kNone) g.value(n.inputs[2]).data.zero();
    } else if (ir::is_onnx_op(n, "BatchNormalization") && n.inputs.size() == 5) {
      g.value(n.inputs[1]).data.fill(1.f);
      g.value(n.inputs[2]).data.zero();
      g.value(n.inputs[3]).data.zero();
      g.value(n.inputs[4]).data.fill(1.f);
    }
  }
}

}  // namespace

void check(const ir::Graph& float_graph, const Spec& spec, int64_t train_images) {
  if (!(spec.target > 0 && spec.target < 1)) fail(ErrorKind::usage, "target: the fraction removed must be in (0, 1), got ", spec.target);
  if (!(spec.max_ratio > 0 && spec.max_ratio < 1)) fail(ErrorKind::usage, "max_ratio must be in (0, 1), got ", spec.max_ratio);
  if (spec.round_to < 1) fail(ErrorKind::usage, "round_to must be >= 1, got ", spec.round_to);
  if (spec.schedule == Schedule::iterative && (spec.rounds < 1 || spec.finetune.epochs <= 0))
    fail(ErrorKind::usage, "the iterative schedule needs rounds >= 1 and fine-tuning epochs (> 0)");
  if (needs_data(spec.criterion) && spec.calibration_images < 1)
    fail(ErrorKind::usage, "calibration_images must be >= 1 for the ", criterion_name(spec.criterion), " criterion");
  if (needs_data(spec.criterion) && train_images < 1)
    fail(ErrorKind::bad_input, "the ", criterion_name(spec.criterion), " criterion ranks channels by their activations: it "
         "needs training images (--data), and none were given");
  if (needs_training(spec.criterion) && (spec.prune_epochs < 1 || train_images < 1))
    fail(ErrorKind::usage, "the ", criterion_name(spec.criterion), " criterion trains before it prunes: it needs training "
         "data and prune_epochs >= 1");
  if (spec.criterion == Criterion::thinet && spec.thinet_samples < 16)
    fail(ErrorKind::usage, "thinet_samples must be >= 16, got ", spec.thinet_samples);
  if (spec.ratios == Ratios::sensitivity && train_images < 2)
    fail(ErrorKind::bad_input, "ratios sensitivity probes every group on held-out training images: it needs training data "
         "(--data), and none were given");
  if (spec.ratios == Ratios::sensitivity && spec.sensitivity.images < 1)
    fail(ErrorKind::usage, "sensitivity_images must be >= 1, got ", spec.sensitivity.images);
  if (spec.ratios != Ratios::uniform && spec.criterion == Criterion::layer)
    fail(ErrorKind::usage, "ratios ", ratios_name(spec.ratios),
         " chooses channel ratios per group; the layer criterion removes whole blocks");
  if (spec.from_scratch && spec.finetune.epochs <= 0)
    fail(ErrorKind::usage, "from_scratch trains the pruned architecture: it needs fine-tuning epochs (> 0)");
  const ir::Graph g = shaped(float_graph);
  const ChannelGraph cg = analyze(g);
  std::vector<std::string> layers;
  for (ir::NodeId id : weight_layers(g)) layers.push_back(g.node(id).name);
  if (layers.empty()) fail(ErrorKind::bad_input, "the model has no Conv or Gemm layer with f32 initializer weights to prune");
  for (const std::string& e : spec.exclude) {
    if (std::find(layers.begin(), layers.end(), e) == layers.end())
      fail(ErrorKind::usage, "exclude: '", e, "' is not a Conv or Gemm layer of the model");
  }
  const double dense = cost(g, spec.target_kind);
  if (spec.criterion == Criterion::layer) {
    const std::vector<ResidualBlock> blocks = residual_blocks(g);
    if (blocks.empty()) fail(ErrorKind::bad_input, "layer pruning removes identity residual blocks, and the model has none");
    std::set<int> all;
    for (size_t b = 0; b < blocks.size(); ++b) all.insert(static_cast<int>(b));
    const double least = cost(remove_blocks(g, blocks, all), spec.target_kind);
    if (least > (1 - spec.target) * dense)
      fail(ErrorKind::usage, "target: removing every one of the ", blocks.size(), " identity residual blocks removes only ",
           100.0 * (1 - least / dense), " % of the ", target_kind_name(spec.target_kind), ", less than the target; the other "
           "layers cannot lose channels this way (use a channel criterion)");
    return;
  }
  const std::vector<bool> frozen = frozen_groups(cg, spec);
  if (std::all_of(frozen.begin(), frozen.end(), [](bool f) { return f; }))
    fail(ErrorKind::bad_input, "no channel of the model can be removed: every group reaches the input or the output, or is excluded");
  const RatioChoice rc = solve_ratio(g, cg, frozen, spec, (1 - spec.target) * dense);
  if (!rc.met) {
    char line[256];
    std::snprintf(line, sizeof line, "%.1f %%", 100.0 * (1 - rc.cost / dense));
    fail(ErrorKind::usage, "target: removing ", spec.target * 100, " % of the ", target_kind_name(spec.target_kind),
         " would need more than the removable groups hold (at most ", line, " with max_ratio ", spec.max_ratio,
         "; the rest is in layers that cannot lose channels, e.g. the input, the classifier, grouped convolutions)",
         spec.target_kind == TargetKind::latency
             ? "; latency is measured: a machine busy with other work makes the figures unreliable, rerun when it is quiet"
             : "");
  }
}

std::vector<LayerChannels> layer_channels(const ir::Graph& before, const ir::Graph& after) {
  std::vector<LayerChannels> out;
  for (ir::NodeId id : weight_layers(before)) {
    const ir::Node& n = before.node(id);
    const Tensor& w = before.value(n.inputs[1]).data;
    const int64_t groups = ir::is_onnx_op(n, "Conv") ? n.attrs.get_int("group", 1) : 1;
    LayerChannels lc{n.name, w.dim(0), 0, w.dim(1) * groups, 0};
    for (ir::NodeId a : after.node_ids()) {
      const ir::Node& m = after.node(a);
      if (m.name != n.name || m.inputs.size() < 2) continue;
      const Tensor& wa = after.value(m.inputs[1]).data;
      lc.out_after = wa.dim(0);
      lc.in_after = wa.dim(1) * (ir::is_onnx_op(m, "Conv") ? m.attrs.get_int("group", 1) : 1);
    }
    out.push_back(lc);
  }
  return out;
}

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set, const Spec& spec) {
  check(float_graph, spec, train_set.size());
  Report rep;
  const ir::Graph dense = shaped(ir::with_own_initializers(float_graph));
  rep.graph = dense;
  const double dense_cost = cost(dense, spec.target_kind);
  {
    const ir::Summary s = ir::summarize(dense, ops::op_table());
    rep.params_before = s.params, rep.macs_before = s.macs;
  }
  const ChannelGraph cg0 = analyze(dense);
  if (needs_training(spec.criterion)) {
    const RatioChoice rc = solve_ratio(dense, cg0, frozen_groups(cg0, spec), spec, (1 - spec.target) * dense_cost);
    log_line(spec, std::string("prune: ") + criterion_name(spec.criterion) + " training for " +
                       std::to_string(spec.prune_epochs) + " epochs before the pruning");
    rep.finetune.push_back(ranking_training(rep.graph, train_set, test_set, spec, rc.ratio));
    if (rep.finetune.back().interrupted) {
      rep.interrupted = true;
      return rep;
    }
  }
  const Tensor calib = needs_data(spec.criterion)
                           ? detail::calibration_images(train_set, spec.calibration_images, spec.seed)
                           : Tensor();
  const int rounds = spec.schedule == Schedule::iterative ? spec.rounds : 1;
  for (int r = 1; r <= rounds; ++r) {
    const double budget = std::pow(1 - spec.target, static_cast<double>(r) / rounds) * dense_cost;
    if (spec.criterion == Criterion::layer) rep.graph = prune_blocks(shaped(rep.graph), calib, spec, budget, rep);
    else rep.graph = prune_channels(shaped(rep.graph), train_set, calib, spec, budget, rep);
    char line[160];
    std::snprintf(line, sizeof line, "prune: round %d/%d, %s, %s %.1f %% of dense", r, rounds, criterion_name(spec.criterion),
                  target_kind_name(spec.target_kind), 100.0 * cost(shaped(rep.graph), spec.target_kind) / dense_cost);
    log_line(spec, line);
    if (spec.finetune.epochs <= 0) continue;
    train::TrainOptions to = spec.finetune;
    if (rounds > 1 && !to.out_dir.empty()) to.out_dir += "/round" + std::to_string(r);
    rep.finetune.push_back(train::train_model(rep.graph, ops::op_table(), train_set, test_set, to, {}));
    if (rep.finetune.back().interrupted) {
      rep.interrupted = true;
      break;
    }
  }
  rep.graph = shaped(rep.graph);
  const ir::Summary s = ir::summarize(rep.graph, ops::op_table());
  rep.params_after = s.params, rep.macs_after = s.macs;
  rep.layers = layer_channels(dense, rep.graph);
  const ChannelGraph cga = analyze(rep.graph);
  for (const Group& gr : cg0.groups) {
    GroupReport gp{gr.name, gr.sources, static_cast<int64_t>(gr.units.size()), 0, gr.removable};
    const int after = cga.group_of_layer(gr.sources.front());
    gp.after = after < 0 ? 0 : static_cast<int64_t>(cga.groups[static_cast<size_t>(after)].units.size());
    rep.groups.push_back(gp);
  }
  if (spec.from_scratch && !rep.interrupted) {
    ir::Graph scratch = ir::with_own_initializers(rep.graph);
    reinitialize(scratch, spec.seed);
    train::TrainOptions to = spec.finetune;
    if (!to.out_dir.empty()) to.out_dir += "/scratch";
    log_line(spec, "prune: training the pruned architecture from scratch (rethinking, Liu et al. 2019)");
    rep.scratch_training = train::train_model(scratch, ops::op_table(), train_set, test_set, to, {});
    rep.scratch = scratch;
    rep.interrupted = rep.scratch_training->interrupted;
  }
  return rep;
}

}  // namespace leancnn::compress::structured
