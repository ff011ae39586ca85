// DARTS on the cell space (darts.h): the supernet, the alternating first-order training and the
// derivation of a discrete cell.
#include "leancnn/search/darts.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <tuple>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/predict.h"
#include "leancnn/train/optimizer.h"
#include "leancnn/train/schedule.h"
#include "spaces.h"

namespace leancnn::search {

namespace {
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* const kCellKinds[2] = {"normal", "reduce"};
constexpr const char* kAlphaPrefix = "arch.";

int64_t mixed_ops() { return static_cast<int64_t>(cell_ops().size()) + 1; }  // + "none"

// The option index of `value` in the cell space's decision `name`; -1 when absent.
int option_of(const SearchSpace& space, const std::string& name, int64_t value) {
  const int d = space.find(name);
  if (d < 0) return -1;
  const auto& opts = space.decisions()[static_cast<size_t>(d)].options;
  const auto it = std::find(opts.begin(), opts.end(), std::to_string(value));
  return it == opts.end() ? -1 : static_cast<int>(it - opts.begin());
}

std::string options_text(const SearchSpace& space, const std::string& name) {
  std::string out;
  for (const std::string& o : space.decisions()[static_cast<size_t>(space.find(name))].options)
    out += (out.empty() ? "" : ", ") + o;
  return out;
}

// The training half pair: images [0, n/2) train the weights, [n/2, n) the alphas.
std::pair<train::Dataset, train::Dataset> halves(const train::Dataset& d) {
  const int64_t n = d.size(), h = n / 2;
  train::Dataset w = d, a = d;
  w.images = d.images.slice_batch(0, h).clone();
  w.labels = d.labels.slice_batch(0, h).clone();
  a.images = d.images.slice_batch(h, n).clone();
  a.labels = d.labels.slice_batch(h, n).clone();
  return {w, a};
}


std::vector<double> softmax_of(const Tensor& alpha) {
  const float* a = alpha.data<float>();
  const int64_t n = alpha.numel();
  const double m = *std::max_element(a, a + n);
  std::vector<double> w(static_cast<size_t>(n));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += w[static_cast<size_t>(i)] = std::exp(a[i] - m);
  for (double& x : w) x /= sum;
  return w;
}

// A subset of the executor's parameters with the gradients of its last backward.
struct ParamGroup {
  std::vector<size_t> index;  // into Executor::params()
  std::vector<runtime::Param> params;
  void refresh(const std::vector<runtime::Param>& all) {
    for (size_t k = 0; k < index.size(); ++k) params[k].grad = all[index[k]].grad;
  }
};
}  // namespace

Json DartsOptions::to_json() const {
  return from_native({{"epochs", epochs},
                      {"channels", channels},
                      {"repeats", repeats},
                      {"weight_lr", weight_lr},
                      {"weight_decay", weight_decay},
                      {"alpha_lr", alpha_lr},
                      {"alpha_decay", alpha_decay}});
}

Json DartsResult::to_json() const {
  json e = json::array();
  for (const DartsEdge& d : edges) e.push_back({{"cell", d.cell}, {"node", d.node}, {"input", d.input}, {"alpha", d.alpha}});
  json ep = json::array();
  for (const DartsEpoch& d : epochs)
    ep.push_back({{"epoch", d.epoch},
                  {"weight_loss", d.weight_loss},
                  {"weight_acc", d.weight_acc},
                  {"alpha_loss", d.alpha_loss},
                  {"alpha_acc", d.alpha_acc},
                  {"seconds", d.seconds},
                  {"weights", d.weights}});
  return from_native({{"ops", ops},
                      {"edges", e},
                      {"epochs", ep},
                      {"supernet_params", supernet_params},
                      {"supernet_macs", supernet_macs},
                      {"derived", arch.choices},
                      {"seconds", seconds}});
}

void check(const DartsOptions& o) {
  const auto space = make_space("cell");
  if (option_of(*space, "channels", o.channels) < 0)
    fail(ErrorKind::usage, "darts: channels must be one of the cell space's (", options_text(*space, "channels"), "), got ",
         o.channels);
  if (option_of(*space, "repeats", o.repeats) < 0)
    fail(ErrorKind::usage, "darts: repeats must be one of the cell space's (", options_text(*space, "repeats"), "), got ",
         o.repeats);
  if (o.epochs < 1) fail(ErrorKind::usage, "darts: epochs must be >= 1, got ", o.epochs);
  if (o.warmup_epochs < 0 || o.warmup_epochs >= o.epochs)
    fail(ErrorKind::usage, "darts: warmup_epochs must be in [0, epochs) (", o.epochs, "), got ", o.warmup_epochs);
  if (!(o.weight_lr > 0) || !(o.alpha_lr > 0)) fail(ErrorKind::usage, "darts: learning rates must be > 0");
  if (o.weight_decay < 0 || o.alpha_decay < 0) fail(ErrorKind::usage, "darts: weight decays must be >= 0");
}

ir::Graph build_darts_supernet(const DartsOptions& o, const models::ModelConfig& cfg, const ir::OpTable& ops,
                               std::vector<DartsEdge>* edges) {
  check(o);
  const std::vector<std::string>& names = cell_ops();
  const int64_t n = mixed_ops();
  std::map<std::tuple<int, int, int>, ir::ValueId> alpha;  // shared by every cell of a kind
  std::vector<DartsEdge> found;
  const auto node = [&](ir::Builder& b, int cell, int j, const std::vector<ir::ValueId>& states, int64_t c,
                        bool reduction) {
    ir::ValueId sum = ir::kNone;
    for (int i = 0; i < static_cast<int>(states.size()); ++i) {
      auto it = alpha.find({cell, j, i});
      if (it == alpha.end()) {
        const std::string name = str_cat(kAlphaPrefix, kCellKinds[cell], ".node", j, ".in", i);
        it = alpha.emplace(std::make_tuple(cell, j, i), b.constant(name, Tensor::zeros({n}), true)).first;
        found.push_back({kCellKinds[cell], j, i, b.graph().value(it->second).name});
      }
      ir::Builder::Scope es(b, str_cat("in", i));
      const std::vector<ir::ValueId> w = b.split(b.softmax(it->second, 0), std::vector<int64_t>(static_cast<size_t>(n), 1), 0);
      for (size_t k = 0; k < names.size(); ++k) {  // "none" (w.back()) adds nothing: only its share of the softmax counts
        ir::Builder::Scope os(b, names[k]);
        ir::ValueId y = cell_op(b, names[k], states[static_cast<size_t>(i)], c, reduction && i < 2 ? 2 : 1);
        // A pooling gets a BN as in DARTS's MixedOp, so that every operation's output is on the
        // scale of the convolutions' (which end in BN); without it the alphas favoured the pools.
        if (names[k].find("pool") != std::string::npos) y = b.batch_norm(y, 1e-5f, 0.9f);
        y = b.mul(y, w[k]);
        sum = sum == ir::kNone ? y : b.add(sum, y);
      }
    }
    return sum;
  };
  ir::Graph g = build_cell_network("darts_supernet", o.channels, o.repeats, cfg, ops, node);
  // The cells' BNs without scale and shift, as DARTS searches (affine=False): a learnt scale
  // would let an operation's weight grow through its BN instead of through its alpha.
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& bn = g.node(id);
    if (bn.op_type != "BatchNormalization" || bn.name.rfind("cell", 0) != 0) continue;
    g.value(bn.inputs[1]).trainable = false;
    g.value(bn.inputs[2]).trainable = false;
  }
  if (edges) *edges = found;
  return g;
}

Architecture derive_darts_cell(const DartsOptions& o, const std::vector<DartsEdge>& edges,
                               const std::vector<std::vector<double>>& weights) {
  const auto space = make_space("cell");
  if (weights.size() != edges.size()) fail(ErrorKind::internal, "darts: ", weights.size(), " weight vectors for ", edges.size(), " edges");
  Architecture a{"cell", std::vector<int>(space->decisions().size(), 0)};
  a.choices[static_cast<size_t>(space->find("channels"))] = option_of(*space, "channels", o.channels);
  a.choices[static_cast<size_t>(space->find("repeats"))] = option_of(*space, "repeats", o.repeats);
  const int64_t real = static_cast<int64_t>(cell_ops().size());
  for (const char* cell : kCellKinds)
    for (int j = 0; j < kCellNodes; ++j) {
      struct Candidate {
        double strength;
        int input, op;
      };
      std::vector<Candidate> cands;
      for (size_t e = 0; e < edges.size(); ++e) {
        if (edges[e].cell != cell || edges[e].node != j) continue;
        const std::vector<double>& w = weights[e];
        const auto best = std::max_element(w.begin(), w.begin() + real);  // "none" never chosen
        cands.push_back({*best, edges[e].input, static_cast<int>(best - w.begin())});
      }
      if (cands.size() < 2) fail(ErrorKind::internal, "darts: node ", j, " of the ", cell, " cell has ", cands.size(), " edges");
      std::stable_sort(cands.begin(), cands.end(), [](const Candidate& x, const Candidate& y) { return x.strength > y.strength; });
      for (int e = 0; e < 2; ++e) {
        const std::string base = str_cat(cell, ".node", j, ".in", e);
        a.choices[static_cast<size_t>(space->find(base))] = cands[static_cast<size_t>(e)].input;
        a.choices[static_cast<size_t>(space->find(str_cat(cell, ".node", j, ".op", e)))] = cands[static_cast<size_t>(e)].op;
      }
    }
  space->validate(a);
  return space->canonical(a);
}

DartsResult run_darts(const EvalSettings& eval, const EvalData& data, const DartsOptions& o,
                      const std::function<void(const std::string&)>& log) {
  check(o);
  const auto t0 = Clock::now();
  const ir::OpTable& ops = ops::op_table();
  if (data.train.size() < 2 * eval.batch)
    fail(ErrorKind::usage, "darts: ", data.train.size(), " training images cannot make two halves of a batch (", eval.batch,
         ") each: raise train_images");
  const auto [w_half, a_half] = halves(data.train);

  DartsResult r;
  r.ops = cell_ops();
  r.ops.push_back("none");
  ir::Graph g = build_darts_supernet(o, {eval.input, eval.classes, eval.seed}, ops, &r.edges);
  {
    const ir::Summary s = ir::summarize(g, ops);
    r.supernet_params = s.params;
    r.supernet_macs = s.macs;
  }
  const ir::ValueId loss = add_cross_entropy(g, ops);

  runtime::Executor exec(g, ops, {.training = true, .use_kernels = true, .seed = eval.seed});
  ParamGroup weights, alphas;
  for (size_t i = 0; i < exec.params().size(); ++i) {
    ParamGroup& grp = exec.params()[i].name.rfind(kAlphaPrefix, 0) == 0 ? alphas : weights;
    grp.index.push_back(i);
    grp.params.push_back(exec.params()[i]);
  }
  train::OptimizerOptions wo;
  wo.kind = "sgd";
  wo.lr = static_cast<float>(o.weight_lr);
  wo.momentum = 0.9f;
  wo.weight_decay = static_cast<float>(o.weight_decay);
  train::OptimizerOptions ao;
  ao.kind = "adam";
  ao.lr = static_cast<float>(o.alpha_lr);
  ao.beta1 = 0.5f;
  ao.beta2 = 0.999f;
  ao.weight_decay = static_cast<float>(o.alpha_decay);
  const auto w_opt = train::make_optimizer(weights.params, wo);
  const auto a_opt = train::make_optimizer(alphas.params, ao);

  train::DataLoader w_loader(w_half, {.batch = eval.batch, .shuffle = true, .drop_last = true, .seed = eval.seed});
  train::DataLoader a_loader(a_half, {.batch = eval.batch, .shuffle = true, .drop_last = true, .seed = eval.seed + 1});
  const int64_t steps = std::min(w_loader.batches_per_epoch(), a_loader.batches_per_epoch());
  train::ScheduleOptions sched;
  sched.kind = "cosine";
  sched.base_lr = wo.lr;
  sched.total_steps = o.epochs * steps;
  const std::string in = g.value(g.inputs().at(0)).name;

  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    const auto te = Clock::now();
    w_loader.start_epoch(epoch);
    a_loader.start_epoch(epoch);
    DartsEpoch m;
    m.epoch = epoch + 1;
    int64_t seen = 0, w_correct = 0, a_correct = 0;
    const bool warmup = epoch < o.warmup_epochs;
    for (int64_t step = 0; step < steps; ++step) {
      // Alpha step on the alpha half (the weights' gradients of this pass are dropped); in the
      // warm-up, the alpha half is only measured.
      const auto ab = a_loader.next();
      std::vector<Tensor> out = exec.forward({{in, ab->images}, {"labels", ab->labels}});
      if (!warmup) {
        exec.backward(loss);
        alphas.refresh(exec.params());
        a_opt->step();
      }
      m.alpha_loss += out[1].at(0);
      a_correct += train::count_correct(out[0], ab->labels);
      // Weight step on the weight half.
      const auto wb = w_loader.next();
      out = exec.forward({{in, wb->images}, {"labels", wb->labels}});
      const float l = out[1].at(0);
      if (!std::isfinite(l)) fail(ErrorKind::runtime, "darts: the supernet's loss became ", l, " in epoch ", epoch + 1, " (lower --lr)");
      exec.backward(loss);
      weights.refresh(exec.params());
      train::clip_grad_norm(weights.params, 5.f);
      w_opt->set_lr(train::lr_at(sched, epoch * steps + step));
      w_opt->step();
      m.weight_loss += l;
      w_correct += train::count_correct(out[0], wb->labels);
      seen += wb->labels.numel();
    }
    m.weight_loss /= static_cast<double>(steps);
    m.alpha_loss /= static_cast<double>(steps);
    m.weight_acc = static_cast<double>(w_correct) / static_cast<double>(seen);
    m.alpha_acc = static_cast<double>(a_correct) / static_cast<double>(seen);
    for (const runtime::Param& p : alphas.params) m.weights.push_back(softmax_of(p.value));
    m.seconds = std::chrono::duration<double>(Clock::now() - te).count();
    r.epochs.push_back(m);
    r.arch = derive_darts_cell(o, r.edges, m.weights);
    if (log) {
      char head[200];
      std::snprintf(head, sizeof head, "darts epoch %lld/%lld%s: weight half loss %.4f acc %.4f, alpha half loss %.4f acc %.4f, %.1f s",
                    static_cast<long long>(m.epoch), static_cast<long long>(o.epochs), warmup ? " (warm-up, alphas frozen)" : "",
                    m.weight_loss, m.weight_acc, m.alpha_loss, m.alpha_acc, m.seconds);
      log(head);
      log("      derived: " + make_space("cell")->describe(r.arch));
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace leancnn::search
