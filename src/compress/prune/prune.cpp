// The pruning entry point (prune.h): checks, per-layer fractions, masks, the one-shot,
// iterative and gradual schedules and the fine-tuning that holds the masks.
#include "leancnn/compress/prune/prune.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "leancnn/compress/common/layers.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "prune_internal.h"

namespace leancnn::compress::prune {

Schedule parse_schedule(const std::string& name) {
  if (name == "one_shot") return Schedule::one_shot;
  if (name == "iterative") return Schedule::iterative;
  if (name == "gradual") return Schedule::gradual;
  if (name == "lottery") return Schedule::lottery;
  fail(ErrorKind::usage, "pruning schedule '", name, "' is not one of: one_shot, iterative, gradual, lottery");
}

const char* schedule_name(Schedule s) {
  switch (s) {
    case Schedule::one_shot: return "one_shot";
    case Schedule::iterative: return "iterative";
    case Schedule::gradual: return "gradual";
    case Schedule::lottery: return "lottery";
  }
  return "?";
}

std::vector<std::string> prunable_layers(const ir::Graph& g) {
  std::vector<std::string> names;
  for (ir::NodeId id : weight_layers(g)) names.push_back(g.node(id).name);
  return names;
}

namespace detail {

std::vector<Target> targets(const ir::Graph& g, const Spec& spec, std::vector<LayerReport>& report) {
  const std::vector<ir::NodeId> layers = weight_layers(g);
  std::vector<Target> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ir::Node& n = g.node(layers[i]);
    const ir::Value& w = g.value(n.inputs[1]);
    LayerReport r{n.name, w.data.numel(), w.data.numel(), 0.0, ""};
    if (std::find(spec.exclude.begin(), spec.exclude.end(), n.name) != spec.exclude.end())
      r.skipped = "excluded";
    else if (spec.keep_first && i == 0)
      r.skipped = "first layer kept dense";
    else
      out.push_back({n.name, w.name});
    report.push_back(r);
  }
  return out;
}

std::vector<WeightView> views_of(const ir::Graph& g, const std::vector<Target>& ts) {
  std::vector<WeightView> v;
  for (const Target& t : ts) v.push_back({t.layer, t.weight, g.value(g.find_value(t.weight)).data});
  return v;
}

std::vector<WeightView> views_of(std::vector<runtime::Param>& params, const std::vector<Target>& ts) {
  std::map<std::string, const Tensor*> by_name;
  for (const runtime::Param& p : params) by_name[p.name] = &p.value;
  std::vector<WeightView> v;
  for (const Target& t : ts) {
    const auto it = by_name.find(t.weight);
    LEANCNN_CHECK(it != by_name.end(), "pruned weight '", t.weight, "' is not a trainable parameter");
    v.push_back({t.layer, t.weight, *it->second});
  }
  return v;
}

void log_line(const Spec& spec, const std::string& line) {
  if (spec.log) spec.log(line);
}

train::TrainResult finetune(ir::Graph& g, const std::vector<Target>& ts, std::vector<LayerMask>& masks,
                            const train::Dataset& train_set, const train::Dataset& test_set, const Spec& spec,
                            const train::TrainOptions& options) {
  train::TrainHooks hooks;
  hooks.losses = spec.finetune_losses;
  if (spec.schedule == Schedule::gradual) {
    const int64_t steps_per_epoch = (train_set.size() + options.batch - 1) / options.batch;
    const double ramp_steps = std::max(1.0, spec.ramp * static_cast<double>(steps_per_epoch * options.epochs));
    auto step = std::make_shared<int64_t>(0);
    hooks.after_step.push_back([&ts, &masks, &spec, step, ramp_steps](std::vector<runtime::Param>& params) {
      const std::vector<WeightView> views = views_of(params, ts);
      const int64_t t = ++*step;
      if (t % spec.interval == 0 && static_cast<double>(t) <= ramp_steps + spec.interval) {
        const double frac = std::min(1.0, static_cast<double>(t) / ramp_steps);
        const double ramp = 1.0 - std::pow(1.0 - frac, 3.0);
        masks = magnitude_masks(views, scaled_sparsity(spec.mask, [ramp](double s) { return s * ramp; }));
      }
      apply_masks(views, masks);
    });
  } else {
    hooks.after_step.push_back([&ts, &masks](std::vector<runtime::Param>& params) {
      apply_masks(views_of(params, ts), masks);
    });
  }
  train::TrainResult r = train::train_model(g, ops::op_table(), train_set, test_set, options, hooks);
  apply_masks(views_of(g, ts), masks);  // the returned graph holds the masks exactly
  return r;
}

}  // namespace detail

using namespace detail;

namespace {
void check_layer_names(const std::vector<std::string>& known, const std::vector<std::string>& names, const char* field) {
  for (const std::string& name : names)
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(ErrorKind::usage, field, ": '", name, "' is not a Conv or Gemm layer of the model (its layers: ", list, ")");
    }
}

}  // namespace

MaskOptions detail::resolve_ratios(const ir::Graph& g, const std::vector<Target>& ts, const train::Dataset& train_set,
                           const Spec& spec, Report& rep) {
  MaskOptions mo = spec.mask;
  if (spec.ratio_rule == RatioRule::gmm) {
    rep.gmm = gmm_ratios(views_of(g, ts), spec.mask.sparsity);
    mo.layer_sparsity = rep.gmm->layer_sparsity;
  } else if (spec.ratio_rule == RatioRule::sensitivity) {
    ir::Graph shaped = g;
    ir::infer_shapes(shaped, ops::op_table());
    const ir::Summary summary = ir::summarize(shaped, ops::op_table());
    std::vector<RatioLayer> layers;
    for (const Target& t : ts) {
      RatioLayer l{t.layer, t.weight, g.value(g.find_value(t.weight)).data.numel(), 0};
      for (const ir::SummaryRow& row : summary.rows)
        if (row.name == t.layer) l.macs = row.macs;
      layers.push_back(l);
    }
    SensitivityRatioOptions so;
    so.target = spec.target;
    so.fraction = spec.mask.sparsity;
    so.probe_ratios = spec.probe_ratios;
    so.protocol = spec.protocol;
    so.log = spec.log;
    rep.sensitivity = sensitivity_ratios(g, layers, train_set, so);
    mo.layer_sparsity = rep.sensitivity->layer_sparsity;
  }
  return mo;
}

namespace {
double layer_target(const MaskOptions& mo, const std::string& layer) {
  if (mo.pattern == Pattern::n_of_m) return 1.0 - static_cast<double>(mo.n) / mo.m;
  const auto it = mo.layer_sparsity.find(layer);
  return it == mo.layer_sparsity.end() ? mo.sparsity : it->second;
}
}  // namespace

void check(const ir::Graph& g, const Spec& spec) {
  const std::vector<std::string> layers = prunable_layers(g);
  if (layers.empty()) fail(ErrorKind::bad_input, "the model has no Conv or Gemm layer with f32 initializer weights to prune");
  magnitude_masks({}, spec.mask);  // the mask options alone (fractions, N:M)
  check_layer_names(layers, spec.exclude, "exclude");
  std::vector<std::string> listed;
  for (const auto& [layer, s] : spec.mask.layer_sparsity) listed.push_back(layer);
  check_layer_names(layers, listed, "layer_sparsity");
  if (spec.schedule != Schedule::one_shot && spec.finetune.epochs <= 0)
    fail(ErrorKind::usage, "the ", schedule_name(spec.schedule), " schedule needs fine-tuning epochs (> 0)");
  if ((spec.schedule == Schedule::iterative || spec.schedule == Schedule::lottery) && spec.rounds < 1)
    fail(ErrorKind::usage, "rounds must be >= 1");
  if (spec.schedule == Schedule::gradual && (spec.interval < 1 || !(spec.ramp > 0 && spec.ramp <= 1)))
    fail(ErrorKind::usage, "gradual pruning needs interval >= 1 and ramp in (0, 1]");
  if (spec.schedule == Schedule::gradual && spec.mask.pattern == Pattern::n_of_m)
    fail(ErrorKind::usage, "N:M masks are pruned one-shot or iteratively, not gradually");
  if (spec.ratio_rule != RatioRule::uniform) {
    if (!spec.mask.layer_sparsity.empty())
      fail(ErrorKind::usage, "layer_sparsity gives the fractions; the ", ratio_rule_name(spec.ratio_rule),
           " rule would choose them: give one or the other");
    if (spec.ratio_rule == RatioRule::sensitivity) {
      if (spec.probe_ratios.empty()) fail(ErrorKind::usage, "probe_ratios: the sensitivity rule needs at least one probe fraction");
      for (double r : spec.probe_ratios)
        if (!(r > 0 && r < 1)) fail(ErrorKind::usage, "probe_ratios: ", r, " must be in (0, 1)");
      if (spec.protocol.images < 1) fail(ErrorKind::usage, "sensitivity_images must be >= 1, got ", spec.protocol.images);
    }
    if (spec.mask.scope != Scope::layer || spec.mask.pattern != Pattern::unstructured)
      fail(ErrorKind::usage, "the ", ratio_rule_name(spec.ratio_rule), " rule chooses per-layer fractions: it needs the "
           "layer scope and the unstructured pattern");
  }
  if (spec.schedule == Schedule::lottery) {
    if (spec.rewind_epoch < 0) fail(ErrorKind::usage, "rewind_epoch must be >= 0, got ", spec.rewind_epoch);
    if (!spec.rewind_from && spec.rewind_epoch >= spec.finetune.epochs)
      fail(ErrorKind::usage, "rewind_epoch ", spec.rewind_epoch, " must be below the training's epochs (",
           spec.finetune.epochs, "): the ticket is rewound to an epoch before the end of training");
    if (spec.finetune.out_dir.empty()) fail(ErrorKind::usage, "the lottery schedule needs a folder for its checkpoints");
  } else if (spec.rewind_from) {
    fail(ErrorKind::usage, "rewind weights are for the lottery schedule, not ", schedule_name(spec.schedule));
  }
  if (spec.rewind_from) {
    for (ir::ValueId vid : g.initializers()) {
      const ir::Value& v = g.value(vid);
      const ir::ValueId id = spec.rewind_from->find_value(v.name);
      if (id == ir::kNone || !spec.rewind_from->value(id).is_initializer() || spec.rewind_from->value(id).data.shape() != v.data.shape())
        fail(ErrorKind::bad_input, "rewind weights: the model's initializer '", v.name,
             "' is missing from them or has another shape (they must be the same model at an earlier epoch)");
    }
  }
}

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec) {
  check(float_graph, spec);
  Report rep;
  rep.graph = ir::with_own_initializers(float_graph);  // pruning and training edit weights in place
  ir::Graph& g = rep.graph;
  const std::vector<Target> ts = targets(g, spec, rep.layers);
  std::vector<LayerMask> masks;
  MaskOptions target = spec.mask;
  if (spec.schedule == Schedule::lottery) {
    masks = run_lottery(rep, ts, train_set, test_set, spec);
  } else {
    target = resolve_ratios(g, ts, train_set, spec, rep);
    const int rounds = spec.schedule == Schedule::iterative ? spec.rounds : 1;
    for (int r = 1; r <= rounds; ++r) {
      MaskOptions mo = target;
      if (spec.schedule == Schedule::iterative && mo.pattern == Pattern::unstructured)
        mo = scaled_sparsity(target, [&](double s) { return 1.0 - std::pow(1.0 - s, static_cast<double>(r) / rounds); });
      if (spec.schedule == Schedule::gradual) mo = scaled_sparsity(target, [](double) { return 0.0; });  // the ramp starts dense
      masks = magnitude_masks(views_of(g, ts), mo);
      apply_masks(views_of(g, ts), masks);
      char line[160];
      std::snprintf(line, sizeof line, "prune: round %d/%d, %s %s, sparsity %.3f", r, rounds, scope_name(mo.scope),
                    mo.pattern == Pattern::n_of_m ? "N:M" : "magnitude", mask_sparsity(masks));
      log_line(spec, line);
      if (spec.finetune.epochs <= 0) continue;
      train::TrainOptions to = spec.finetune;
      if (rounds > 1 && !to.out_dir.empty()) to.out_dir += "/round" + std::to_string(r);
      rep.finetune.push_back(finetune(g, ts, masks, train_set, test_set, spec, to));
      if (rep.finetune.back().interrupted) {
        rep.interrupted = true;
        break;
      }
    }
  }
  if (rep.gmm) target.layer_sparsity = rep.gmm->layer_sparsity;
  if (rep.sensitivity) target.layer_sparsity = rep.sensitivity->layer_sparsity;
  int64_t total = 0, kept = 0;
  for (LayerReport& lr : rep.layers) {
    const auto m = std::find_if(masks.begin(), masks.end(), [&](const LayerMask& x) { return x.layer == lr.layer; });
    if (m != masks.end()) {
      lr.kept = m->kept;
      lr.skipped = m->skipped;
      lr.target = m->skipped.empty() ? layer_target(target, lr.layer) : 0.0;
    }
    total += lr.weights;
    kept += lr.kept;
  }
  rep.sparsity = total == 0 ? 0.0 : 1.0 - static_cast<double>(kept) / static_cast<double>(total);
  return rep;
}

}  // namespace leancnn::compress::prune
