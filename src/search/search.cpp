// The search loop (search.h).
#include "leancnn/search/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/models/zoo.h"

namespace leancnn::search {

namespace {
using nlohmann::json;
namespace fs = std::filesystem;

void write_text(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out) fail(ErrorKind::runtime, "cannot write '", tmp.string(), "'");
  }
  fs::rename(tmp, p);
}

// " (0.93x ref)" after a latency timed beside the anchor; "" otherwise.
std::string anchor_text(const EvalResult& r) {
  if (r.anchor_latency_ms <= 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof(buf), " (%.2fx ref)", r.latency_ms / r.anchor_latency_ms);
  return buf;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}
}  // namespace

Json SearchReport::to_json() const {
  json traj = json::array();
  double best_so_far = -1e300;
  for (size_t i = 0; i < trajectory.size(); ++i) {
    json e = json::parse(trajectory[i].to_json_line());
    e.erase("id");
    best_so_far = std::max(best_so_far, scores[i]);
    e["step"] = i + 1;
    e["score"] = scores[i];
    e["best_score"] = best_so_far;
    e["feasible"] = feasible(spec.objective, trajectory[i]);
    e["cached"] = trajectory[i].cached;
    traj.push_back(e);
  }
  json objective = {{"kind", spec.objective.kind},
                    {"target_latency_ms", spec.objective.target_latency_ms},
                    {"latency_weight", spec.objective.latency_weight},
                    {"hard_target", spec.objective.hard_target},
                    {"max_latency_ms", spec.objective.max_latency_ms},
                    {"max_latency_ratio", spec.objective.max_latency_ratio},
                    {"max_energy_pj", spec.objective.max_energy_pj},
                    {"max_params", spec.objective.max_params},
                    {"max_macs", spec.objective.max_macs}};
  json j = {{"space", spec.space},
            {"strategy", spec.strategy},
            {"budget", spec.budget},
            {"seed", spec.seed},
            {"objective", objective},
            {"eval", native(spec.eval.to_json())},
            {"trajectory", traj},
            {"pareto", pareto},
            {"best", best},
            {"cache_hits", cache_hits},
            {"seconds", seconds},
            {"best_model", best_model}};
  if (has_reference()) {
    json ref = json::parse(reference.to_json_line());
    for (const char* k : {"id", "arch", "arch_hash"}) ref.erase(k);
    ref["model"] = reference.summary;
    j["reference"] = ref;
    if (best >= 0 && reference.ok()) {
      // The question a search answers: more accurate at no more latency, or as accurate
      // for less (the ratio below 1).
      const EvalResult& b = trajectory[static_cast<size_t>(best)];
      j["best_vs_reference"] = {{"val_acc_delta", b.val_acc - reference.val_acc},
                                {"test_acc_delta", b.test_acc >= 0 && reference.test_acc >= 0 ? json(b.test_acc - reference.test_acc) : json()},
                                {"latency_ratio", best_latency_ratio() > 0 ? json(best_latency_ratio()) : json()},
                                {"macs_ratio", reference.macs > 0 ? json(static_cast<double>(b.macs) / static_cast<double>(reference.macs)) : json()}};
    }
  }
  if (!native(darts).is_null()) j["darts"] = native(darts);
  if (!native(oneshot).is_null()) j["oneshot"] = native(oneshot);
  return from_native(std::move(j));
}

double SearchReport::best_latency_ratio() const {
  if (best < 0 || !has_reference()) return 0;
  const EvalResult& b = trajectory[static_cast<size_t>(best)];
  if (b.anchor_latency_ms > 0) return b.latency_ms / b.anchor_latency_ms;
  return reference.latency_ms > 0 ? b.latency_ms / reference.latency_ms : 0;
}

SearchReport run_search(const SearchSpec& spec) {
  const auto t0 = std::chrono::steady_clock::now();
  if (spec.out_dir.empty()) fail(ErrorKind::usage, "the search needs an output folder");
  if (spec.budget < 1) fail(ErrorKind::usage, "the search budget must be >= 1 evaluation, got ", spec.budget);
  validate(spec.objective);
  if (!spec.reference.empty()) models::zoo_entry(spec.reference);  // Error(usage) listing the names
  if (spec.within_reference && spec.reference.empty())
    fail(ErrorKind::usage, "within_reference needs a reference model (--reference NAME, a zoo model)");
  if (!(spec.reference_latency_ratio > 0) || !std::isfinite(spec.reference_latency_ratio))
    fail(ErrorKind::usage, "the latency ratio to the reference must be > 0 (0.7 = at least 30 % faster), got ",
         spec.reference_latency_ratio);
  if (spec.reference_latency_ratio != 1.0 && !spec.within_reference)
    fail(ErrorKind::usage, "a latency ratio to the reference (", spec.reference_latency_ratio,
         ") caps candidates only within the reference: add --within-reference (within_reference: true)");
  const auto space = make_space(spec.space);
  StrategyOptions so = spec.strategy_options;
  so.seed = spec.seed;
  const bool darts = spec.strategy == "darts";
  if (darts && spec.space != "cell")
    fail(ErrorKind::usage, "strategy darts searches the cell space (its supernet is a relaxed cell): use --space cell, not '",
         spec.space, "'");
  if (darts) check(spec.darts);
  const bool oneshot = spec.strategy == "oneshot";
  if (oneshot) check(spec.oneshot, spec.space);
  const auto strategy = darts || oneshot ? nullptr : make_strategy(spec.strategy, *space, so);
  // Settings problems (a preset name, the data folder) surface here, before any training.
  EvalSettings eval = EvalSettings::from_json(spec.eval.to_json());
  // Within the reference: every latency is timed beside the reference's (the anchor), and the
  // cap is on their ratio, so it holds whatever the machine's speed at that moment.
  if (spec.within_reference) eval.latency_anchor = spec.reference;
  train::load_idx_dataset(train::resolve_data_dir(eval.data), train::Split::test, eval.classes);

  const fs::path out(spec.out_dir);
  fs::create_directories(out);
  EvaluatorOptions eo;
  eo.cache_file = spec.cache_file.empty() ? (out / "cache.jsonl").string() : spec.cache_file;
  eo.table_file = spec.table_file.empty() ? (out / "latency_table.jsonl").string() : spec.table_file;
  eo.work_dir = (out / "work").string();
  eo.models_dir = (out / "models").string();
  eo.log = spec.log;
  Evaluator evaluator(eo);

  SearchReport rep;
  rep.spec = spec;
  rep.spec.eval = eval;
  if (!spec.reference.empty()) {
    if (spec.log) spec.log(str_cat("reference: ", spec.reference, " with the candidates' settings"));
    rep.reference = evaluator.evaluate_reference(spec.reference, eval);
    const EvalResult& r = rep.reference;
    if (!r.ok()) fail(ErrorKind::runtime, "the reference model ", spec.reference, " failed to train: ", r.error);
    if (spec.log)
      spec.log(str_cat("reference ", spec.reference, ": val ", fmt("%.4f", r.val_acc), "  lat ", fmt("%.3f", r.latency_ms), " ms",
                       r.latency_estimated ? " (table)" : "", "  ", fmt("%.2f", static_cast<double>(r.macs) * 1e-6), " MMAC",
                       r.cached ? "  [cached]" : str_cat("  ", fmt("%.1f", r.seconds), " s")));
    if (spec.within_reference) rep.spec.objective.max_latency_ratio = spec.reference_latency_ratio;
  }
  const Objective& objective = rep.spec.objective;
  double best_score = -1e300;
  Architecture derived;
  if (darts) {
    const DartsResult d = run_darts(eval, evaluator.data(eval), spec.darts, spec.log);
    rep.darts = d.to_json();
    derived = d.arch;
    if (spec.log) spec.log(str_cat("darts: supernet ", d.seconds, " s; training the derived cell from scratch"));
  }
  std::vector<Architecture> finalists;  // oneshot: the best sub-nets by supernet score, trained from scratch
  if (oneshot) {
    const auto evolution = make_strategy("evolution", *space, so);
    const OneShotResult o = run_oneshot(*space, eval, evaluator.data(eval), spec.oneshot, *evolution, objective,
                                        evaluator, spec.log);
    rep.oneshot = o.to_json(*space);
    std::vector<const OneShotCandidate*> ranked;
    for (const OneShotCandidate& c : o.candidates) ranked.push_back(&c);
    std::stable_sort(ranked.begin(), ranked.end(), [&](const OneShotCandidate* a, const OneShotCandidate* b) {
      const bool fa = feasible(objective, a->result), fb = feasible(objective, b->result);
      return fa != fb ? fa : a->score > b->score;
    });
    std::vector<std::string> seen;
    for (const OneShotCandidate* c : ranked) {
      if (static_cast<int64_t>(finalists.size()) >= spec.budget) break;
      if (std::find(seen.begin(), seen.end(), c->result.arch_hash) != seen.end()) continue;
      seen.push_back(c->result.arch_hash);
      finalists.push_back(c->result.arch);
    }
    if (spec.log) spec.log(str_cat("oneshot: training the ", finalists.size(), " best sub-nets from scratch"));
  }
  const int64_t evaluations = darts ? 1 : oneshot ? static_cast<int64_t>(finalists.size()) : spec.budget;
  for (int64_t step = 0; step < evaluations; ++step) {
    EvalRequest req;
    req.id = step;
    req.arch = darts ? derived : oneshot ? finalists[static_cast<size_t>(step)] : strategy->propose();
    req.settings = eval;
    // With hard caps the untrained candidate is measured first: one over a cap costs a
    // measurement, not a training (its score needs no accuracy). A trained result in the cache
    // decides by itself.
    EvalResult r;
    const bool precheck = has_caps(objective) && evaluator.cache().find(request_key(req)) == nullptr;
    if (precheck) r = evaluator.precheck(req);
    if (!precheck || within_caps(objective, r)) r = evaluator.evaluate(req);
    const double s = score(objective, r);
    if (strategy) strategy->observe(req.arch, s);
    if (r.cached) ++rep.cache_hits;
    rep.trajectory.push_back(r);
    rep.scores.push_back(s);
    if (feasible(objective, r) && (rep.best < 0 || s > best_score)) {
      best_score = s;
      rep.best = step;
    }
    if (spec.log) {
      std::string line = str_cat("[", step + 1, "/", evaluations, "] ", spec.strategy, " ", r.arch_hash.substr(0, 8), " ");
      const std::string best_text = rep.best < 0 ? std::string("none feasible") : fmt("%.4f", best_score);
      if (!r.ok()) {
        line += "failed: " + r.error;
      } else if (!r.trained) {
        line += str_cat("over the caps, not trained: lat ", fmt("%.3f", r.latency_ms), " ms", anchor_text(r), "  ",
                        fmt("%.3g", r.energy_pj() * 1e-6), " uJ  ", fmt("%.2f", static_cast<double>(r.macs) * 1e-6), " MMAC  score ", fmt("%.4f", s), "  best ",
                        best_text, r.cached ? "  [cached]" : str_cat("  ", fmt("%.1f", r.seconds), " s"));
      } else {
        line += str_cat("val ", fmt("%.4f", r.val_acc), "  lat ", fmt("%.3f", r.latency_ms), " ms",
                        r.latency_estimated ? " (table)" : "", anchor_text(r), "  ", fmt("%.3g", r.energy_pj() * 1e-6), " uJ  ",
                        fmt("%.2f", static_cast<double>(r.macs) * 1e-6), " MMAC  score ", fmt("%.4f", s),
                        feasible(objective, r) ? "" : " (infeasible)", "  best ", best_text,
                        r.cached ? "  [cached]" : str_cat("  ", fmt("%.1f", r.seconds), " s"));
      }
      spec.log(line);
      spec.log("      " + r.summary);
    }
  }
  rep.pareto = pareto_front(rep.trajectory);

  // The found models: the best as YAML and ONNX, the front as YAML.
  fs::remove_all(out / "pareto");
  fs::create_directories(out / "pareto");
  for (size_t k = 0; k < rep.pareto.size(); ++k) {
    const EvalResult& r = rep.trajectory[rep.pareto[k]];
    write_text(out / "pareto" / str_cat(k, "_", r.arch_hash.substr(0, 12), ".yaml"), to_yaml(*space, r.arch));
  }
  if (rep.best >= 0) {
    const EvalResult& b = rep.trajectory[static_cast<size_t>(rep.best)];
    write_text(out / "best.yaml", to_yaml(*space, b.arch));
    const fs::path model = out / "models" / (b.arch_hash + ".onnx");
    if (!fs::exists(model) && b.ok()) {
      // Its evaluation came from a cache shared with another run's folder: train it again
      // (the same seed and settings) so that this folder holds its weights.
      if (spec.log) spec.log(str_cat("training the best architecture again for its weights (", b.arch_hash.substr(0, 8), ")"));
      EvalRequest req;
      req.arch = b.arch;
      req.settings = eval;
      evaluator.evaluate(req, true);
    }
    if (fs::exists(model)) {
      fs::copy_file(model, out / "best.onnx", fs::copy_options::overwrite_existing);
      rep.best_model = (out / "best.onnx").string();
    }
  }
  fs::remove_all(out / "work");
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_text(out / "search.json", rep.to_json().dump(2) + "\n");
  return rep;
}

std::vector<std::string> search_strategy_names() {
  std::vector<std::string> names = strategy_names();
  names.push_back("darts");
  names.push_back("oneshot");
  return names;
}

}  // namespace leancnn::search
