// The evaluator (evaluator.h): request/result JSON, the cache key, and one evaluation: decode,
// count, short training with early stopping on a held-out validation split, test accuracy,
// CPU latency (table estimate or measurement) and accelerator cost per preset.
#include "leancnn/search/evaluator.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <istream>
#include <ostream>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/network.h"
#include "leancnn/accel/workload.h"
#include "leancnn/core/clock.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/benchmark.h"
#include "leancnn/runtime/plan.h"
#include "leancnn/train/checkpoint.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/trainer.h"

namespace leancnn::search {

namespace {
using nlohmann::json;

template <typename T>
void read_key(const json& j, const char* key, T& into) {
  if (!j.contains(key)) return;
  try {
    into = j.at(key).get<T>();
  } catch (const json::exception&) {
    fail(ErrorKind::bad_input, "evaluation settings: key '", key, "' has the wrong type (", j.at(key).dump(), ")");
  }
}

void count(const ir::Graph& g, EvalResult* r) {
  const ir::Summary sum = ir::summarize(g, ops::op_table());
  r->params = sum.params;
  r->macs = sum.macs;
}

json arch_json(const Architecture& a) { return {{"space", a.space}, {"choices", a.choices}}; }

Architecture arch_of(const json& j) {
  if (!j.is_object() || !j.contains("space") || !j.contains("choices"))
    fail(ErrorKind::bad_input, "an architecture needs 'space' and 'choices'");
  return {j["space"].get<std::string>(), j["choices"].get<std::vector<int>>()};
}

json parse_line(const std::string& line, const char* what) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail(ErrorKind::bad_input, what, " is not a JSON object: ", line.substr(0, 80));
  return j;
}
}  // namespace

Json EvalSettings::to_json() const {
  return from_native({{"data", data},
                      {"input", input},
                      {"classes", classes},
                      {"train_images", train_images},
                      {"val_images", val_images},
                      {"test_images", test_images},
                      {"epochs", epochs},
                      {"patience", patience},
                      {"batch", batch},
                      {"lr", lr},
                      {"weight_decay", weight_decay},
                      {"latency_iters", latency_iters},
                      {"latency_warmup", latency_warmup},
                      {"latency_threads", latency_threads},
                      {"latency_table", latency_table},
                      {"latency_anchor", latency_anchor},
                      {"accel_presets", accel_presets},
                      {"seed", seed}});
}

EvalSettings EvalSettings::from_json(const Json& js) {
  const json& j = native(js);
  EvalSettings s;
  if (!j.is_object()) fail(ErrorKind::bad_input, "evaluation settings must be a JSON object");
  const json known = native(s.to_json());
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.contains(it.key())) fail(ErrorKind::bad_input, "evaluation settings: unknown key '", it.key(), "'");
  read_key(j, "data", s.data);
  read_key(j, "input", s.input);
  read_key(j, "classes", s.classes);
  read_key(j, "train_images", s.train_images);
  read_key(j, "val_images", s.val_images);
  read_key(j, "test_images", s.test_images);
  read_key(j, "epochs", s.epochs);
  read_key(j, "patience", s.patience);
  read_key(j, "batch", s.batch);
  read_key(j, "lr", s.lr);
  read_key(j, "weight_decay", s.weight_decay);
  read_key(j, "latency_iters", s.latency_iters);
  read_key(j, "latency_warmup", s.latency_warmup);
  read_key(j, "latency_threads", s.latency_threads);
  read_key(j, "latency_table", s.latency_table);
  read_key(j, "latency_anchor", s.latency_anchor);
  read_key(j, "accel_presets", s.accel_presets);
  read_key(j, "seed", s.seed);
  if (s.input.size() != 3) fail(ErrorKind::bad_input, "evaluation settings: input must be [C, H, W]");
  if (s.epochs < 1) fail(ErrorKind::bad_input, "evaluation settings: epochs must be >= 1, got ", s.epochs);
  if (s.val_images < 1) fail(ErrorKind::bad_input, "evaluation settings: val_images must be >= 1, got ", s.val_images);
  if (s.batch < 1) fail(ErrorKind::bad_input, "evaluation settings: batch must be >= 1, got ", s.batch);
  if (s.latency_iters < 1) fail(ErrorKind::bad_input, "evaluation settings: latency_iters must be >= 1");
  if (s.latency_threads < 1) fail(ErrorKind::bad_input, "evaluation settings: latency_threads must be >= 1");
  for (const std::string& p : s.accel_presets) accel::preset(p);  // an unknown name fails here, before any work
  if (!s.latency_anchor.empty()) try {
      models::zoo_entry(s.latency_anchor);
    } catch (const Error& e) {
      fail(ErrorKind::bad_input, "evaluation settings: latency_anchor: ", e.message());
    }
  return s;
}

std::string EvalRequest::to_json_line() const {
  return json({{"id", id}, {"arch", arch_json(arch)}, {"settings", native(settings.to_json())}}).dump();
}

EvalRequest EvalRequest::from_json_line(const std::string& line) {
  const json j = parse_line(line, "evaluation request");
  EvalRequest r;
  if (!j.contains("arch")) fail(ErrorKind::bad_input, "evaluation request: no 'arch' (an object with 'space' and 'choices')");
  try {
    r.id = j.value("id", int64_t{0});
    r.arch = arch_of(j.at("arch"));
    r.settings = EvalSettings::from_json(from_native(j.value("settings", json::object())));
  } catch (const json::exception& e) {
    fail(ErrorKind::bad_input, "evaluation request: ", e.what());
  }
  make_space(r.arch.space)->validate(r.arch);
  return r;
}

std::string EvalResult::to_json_line() const {
  json acc = json::array();
  for (const AccelFigures& a : accel)
    acc.push_back({{"preset", a.preset}, {"cycles", a.cycles}, {"energy_pj", a.energy_pj}, {"utilization", a.utilization}});
  json j = {{"id", id},
            {"key", key},
            {"arch_hash", arch_hash},
            {"arch", arch_json(arch)},
            {"summary", summary},
            {"val_acc", val_acc},
            {"test_acc", test_acc},
            {"epochs_run", epochs_run},
            {"stopped_early", stopped_early},
            {"params", params},
            {"macs", macs},
            {"latency_ms", latency_ms},
            {"latency_estimated", latency_estimated},
            {"anchor_latency_ms", anchor_latency_ms},
            {"accel", acc},
            {"train_seconds", train_seconds},
            {"seconds", seconds},
            {"error", error},
            {"trained", trained}};
  return j.dump();
}

EvalResult EvalResult::from_json_line(const std::string& line) {
  const json j = parse_line(line, "evaluation result");
  EvalResult r;
  try {
    r.id = j.value("id", int64_t{0});
    r.key = j.at("key").get<std::string>();
    r.arch_hash = j.value("arch_hash", std::string());
    r.arch = arch_of(j.at("arch"));
    r.summary = j.value("summary", std::string());
    r.val_acc = j.value("val_acc", 0.0);
    r.test_acc = j.value("test_acc", -1.0);
    r.epochs_run = j.value("epochs_run", int64_t{0});
    r.stopped_early = j.value("stopped_early", false);
    r.params = j.value("params", int64_t{0});
    r.macs = j.value("macs", int64_t{0});
    r.latency_ms = j.value("latency_ms", 0.0);
    r.latency_estimated = j.value("latency_estimated", false);
    r.anchor_latency_ms = j.value("anchor_latency_ms", 0.0);
    for (const json& a : j.value("accel", json::array()))
      r.accel.push_back({a.at("preset").get<std::string>(), a.value("cycles", int64_t{0}), a.value("energy_pj", 0.0),
                         a.value("utilization", 0.0)});
    r.train_seconds = j.value("train_seconds", 0.0);
    r.seconds = j.value("seconds", 0.0);
    r.error = j.value("error", std::string());
    r.trained = j.value("trained", true);
  } catch (const json::exception& e) {
    fail(ErrorKind::bad_input, "evaluation result: ", e.what());
  }
  return r;
}

std::string request_key(const EvalRequest& r) {
  const auto space = make_space(r.arch.space);
  return content_hash(arch_hash(*space, r.arch) + "|" + r.settings.to_json().dump());
}

Evaluator::Evaluator(EvaluatorOptions options)
    : options_(std::move(options)), cache_(options_.cache_file), table_(options_.table_file) {
  if (options_.work_dir.empty())
    options_.work_dir = (std::filesystem::temp_directory_path() / "leancnn_search_work").string();
  if (cache_.torn_lines() > 0 && options_.log)
    options_.log(str_cat("search cache '", cache_.path(), "': skipped a torn last line (that evaluation runs again)"));
}

Evaluator::~Evaluator() = default;

EvalData load_eval_data(const EvalSettings& s) {
  const std::string dir = train::resolve_data_dir(s.data);
  const train::Dataset full = train::load_idx_dataset(dir, train::Split::train, s.classes);
  const int64_t n = full.size();
  const int64_t train_n = s.train_images > 0 ? s.train_images : n - s.val_images;
  if (train_n < 1 || train_n + s.val_images > n)
    fail(ErrorKind::bad_input, "evaluation settings: train_images (", train_n, ") + val_images (", s.val_images,
         ") exceed the ", n, " images of the training split of '", dir, "'");
  EvalData d;
  d.train = train::subset(full, train_n);
  // Validation: the last val_images of the training split, disjoint from the training images.
  d.val = full;
  d.val.images = full.images.slice_batch(n - s.val_images, n).clone();
  d.val.labels = full.labels.slice_batch(n - s.val_images, n).clone();
  if (s.test_images >= 0) {
    const train::Dataset test = train::load_idx_dataset(dir, train::Split::test, s.classes);
    d.test = s.test_images > 0 ? train::subset(test, std::min(s.test_images, test.size())) : test;
  }
  return d;
}

const EvalData& Evaluator::data(const EvalSettings& s) {
  const std::string id = str_cat(s.data, "|", s.classes, "|", s.train_images, "|", s.val_images, "|", s.test_images);
  auto it = data_.find(id);
  if (it != data_.end()) return *it->second;
  return *data_.emplace(id, std::make_unique<EvalData>(load_eval_data(s))).first->second;
}

EvalResult Evaluator::evaluate(const EvalRequest& request, bool refresh) {
  const std::string key = request_key(request);
  if (const std::string* line = refresh ? nullptr : cache_.find(key)) {
    EvalResult r = EvalResult::from_json_line(*line);
    r.id = request.id;
    r.cached = true;
    return r;
  }
  EvalResult r = run(request);
  r.key = key;
  cache_.put(key, r.to_json_line());
  return r;
}

namespace {
// A result naming the request's architecture, and its untrained graph.
EvalResult identified(const EvalRequest& request, const SearchSpace& space) {
  EvalResult r;
  r.id = request.id;
  r.arch = request.arch;
  r.arch_hash = arch_hash(space, request.arch);
  r.summary = space.describe(request.arch);
  return r;
}
ir::Graph build(const EvalRequest& request, const SearchSpace& space) {
  const EvalSettings& s = request.settings;
  return space.build(request.arch, {s.input, s.classes, s.seed}, ops::op_table());
}
}  // namespace

EvalResult Evaluator::run(const EvalRequest& request) {
  const auto t0 = Clock::now();
  const auto space = make_space(request.arch.space);
  EvalResult r = identified(request, *space);
  train_and_measure(build(request, *space), request.settings, t0, &r);
  return r;
}

EvalResult Evaluator::precheck(const EvalRequest& request) {
  const std::string key = content_hash(request_key(request) + "|untrained");
  if (const std::string* line = cache_.find(key)) {
    EvalResult r = EvalResult::from_json_line(*line);
    r.id = request.id;
    r.cached = true;
    return r;
  }
  const auto t0 = Clock::now();
  const auto space = make_space(request.arch.space);
  EvalResult r = identified(request, *space);
  r.key = key;
  r.trained = false;
  measure(build(request, *space), request.settings, &r);
  r.seconds = seconds_since(t0);
  cache_.put(key, r.to_json_line());
  return r;
}

EvalResult Evaluator::evaluate_reference(const std::string& zoo_model, const EvalSettings& s) {
  const auto t0 = Clock::now();
  models::zoo_entry(zoo_model);  // Error(usage) listing the names, before anything else
  const std::string key = content_hash("zoo:" + zoo_model + "|" + s.to_json().dump());
  if (const std::string* line = cache_.find(key)) {
    EvalResult r = EvalResult::from_json_line(*line);
    r.cached = true;
    return r;
  }
  ir::Graph g = models::build_model(zoo_model, {s.input, s.classes, s.seed}, ops::op_table());
  EvalResult r;
  r.id = -1;
  r.arch = {"zoo", {}};
  r.arch_hash = content_hash("zoo:" + zoo_model);
  r.summary = zoo_model;
  train_and_measure(std::move(g), s, t0, &r);
  r.key = key;
  cache_.put(key, r.to_json_line());
  return r;
}

void Evaluator::train_and_measure(ir::Graph g, const EvalSettings& s, std::chrono::steady_clock::time_point t0,
                                  EvalResult* out) {
  EvalResult& r = *out;
  const ir::OpTable& ops = ops::op_table();
  const EvalData& data = this->data(s);  // data problems are the caller's: they propagate
  count(g, &r);  // a failed training still reports the candidate's size

  // Short training; its checkpoints live under the work folder by key, so an interrupted
  // evaluation resumes from its last epoch.
  const std::string work = (std::filesystem::path(options_.work_dir) / r.arch_hash.substr(0, 16)).string();
  bool trained = false;
  try {
    train::TrainOptions o;
    o.epochs = s.epochs;
    o.batch = s.batch;
    o.optimizer.lr = static_cast<float>(s.lr);
    o.optimizer.momentum = 0.9f;
    o.optimizer.weight_decay = static_cast<float>(s.weight_decay);
    o.schedule.kind = "cosine";
    o.seed = s.seed;
    o.out_dir = work;
    o.resume = train::has_checkpoint(work + "/last");
    o.progress = 0;  // plain per-epoch lines, never a bar (the search prints its own progress)
    double best = -1;
    int64_t since_best = 0;
    o.stop_when = [&](const train::EpochMetrics& m) {
      if (m.test_acc > best) {
        best = m.test_acc;
        since_best = 0;
      } else {
        ++since_best;
      }
      return s.patience > 0 && since_best >= s.patience;
    };
    const train::TrainResult tr = train::train_model(g, ops, data.train, data.val, o);
    if (tr.interrupted) fail(ErrorKind::runtime, "the search was interrupted while training ", r.summary, "; run it again to resume");
    r.val_acc = tr.best_acc;
    r.epochs_run = tr.epochs.empty() ? 0 : tr.epochs.back().epoch;
    r.stopped_early = tr.stopped_early;
    for (const auto& e : tr.epochs) r.train_seconds += e.seconds;
    // The weights of the best validation epoch are what the figures describe.
    if (std::filesystem::exists(work + "/best.onnx")) {
      g = io::load_onnx(work + "/best.onnx", ops);
      if (!options_.models_dir.empty()) {
        std::filesystem::create_directories(options_.models_dir);
        io::save_onnx(g, (std::filesystem::path(options_.models_dir) / (r.arch_hash + ".onnx")).string());
      }
    }
    trained = true;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::runtime || e.message().find("interrupted") != std::string::npos) throw;
    r.error = e.what();  // e.g. the loss became NaN: this architecture gets no figures
  }
  std::filesystem::remove_all(work);
  if (trained) {
    if (s.test_images >= 0)
      r.test_acc = train::evaluate(g, ops, data.test, {.batch = 256, .shuffle = false, .seed = s.seed}).accuracy;
    measure(g, s, &r);
  }
  r.seconds = seconds_since(t0);
}

void Evaluator::measure(const ir::Graph& g, const EvalSettings& s, EvalResult* out) {
  EvalResult& r = *out;
  const ir::OpTable& ops = ops::op_table();
  count(g, &r);
  {
    runtime::PlanOptions po;
    po.threads = s.latency_threads;
    runtime::Plan plan = runtime::Plan::compile(g, po);
    const Shape shape = {1, s.input[0], s.input[1], s.input[2]};
    plan.run({Tensor::zeros(shape)});  // the plan's steps exist once it has run at this shape
    const bool anchored = !s.latency_anchor.empty();
    const double est = s.latency_table && !anchored ? table_.estimate(plan.steps(), po.threads) : -1;
    if (est >= 0) {
      r.latency_ms = est;
      r.latency_estimated = true;
    } else {
      runtime::BenchmarkOptions bo;
      bo.iters = s.latency_iters;
      bo.warmup = s.latency_warmup;
      bo.seed = s.seed;
      r.latency_ms = runtime::benchmark_plan(plan, shape, bo).median_ms;
      if (anchored) r.anchor_latency_ms = runtime::benchmark_plan(anchor_plan(s), shape, bo).median_ms;
      if (s.latency_table) {
        bo.profile = true;
        bo.warmup = 1;
        bo.iters = std::max<int64_t>(5, s.latency_iters / 2);
        const runtime::BenchmarkResult p = runtime::benchmark_plan(plan, shape, bo);
        for (size_t i = 0; i < p.steps.size(); ++i) table_.add(p.steps[i], po.threads, p.step_median_ms[i]);
      }
    }
  }
  if (!s.accel_presets.empty()) {
    const std::vector<accel::Problem> layers = accel::extract_workload(g, ops);
    accel::NetworkOptions no;
    no.template_only = true;  // the dataflow's own mapping: fast, and the same rule for every candidate
    for (const std::string& p : s.accel_presets) {
      const accel::NetworkCost n = accel::evaluate_network(layers, accel::preset(p), no);
      r.accel.push_back({p, n.cycles, n.energy_pj, n.utilization()});
    }
  }
}

runtime::Plan& Evaluator::anchor_plan(const EvalSettings& s) {
  const std::string id = str_cat(s.latency_anchor, "|", shape_str(s.input), "|", s.classes, "|", s.latency_threads);
  auto it = anchors_.find(id);
  if (it == anchors_.end()) {
    runtime::PlanOptions po;
    po.threads = s.latency_threads;
    const ir::Graph g = models::build_model(s.latency_anchor, {s.input, s.classes, s.seed}, ops::op_table());
    it = anchors_.emplace(id, std::make_unique<runtime::Plan>(runtime::Plan::compile(g, po))).first;
  }
  return *it->second;
}

int64_t run_worker(std::istream& in, std::ostream& out, Evaluator& evaluator) {
  std::string line;
  int64_t served = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    EvalResult r;
    try {
      const EvalRequest req = EvalRequest::from_json_line(line);
      r = evaluator.evaluate(req);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::runtime) throw;  // interrupted: the queue keeps the request
      r.id = -1;
      r.error = e.what();
    }
    out << r.to_json_line() << "\n";
    out.flush();
    ++served;
  }
  return served;
}

}  // namespace leancnn::search
