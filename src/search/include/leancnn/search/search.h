// A search run (docs/nas.md): a space, a strategy, an objective and an evaluation budget. The
// loop proposes, evaluates (through the cached Evaluator: rerunning an interrupted search with
// the same settings replays the cached evaluations and continues), scores and observes; then
// the trajectory, the Pareto front and the best architecture are written to the output folder.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "leancnn/core/json.h"
#include "leancnn/search/darts.h"
#include "leancnn/search/oneshot.h"
#include "leancnn/search/evaluator.h"
#include "leancnn/search/objective.h"
#include "leancnn/search/strategy.h"

namespace leancnn::search {

struct SearchSpec {
  std::string space = "mobile";
  std::string strategy = "evolution";
  int64_t budget = 20;  // evaluations (proposals; a repeat is a cache hit that still counts)
  uint64_t seed = 0;    // the strategy's (the evaluations' own seed is eval.seed)
  EvalSettings eval;
  Objective objective;
  StrategyOptions strategy_options;  // its seed is replaced by `seed`
  DartsOptions darts;                // strategy "darts" (space "cell"): the supernet's settings
  OneShotOptions oneshot;            // strategy "oneshot" (space "mobile")
  std::string out_dir;               // required
  std::string cache_file;  // "" = out_dir/cache.jsonl (share one between runs to reuse evaluations)
  std::string table_file;  // "" = out_dir/latency_table.jsonl
  // A zoo model trained and measured with the candidates' settings before the search
  // (Evaluator::evaluate_reference): search.json compares the best with it. within_reference
  // times it beside every candidate (EvalSettings::latency_anchor) and caps the ratio at
  // reference_latency_ratio (Objective::max_latency_ratio; max_latency_ms still applies as
  // given): 1 = no slower than the reference, 0.7 = at least 30 % faster.
  std::string reference;
  bool within_reference = false;
  double reference_latency_ratio = 1.0;  // > 0; other than 1 only with within_reference
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

struct SearchReport {
  SearchSpec spec;
  std::vector<EvalResult> trajectory;  // in evaluation order
  std::vector<double> scores;
  std::vector<size_t> pareto;          // indices into trajectory
  int64_t best = -1;                   // index of the best score among feasible results (-1: none)
  int64_t cache_hits = 0;
  double seconds = 0;
  std::string best_model;              // out_dir/best.onnx when written
  Json darts;                          // strategy "darts": DartsResult::to_json (null otherwise)
  Json oneshot;                        // strategy "oneshot": OneShotResult::to_json (null otherwise)
  EvalResult reference;                // spec.reference's figures (summary empty when none)
  bool has_reference() const { return !reference.summary.empty(); }
  // The best's latency over the reference's: over the reference timed beside it when anchored
  // (within_reference), else over the reference's own measurement; 0 when there is no best or
  // no reference.
  double best_latency_ratio() const;
  // search.json's content: settings, trajectory (with the best score so far), front, best.
  Json to_json() const;
};

// Strategy "darts" (cell space only) trains one supernet (darts.h) and evaluates the cell it
// derives, once (the budget is not used). Strategy "oneshot" (mobile space) trains a
// weight-sharing supernet, scores `oneshot.candidates` sub-nets through it by regularized
// evolution (oneshot.h), then trains the `budget` best distinct ones from scratch. The other
// strategies propose `budget` evaluations.
// Error(usage) for bad settings before any evaluation; Error(runtime) when interrupted.
// Writes out_dir/search.json, best.yaml, best.onnx (the best candidate's trained weights),
// pareto/<n>_<hash>.yaml and models/<hash>.onnx for every trained candidate.
SearchReport run_search(const SearchSpec& spec);

// Every strategy run_search takes: strategy_names(), "darts" and "oneshot".
std::vector<std::string> search_strategy_names();

}  // namespace leancnn::search
