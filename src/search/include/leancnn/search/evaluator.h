// The evaluator (docs/nas.md §3): one architecture in, its figures out. A request and a result
// are each one line of JSON, so evaluation can run in this process (Evaluator::evaluate) or in
// worker processes fed from a queue (run_worker: `leancnn search --worker` reads requests on
// stdin and writes results on stdout). Every result is cached on disk by its key (the
// architecture's content hash with the settings that decide the figures), so a search that is
// interrupted resumes without re-evaluating anything.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/core/json.h"
#include "leancnn/core/tensor.h"
#include "leancnn/runtime/plan.h"
#include "leancnn/search/cache.h"
#include "leancnn/search/latency_table.h"
#include "leancnn/search/space.h"
#include "leancnn/train/dataset.h"

namespace leancnn::search {

// What decides an evaluation's figures (all part of the cache key).
struct EvalSettings {
  std::string data = "fashion-mnist";  // train::resolve_data_dir spec
  Shape input = {1, 28, 28};           // C, H, W
  int64_t classes = 10;
  // Short training (SGD, momentum 0.9, cosine) with early stopping on the validation split:
  // the last val_images of the training split, never trained on.
  int64_t train_images = 2000;  // the first N of the training split (0: all but validation)
  int64_t val_images = 1000;
  int64_t test_images = 1000;   // test accuracy on the first N test images (0: all; -1: none)
  int64_t epochs = 3;
  int64_t patience = 1;  // stop after this many epochs without a better validation accuracy (0: off)
  int64_t batch = 64;
  double lr = 0.05;
  double weight_decay = 5e-4;
  // CPU latency on the runtime: batch 1, median of iters runs after warmup.
  int64_t latency_iters = 30;
  int64_t latency_warmup = 3;
  int latency_threads = 1;
  bool latency_table = true;  // estimate from the per-layer table when it knows every layer
  // A zoo model timed right after every latency measurement, with the same runs
  // (EvalResult::anchor_latency_ms): a cap on the ratio moves with the machine's speed, which a
  // latency measured once does not. Set, every latency is measured (no table estimates).
  std::string latency_anchor;
  std::vector<std::string> accel_presets = {"eyeriss-like"};
  uint64_t seed = 0;

  Json to_json() const;
  // Missing keys keep their defaults; unknown keys, wrong types: Error(bad_input) naming the key.
  static EvalSettings from_json(const Json& j);
};

struct EvalRequest {
  int64_t id = 0;  // the caller's (echoed in the result)
  Architecture arch;
  EvalSettings settings;
  std::string to_json_line() const;  // one line, no newline
  static EvalRequest from_json_line(const std::string& line);  // Error(bad_input) on malformed input
};

struct AccelFigures {
  std::string preset;
  int64_t cycles = 0;
  double energy_pj = 0;
  double utilization = 0;
};

struct EvalResult {
  int64_t id = 0;
  std::string key;        // cache key
  std::string arch_hash;  // the architecture's content hash
  Architecture arch;
  std::string summary;    // SearchSpace::describe
  double val_acc = 0;     // best validation accuracy over the epochs run
  double test_acc = -1;   // -1: not measured
  int64_t epochs_run = 0;
  bool stopped_early = false;
  int64_t params = 0, macs = 0;
  double latency_ms = 0;
  bool latency_estimated = false;  // from the latency table (no run)
  double anchor_latency_ms = 0;    // settings.latency_anchor timed beside it (0: no anchor)
  std::vector<AccelFigures> accel;
  double train_seconds = 0, seconds = 0;
  std::string error;      // non-empty: the evaluation failed (the figures are not valid)
  // false: measured before training (Evaluator::precheck) and over a hard cap, so never
  // trained: size, latency and accelerator figures only, no accuracy.
  bool trained = true;
  bool cached = false;    // came from the cache (not stored)

  bool ok() const { return error.empty(); }
  // First preset's energy (0 when none).
  double energy_pj() const { return accel.empty() ? 0.0 : accel.front().energy_pj; }
  std::string to_json_line() const;
  static EvalResult from_json_line(const std::string& line);
};

// The images an evaluation uses: the first train_images of the training split (0: all but the
// validation images), the last val_images of that split (never trained on), and the first
// test_images of the test split (all when 0, none when -1). Error(bad_input) when the two
// training-split parts overlap.
struct EvalData {
  train::Dataset train, val, test;
};
EvalData load_eval_data(const EvalSettings& s);

// The cache key of a request.
std::string request_key(const EvalRequest& r);

struct EvaluatorOptions {
  std::string cache_file;     // JSON lines of EvalResult ("" = no cache)
  std::string table_file;     // the latency table ("" = in memory only)
  std::string work_dir;       // per-candidate training checkpoints ("" = a temp folder)
  std::string models_dir;     // keeps each trained candidate as <arch_hash>.onnx ("" = none)
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

class Evaluator {
 public:
  explicit Evaluator(EvaluatorOptions options);
  ~Evaluator();
  // Cached result when the key is known, else trains and measures, stores and returns. A
  // failure inside the evaluation (e.g. NaN loss) is a result with `error` set, cached too.
  // refresh: evaluate again even when cached (e.g. to get the trained model file).
  EvalResult evaluate(const EvalRequest& request, bool refresh = false);
  // The figures measure() gives of the untrained candidate (no accuracy; trained = false),
  // cached under a key of their own: a search checks the hard caps with them before paying
  // for a training. Resuming replays the same figures.
  EvalResult precheck(const EvalRequest& request);
  // A zoo model (models/zoo.h, built with the settings' input, classes and seed) trained and
  // measured exactly as a candidate is: the point a search's findings are judged against
  // (`--reference`). Cached under its own key; its arch is {"zoo", {}}, its summary the name.
  // Error(usage) for an unknown name.
  EvalResult evaluate_reference(const std::string& zoo_model, const EvalSettings& s);
  // The figures of a graph other than its accuracies, into r: parameters, MACs, CPU latency
  // (the table's estimate, or a measurement that also fills the table) and each accelerator
  // preset's cost. evaluate() uses it on the trained candidate; the one-shot search on sub-nets.
  void measure(const ir::Graph& g, const EvalSettings& s, EvalResult* r);
  // The images an evaluation with these settings uses, loaded once per settings (load_eval_data).
  const EvalData& data(const EvalSettings& s);
  const ResultCache& cache() const { return cache_; }
  LatencyTable& latency_table() { return table_; }

 private:
  EvalResult run(const EvalRequest& request);
  runtime::Plan& anchor_plan(const EvalSettings& s);  // settings.latency_anchor's, compiled once
  // Short training on data(s), the test accuracy and measure(); r's identity fields are set.
  void train_and_measure(ir::Graph g, const EvalSettings& s, std::chrono::steady_clock::time_point t0, EvalResult* r);

  EvaluatorOptions options_;
  ResultCache cache_;
  LatencyTable table_;
  std::map<std::string, std::unique_ptr<EvalData>> data_;
  std::map<std::string, std::unique_ptr<runtime::Plan>> anchors_;  // latency anchors' plans by model, shape, threads
};

// The worker loop: one EvalRequest JSON line in, one EvalResult JSON line out (flushed), until
// end of input. A line that is not a request gets a result with `error` and id -1. Returns the
// number of requests served.
int64_t run_worker(std::istream& in, std::ostream& out, Evaluator& evaluator);

}  // namespace leancnn::search
