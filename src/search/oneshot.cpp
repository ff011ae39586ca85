// One-shot weight-sharing search (oneshot.h): the shared weights and their slices, single-path
// supernet training, and sub-nets scored with inherited weights.
#include "leancnn/search/oneshot.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "leancnn/core/clock.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/predict.h"
#include "leancnn/train/schedule.h"
#include "leancnn/train/trainer.h"
#include "spaces.h"

namespace leancnn::search {

namespace {
using nlohmann::json;

// Calls f(full_index, sub_index) for every element of a `sub`-shaped slice of a `full`-shaped
// row-major tensor: leading indices on every dim, except a conv kernel's taps (rank 4, dims 2
// and 3), which take the centre.
template <typename F>
void for_each_slice(const Shape& full, const Shape& sub, F f) {
  const size_t rank = sub.size();
  std::vector<int64_t> offset(rank, 0), full_stride(rank, 1), idx(rank, 0);
  for (size_t d = 0; d < rank; ++d)
    if (rank == 4 && d >= 2) offset[d] = (full[d] - sub[d]) / 2;
  for (size_t d = rank; d-- > 1;) full_stride[d - 1] = full_stride[d] * full[d];
  const int64_t n = shape_numel(sub);
  for (int64_t s = 0; s < n; ++s) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d) at += (idx[d] + offset[d]) * full_stride[d];
    f(at, s);
    for (size_t d = rank; d-- > 0;) {  // next index, last dim fastest
      if (++idx[d] < sub[d]) break;
      idx[d] = 0;
    }
  }
}

// Every BatchNormalization of g set to momentum 0: a training forward then leaves the batch's
// statistics as the running ones.
void reset_bn_momentum(ir::Graph& g) {
  for (ir::NodeId id : g.node_ids()) {
    ir::Node& n = g.node(id);
    if (n.op_type == "BatchNormalization") n.attrs.set("momentum", 0.f);
  }
}

}  // namespace

SharedWeights::SharedWeights(const ir::Graph& largest) {
  for (ir::ValueId v : largest.initializers()) {
    const ir::Value& val = largest.value(v);
    if (val.data.dtype() != DType::f32) continue;
    Entry& e = entries_[val.name];
    e.value = val.data.clone();
    e.velocity = Tensor::zeros(val.data.shape());
  }
}

const Tensor& SharedWeights::tensor(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) fail(ErrorKind::internal, "one-shot supernet: no tensor named '", name, "'");
  return it->second.value;
}

void SharedWeights::load(ir::Graph& g) const {
  for (ir::ValueId v : g.initializers()) {
    ir::Value& val = g.value(v);
    if (val.data.dtype() != DType::f32) continue;
    const Tensor& full = tensor(val.name);
    const Shape &fs = full.shape(), &ss = val.data.shape();
    bool fits = fs.size() == ss.size();
    for (size_t d = 0; fits && d < fs.size(); ++d) fits = ss[d] <= fs[d] && (fs[d] - ss[d]) % (fs.size() == 4 && d >= 2 ? 2 : 1) == 0;
    if (!fits)
      fail(ErrorKind::internal, "one-shot supernet: '", val.name, "' is ", shape_str(ss), ", not a slice of ", shape_str(fs));
    const float* src = full.data<float>();
    float* dst = val.data.data<float>();
    for_each_slice(fs, ss, [&](int64_t at, int64_t s) { dst[s] = src[at]; });
  }
}

void SharedWeights::accumulate(const std::vector<runtime::Param>& params) {
  for (const runtime::Param& p : params) {
    if (!p.grad.defined()) continue;
    const auto it = entries_.find(p.name);
    if (it == entries_.end()) fail(ErrorKind::internal, "one-shot supernet: no tensor named '", p.name, "'");
    Entry& e = it->second;
    if (!e.grad.defined()) {
      e.grad = Tensor::zeros(e.value.shape());
      e.touched.assign(static_cast<size_t>(e.value.numel()), 0);
    }
    float* acc = e.grad.data<float>();
    const float* g = p.grad.data<float>();
    for_each_slice(e.value.shape(), p.value.shape(), [&](int64_t at, int64_t s) {
      acc[at] += g[s];
      e.touched[static_cast<size_t>(at)] = 1;
    });
    if (e.bound.empty()) e.bound = p.value.shape();
    else
      for (size_t d = 0; d < e.bound.size(); ++d) e.bound[d] = std::max(e.bound[d], p.value.shape()[d]);
  }
}

void SharedWeights::step(float lr, float momentum, float weight_decay) {
  for (auto& [name, e] : entries_) {
    if (e.bound.empty()) continue;
    float* w = e.value.data<float>();
    float* vel = e.velocity.data<float>();
    float* g = e.grad.data<float>();
    const float wd = e.value.rank() >= 2 ? weight_decay : 0.f;
    for_each_slice(e.value.shape(), e.bound, [&](int64_t at, int64_t) {
      if (!e.touched[static_cast<size_t>(at)]) return;
      vel[at] = momentum * vel[at] + g[at] + wd * w[at];
      w[at] -= lr * vel[at];
      g[at] = 0;
      e.touched[static_cast<size_t>(at)] = 0;
    });
    e.bound.clear();
  }
}

Json OneShotOptions::to_json() const {
  return from_native({{"epochs", epochs},
                      {"candidates", candidates},
                      {"calibration_images", calibration_images},
                      {"pool", pool},
                      {"sandwich", sandwich}});
}

Json OneShotResult::to_json(const SearchSpace& space) const {
  json c = json::array();
  for (const OneShotCandidate& k : candidates)
    c.push_back({{"arch_hash", k.result.arch_hash},
                 {"choices", json::parse(choices_json(space, k.result.arch))},
                 {"summary", k.result.summary},
                 {"supernet_val_acc", k.result.trained ? json(k.result.val_acc) : json()},  // null: over a cap, not scored
                 {"latency_ms", k.result.latency_ms},
                 {"energy_pj", k.result.energy_pj()},
                 {"macs", k.result.macs},
                 {"params", k.result.params},
                 {"score", k.score}});
  return from_native({{"candidates", c},
                      {"epoch_loss", epoch_loss},
                      {"epoch_acc", epoch_acc},
                      {"pool_size", pool_size},
                      {"pool_draws", pool_draws},
                      {"pool_seconds", pool_seconds},
                      {"train_seconds", train_seconds},
                      {"score_seconds", score_seconds}});
}

void check(const OneShotOptions& o, const std::string& space) {
  if (space != "mobile")
    fail(ErrorKind::usage, "strategy oneshot shares weights across the mobile space's sub-nets (sliced channels and "
         "kernels): use --space mobile, not '", space, "'");
  if (o.epochs < 1) fail(ErrorKind::usage, "oneshot: epochs must be >= 1, got ", o.epochs);
  if (o.candidates < 1) fail(ErrorKind::usage, "oneshot: candidates must be >= 1, got ", o.candidates);
  if (o.calibration_images < 1) fail(ErrorKind::usage, "oneshot: calibration_images must be >= 1, got ", o.calibration_images);
  if (o.pool < 0) fail(ErrorKind::usage, "oneshot: pool must be >= 0 (0 = uniform sampling), got ", o.pool);
  if (o.sandwich < 0)
    fail(ErrorKind::usage, "oneshot: sandwich must be >= 0 (0 = single path; N = largest, smallest and N sampled sub-nets), got ",
         o.sandwich);
}

namespace {
// Every decision at its largest (or smallest) numeric option.
Architecture extreme_architecture(const SearchSpace& space, bool largest) {
  Architecture a{space.name(), {}};
  for (const Decision& d : space.decisions()) {
    int best = 0;
    for (size_t i = 1; i < d.options.size(); ++i) {
      const double v = std::stod(d.options[i]), b = std::stod(d.options[static_cast<size_t>(best)]);
      if (largest ? v > b : v < b) best = static_cast<int>(i);
    }
    a.choices.push_back(best);
  }
  return a;
}
}  // namespace

Architecture largest_architecture(const SearchSpace& space) { return extreme_architecture(space, true); }
Architecture smallest_architecture(const SearchSpace& space) { return extreme_architecture(space, false); }

bool shrink_step(const SearchSpace& space, Architecture& a, Rng& rng) {
  a = space.canonical(a);
  const std::vector<Decision>& ds = space.decisions();
  std::vector<std::pair<size_t, int>> moves;  // (decision, its next smaller option)
  for (size_t i = 0; i < ds.size(); ++i) {
    const double v = std::stod(ds[i].options[static_cast<size_t>(a.choices[i])]);
    int next = -1;
    for (size_t j = 0; j < ds[i].options.size(); ++j) {
      const double w = std::stod(ds[i].options[j]);
      if (w < v && (next < 0 || w > std::stod(ds[i].options[static_cast<size_t>(next)]))) next = static_cast<int>(j);
    }
    if (next >= 0) moves.emplace_back(i, next);
  }
  if (moves.empty()) return false;
  const auto& [i, next] = moves[static_cast<size_t>(rng.below(static_cast<int64_t>(moves.size())))];
  a.choices[i] = next;
  a = space.canonical(a);
  return true;
}

OneShotResult run_oneshot(const SearchSpace& space, const EvalSettings& eval, const EvalData& data,
                          const OneShotOptions& o, Strategy& strategy, const Objective& objective, Evaluator& evaluator,
                          const std::function<void(const std::string&)>& log) {
  check(o, space.name());
  const ir::OpTable& ops = ops::op_table();
  const models::ModelConfig cfg{eval.input, eval.classes, eval.seed};
  SharedWeights shared(space.build(largest_architecture(space), cfg, ops));
  OneShotResult res;

  // With caps and o.pool, the sub-nets to train: distinct ones that meet the caps, measured
  // untrained. The first is the smallest sub-net (when even it is over a cap, nothing is); each
  // further one starts as a uniform draw and, while over a cap, shrinks one random decision to
  // its next smaller option (shrink_step): the walk stops at the first sub-net within the caps,
  // so the pool spreads along the caps' frontier instead of crowding at the smallest network.
  Rng rng(eval.seed * 7919 + 17);
  std::vector<Architecture> pool;
  std::vector<int64_t> pool_macs;  // per member
  if (o.pool > 0 && has_caps(objective)) {
    const auto tp = Clock::now();
    std::map<std::string, bool> within;  // measured sub-nets by hash: within the caps?
    // At most 50 measurements per member, and 1000 while none has met the caps (a cap no
    // sub-net meets would otherwise cost 50 x pool measurements); at most 50 walks per member
    // (walks that end at members already found measure nothing).
    const auto measuring = [&] { return res.pool_draws < 50 * o.pool && (res.pool_draws < 1000 || !pool.empty()); };
    for (int64_t walk = 0; static_cast<int64_t>(pool.size()) < o.pool && walk < 50 * o.pool && measuring(); ++walk) {
      Architecture a = space.canonical(walk == 0 ? smallest_architecture(space) : space.sample(rng));
      do {
        const std::string h = arch_hash(space, a);
        const auto it = within.find(h);
        if (it == within.end()) {
          ++res.pool_draws;
          EvalResult m;
          evaluator.measure(space.build(a, cfg, ops), eval, &m);
          const bool ok = within_caps(objective, m);
          within.emplace(h, ok);
          if (ok) {
            pool.push_back(a);
            pool_macs.push_back(m.macs);
            if (log && pool.size() % 25 == 0 && static_cast<int64_t>(pool.size()) < o.pool)
              log(str_cat("oneshot pool: ", pool.size(), "/", o.pool, " sub-nets within the caps, ", res.pool_draws,
                          " measured, ", static_cast<int64_t>(seconds_since(tp)), " s"));
            break;
          }
        } else if (it->second) {
          break;  // a member already
        }
      } while (walk > 0 && measuring() && shrink_step(space, a, rng));
      if (walk == 0 && pool.empty()) break;  // the smallest sub-net is over a cap
    }
    res.pool_size = static_cast<int64_t>(pool.size());
    res.pool_seconds = seconds_since(tp);
    if (log)
      log(str_cat("oneshot: ", pool.size(), " sub-nets within the caps of ", res.pool_draws, " measured (",
                  res.pool_seconds, " s)", pool.empty() ? "; none: the supernet trains uniformly over the space" : ""));
  }
  const auto pool_member = [&]() -> const Architecture& {
    return pool[static_cast<size_t>(rng.below(static_cast<int64_t>(pool.size())))];
  };

  // Training: single path (one sampled sub-net per batch, from the pool or the space), or the
  // sandwich rule: the largest and smallest (of the pool, by MACs, or of the space) and
  // o.sandwich sampled sub-nets per batch, the largest on the labels, the others distilled from
  // its logits, one step on the summed gradients. The epoch's loss is the labels' cross-entropy
  // (the sampled sub-net's, or the largest's); its accuracy, the sampled sub-nets'.
  const auto sampled = [&]() -> Architecture { return pool.empty() ? space.sample(rng) : pool_member(); };
  Architecture largest = largest_architecture(space), smallest = smallest_architecture(space);
  if (!pool.empty()) {
    largest = pool[static_cast<size_t>(std::max_element(pool_macs.begin(), pool_macs.end()) - pool_macs.begin())];
    smallest = pool[static_cast<size_t>(std::min_element(pool_macs.begin(), pool_macs.end()) - pool_macs.begin())];
  }
  const auto t0 = Clock::now();
  train::DataLoader loader(data.train, {.batch = eval.batch, .shuffle = true, .drop_last = true, .seed = eval.seed});
  const int64_t steps = loader.batches_per_epoch();
  if (steps < 1) fail(ErrorKind::usage, "oneshot: ", data.train.size(), " training images are fewer than one batch (", eval.batch, ")");
  train::ScheduleOptions sched;
  sched.kind = "cosine";
  sched.base_lr = static_cast<float>(eval.lr);
  sched.total_steps = o.epochs * steps;
  int64_t epoch = 0;
  // One forward and backward of sub-net a on batch b, its gradients added to the supernet's:
  // on the labels, or distilled from `teacher` logits when given. Returns (loss, logits).
  const auto pass = [&](const Architecture& a, const train::Batch& b, const Tensor* teacher) {
    ir::Graph g = space.build(a, cfg, ops);
    shared.load(g);
    const ir::ValueId loss = teacher ? add_distillation(g, ops, eval.classes) : add_cross_entropy(g, ops);
    runtime::Executor exec(g, ops, {.training = true, .use_kernels = true, .seed = eval.seed});
    std::map<std::string, Tensor> feeds{{"input", b.images}};
    if (teacher) feeds.emplace("teacher_logits", *teacher);
    else feeds.emplace("labels", b.labels);
    const std::vector<Tensor> out = exec.forward(feeds);
    const float l = out[1].at(0);
    if (!std::isfinite(l)) fail(ErrorKind::runtime, "oneshot: the supernet's loss became ", l, " in epoch ", epoch + 1, " (lower --lr)");
    exec.backward(loss);
    shared.accumulate(exec.params());
    return std::pair<float, Tensor>{l, out[0].clone()};
  };
  for (; epoch < o.epochs; ++epoch) {
    loader.start_epoch(epoch);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0;
    while (auto b = loader.next()) {
      if (o.sandwich == 0) {
        const auto [l, logits] = pass(sampled(), *b, nullptr);
        loss_sum += l;
        correct += train::count_correct(logits, b->labels);
        seen += b->labels.numel();
      } else {
        const auto [l, teacher] = pass(largest, *b, nullptr);
        loss_sum += l;
        pass(smallest, *b, &teacher);
        for (int64_t k = 0; k < o.sandwich; ++k) {
          const Tensor logits = pass(sampled(), *b, &teacher).second;
          correct += train::count_correct(logits, b->labels);
          seen += b->labels.numel();
        }
      }
      shared.step(train::lr_at(sched, epoch * steps + step), 0.9f, static_cast<float>(eval.weight_decay));
      ++step;
    }
    res.epoch_loss.push_back(loss_sum / static_cast<double>(steps));
    res.epoch_acc.push_back(static_cast<double>(correct) / static_cast<double>(seen));
    if (log) {
      char line[160];
      std::snprintf(line, sizeof line, "oneshot supernet epoch %lld/%lld: loss %.4f%s, acc %.4f (sampled sub-nets), %.1f s",
                    static_cast<long long>(epoch + 1), static_cast<long long>(o.epochs), res.epoch_loss.back(),
                    o.sandwich > 0 ? " (largest)" : "", res.epoch_acc.back(), seconds_since(t0));
      log(line);
    }
  }
  res.train_seconds = seconds_since(t0);

  // Scoring with inherited weights. The BN statistics come from one fixed batch of training images.
  const auto t1 = Clock::now();
  const int64_t cal_n = std::min(o.calibration_images, data.train.size());
  const train::Dataset cal_set = train::subset(data.train, cal_n);  // the loader keeps a reference
  train::DataLoader cal_loader(cal_set, {.batch = cal_n, .shuffle = false, .seed = eval.seed});
  cal_loader.start_epoch(0);
  const train::Batch calibration = *cal_loader.next();
  for (int64_t i = 0; i < o.candidates; ++i) {
    OneShotCandidate c;
    EvalResult& r = c.result;
    r.id = i;
    r.arch = strategy.propose();
    r.arch_hash = arch_hash(space, r.arch);
    r.summary = space.describe(r.arch);
    ir::Graph g = space.build(r.arch, cfg, ops);
    shared.load(g);
    // Size, latency and energy first: a sub-net over a cap is scored by its excess alone, with
    // no BN calibration or validation pass (trained = false, as run_search's precheck).
    evaluator.measure(g, eval, &r);
    if (has_caps(objective) && !within_caps(objective, r)) {
      r.trained = false;
    } else {
      ir::Graph cal = g;  // shares g's initializers: the running statistics land in g
      reset_bn_momentum(cal);
      runtime::Executor exec(cal, ops, {.training = true, .use_kernels = true, .seed = eval.seed});
      exec.forward({{"input", calibration.images}});
      r.val_acc = train::evaluate(g, ops, data.val, {.batch = 256, .shuffle = false, .seed = eval.seed}).accuracy;
    }
    c.score = score(objective, r);
    strategy.observe(r.arch, c.score);
    res.candidates.push_back(c);
    if (log && ((i + 1) % 10 == 0 || i + 1 == o.candidates)) {
      const auto best = std::max_element(res.candidates.begin(), res.candidates.end(),
                                         [](const OneShotCandidate& a, const OneShotCandidate& b) { return a.score < b.score; });
      char line[200];
      std::snprintf(line, sizeof line, "oneshot scored %lld/%lld sub-nets: best score %.4f (supernet val %.4f, %.3f ms), %.1f s",
                    static_cast<long long>(i + 1), static_cast<long long>(o.candidates), best->score, best->result.val_acc,
                    best->result.latency_ms, seconds_since(t1));
      log(line);
    }
  }
  res.score_seconds = seconds_since(t1);
  return res;
}

}  // namespace leancnn::search
