// The pruning entry point (prune.h): masks, schedules and the fine-tuning that holds them.
#include "leancnn/compress/prune/prune.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "leancnn/compress/common/layers.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::prune {

Schedule parse_schedule(const std::string& name) {
  if (name == "one_shot") return Schedule::one_shot;
  if (name == "iterative") return Schedule::iterative;
  if (name == "gradual") return Schedule::gradual;
  fail(ErrorKind::usage, "pruning schedule '", name, "' is not one of: one_shot, iterative, gradual");
}

const char* schedule_name(Schedule s) {
  switch (s) {
    case Schedule::one_shot: return "one_shot";
    case Schedule::iterative: return "iterative";
    case Schedule::gradual: return "gradual";
  }
  return "?";
}

namespace {
struct Target {
  std::string layer, weight;
};

// The weight layers the Spec prunes (exclusions applied), in topological order.
std::vector<Target> targets(const ir::Graph& g, const Spec& spec, std::vector<LayerReport>& report) {
  const std::vector<ir::NodeId> layers = weight_layers(g);
  if (layers.empty()) fail(ErrorKind::bad_input, "the model has no Conv or Gemm layer with f32 initializer weights to prune");
  for (const std::string& name : spec.exclude) {
    const bool known = std::any_of(layers.begin(), layers.end(), [&](ir::NodeId id) { return g.node(id).name == name; });
    if (!known) fail(ErrorKind::usage, "exclude: '", name, "' is not a Conv or Gemm layer of the model");
  }
  std::vector<Target> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ir::Node& n = g.node(layers[i]);
    const ir::Value& w = g.value(n.inputs[1]);
    LayerReport r{n.name, w.data.numel(), w.data.numel(), ""};
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

// One fine-tuning run that holds (or, gradual, moves) the masks after every optimizer step.
train::TrainResult finetune(ir::Graph& g, const std::vector<Target>& ts, std::vector<LayerMask>& masks,
                            const train::Dataset& train_set, const train::Dataset& test_set, const Spec& spec,
                            const train::TrainOptions& options) {
  train::TrainHooks hooks;
  if (spec.schedule == Schedule::gradual) {
    const int64_t steps_per_epoch = (train_set.size() + options.batch - 1) / options.batch;
    const double ramp_steps = std::max(1.0, spec.ramp * static_cast<double>(steps_per_epoch * options.epochs));
    auto step = std::make_shared<int64_t>(0);
    hooks.after_step.push_back([&ts, &masks, &spec, step, ramp_steps](std::vector<runtime::Param>& params) {
      const std::vector<WeightView> views = views_of(params, ts);
      const int64_t t = ++*step;
      if (t % spec.interval == 0 && static_cast<double>(t) <= ramp_steps + spec.interval) {
        MaskOptions mo = spec.mask;
        const double frac = std::min(1.0, static_cast<double>(t) / ramp_steps);
        mo.sparsity = spec.mask.sparsity * (1.0 - std::pow(1.0 - frac, 3.0));
        masks = magnitude_masks(views, mo);
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
}  // namespace

Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec) {
  if (spec.schedule != Schedule::one_shot && spec.finetune.epochs <= 0)
    fail(ErrorKind::usage, "the ", schedule_name(spec.schedule), " schedule needs fine-tuning epochs (> 0)");
  if (spec.schedule == Schedule::iterative && spec.rounds < 1) fail(ErrorKind::usage, "rounds must be >= 1");
  if (spec.schedule == Schedule::gradual && (spec.interval < 1 || !(spec.ramp > 0 && spec.ramp <= 1)))
    fail(ErrorKind::usage, "gradual pruning needs interval >= 1 and ramp in (0, 1]");
  if (spec.schedule == Schedule::gradual && spec.mask.pattern == Pattern::n_of_m)
    fail(ErrorKind::usage, "N:M masks are pruned one-shot or iteratively, not gradually");
  Report rep;
  rep.graph = ir::with_own_initializers(float_graph);  // pruning and training edit weights in place
  ir::Graph& g = rep.graph;
  const std::vector<Target> ts = targets(g, spec, rep.layers);
  std::vector<LayerMask> masks;
  const int rounds = spec.schedule == Schedule::iterative ? spec.rounds : 1;
  for (int r = 1; r <= rounds; ++r) {
    MaskOptions mo = spec.mask;
    if (spec.schedule == Schedule::iterative && mo.pattern == Pattern::unstructured)
      mo.sparsity = 1.0 - std::pow(1.0 - spec.mask.sparsity, static_cast<double>(r) / rounds);
    if (spec.schedule == Schedule::gradual) mo.sparsity = 0.0;  // the ramp starts dense
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
  int64_t total = 0, kept = 0;
  for (LayerReport& lr : rep.layers) {
    const auto m = std::find_if(masks.begin(), masks.end(), [&](const LayerMask& x) { return x.layer == lr.layer; });
    if (m != masks.end()) {
      lr.kept = m->kept;
      lr.skipped = m->skipped;
    }
    total += lr.weights;
    kept += lr.kept;
  }
  rep.sparsity = total == 0 ? 0.0 : 1.0 - static_cast<double>(kept) / static_cast<double>(total);
  return rep;
}

}  // namespace leancnn::compress::prune
