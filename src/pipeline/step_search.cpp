// The search step: neural architecture search (search/search.h) with the recipe's data and the
// input model's shape and class count; the next variant is the best architecture found, with
// the weights of its short training (follow with a train step to train it fully). The YAML keys
// only fill a search::SearchSpec, as `leancnn search` does. The cache lives in the step's work
// folder, so an interrupted search resumes; the diagnostics carry the trajectory and the Pareto
// front for the report.
#include <algorithm>
#include <cstdio>
#include <limits>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/pipeline/step.h"
#include "leancnn/search/search.h"

namespace leancnn::pipeline {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<KeySpec> search_keys() {
  return {
      {"space", KeyType::string, from_native("mobile"), -kInf, kInf, false, {"mobile", "macro", "cell"}, "search space"},
      {"strategy", KeyType::string, from_native("evolution"), -kInf, kInf, false, {"random", "evolution", "tpe", "reinforce", "predictor", "darts", "oneshot"},
       "search strategy (docs/nas.md)"},
      {"budget", KeyType::integer, from_native(20), 1, kInf, false, {}, "evaluations"},
      {"objective", KeyType::string, from_native("accuracy"), -kInf, kInf, false, {"accuracy", "mnasnet"},
       "accuracy, or MnasNet's acc x (latency/target)^w"},
      {"target_latency_ms", KeyType::number, from_native(0), 0, kInf, false, {}, "mnasnet: the target latency"},
      {"latency_weight", KeyType::number, from_native(-0.07), -kInf, kInf, false, {}, "mnasnet: the exponent w"},
      {"max_latency_ms", KeyType::number, from_native(0), 0, kInf, false, {}, "constraint (0 = none)"},
      {"reference", KeyType::string, from_native(""), -kInf, kInf, false, {}, "a zoo model trained with the candidates' settings, to compare with (\"\" = none)"},
      {"within_reference", KeyType::boolean, from_native(false), -kInf, kInf, false, {}, "constraint: latency at most the reference's"},
      {"latency_ratio", KeyType::number, from_native(1), 0, kInf, false, {}, "within_reference: the cap on latency over the reference's (0.7 = 30 % faster)"},
      {"max_energy_pj", KeyType::number, from_native(0), 0, kInf, false, {}, "constraint on the first preset's energy (0 = none)"},
      {"max_params", KeyType::integer, from_native(0), 0, kInf, false, {}, "constraint (0 = none)"},
      {"max_macs", KeyType::integer, from_native(0), 0, kInf, false, {}, "constraint (0 = none)"},
      {"train_images", KeyType::integer, from_native(2000), 0, kInf, false, {}, "training images per candidate (0 = all but validation)"},
      {"val_images", KeyType::integer, from_native(1000), 1, kInf, false, {}, "validation images (the end of the training split)"},
      {"test_images", KeyType::integer, from_native(1000), -1, kInf, false, {}, "test images (0 = all, -1 = none)"},
      {"epochs", KeyType::integer, from_native(3), 1, kInf, false, {}, "training epochs per candidate at most"},
      {"patience", KeyType::integer, from_native(1), 0, kInf, false, {}, "early stopping patience in epochs (0 = off)"},
      {"batch", KeyType::integer, from_native(64), 1, kInf, false, {}, "training batch"},
      {"lr", KeyType::number, from_native(0.05), 0, kInf, true, {}, "learning rate (SGD, momentum 0.9, cosine)"},
      {"latency_iters", KeyType::integer, from_native(30), 1, kInf, false, {}, "timed runs per latency measurement"},
      {"latency_threads", KeyType::integer, from_native(1), 1, kInf, false, {}, "threads of the measured plan"},
      {"latency_table", KeyType::boolean, from_native(true), -kInf, kInf, false, {}, "estimate from the per-layer table when it can"},
      {"accel", KeyType::string_list, from_native(nlohmann::json::array({"eyeriss-like"})), -kInf, kInf, false, {},
       "accelerator presets (the first is the constraint's)"},
      {"population", KeyType::integer, from_native(16), 2, kInf, false, {}, "evolution: population"},
      {"sample_size", KeyType::integer, from_native(4), 1, kInf, false, {}, "evolution: tournament size"},
      {"darts_epochs", KeyType::integer, from_native(6), 1, kInf, false, {}, "darts: supernet epochs"},
      {"darts_warmup", KeyType::integer, from_native(2), 0, kInf, false, {}, "darts: first epochs with alphas frozen"},
      {"darts_channels", KeyType::integer, from_native(8), 1, kInf, false, {}, "darts: the supernet's channels (8, 12, 16)"},
      {"darts_repeats", KeyType::integer, from_native(1), 1, kInf, false, {}, "darts: normal cells per stage (1, 2)"},
      {"darts_lr", KeyType::number, from_native(0.025), 0, kInf, true, {}, "darts: supernet weights' learning rate"},
      {"darts_alpha_lr", KeyType::number, from_native(3e-3), 0, kInf, true, {}, "darts: architecture weights' learning rate"},
      {"oneshot_epochs", KeyType::integer, from_native(3), 1, kInf, false, {}, "oneshot: supernet epochs"},
      {"oneshot_candidates", KeyType::integer, from_native(100), 1, kInf, false, {}, "oneshot: sub-nets scored through the supernet"},
      {"oneshot_calibration", KeyType::integer, from_native(500), 1, kInf, false, {}, "oneshot: BN re-estimation images"},
      {"oneshot_pool", KeyType::integer, from_native(0), 0, kInf, false, {}, "oneshot, with caps: sub-nets within them the supernet trains (0 = uniform)"},
      {"oneshot_sandwich", KeyType::integer, from_native(0), 0, kInf, false, {}, "oneshot: 0 = single path; N = largest, smallest and N sampled sub-nets per batch"},
      {"cache", KeyType::string, from_native(""), -kInf, kInf, false, {}, "a shared evaluation cache file (\"\" = the step's own)"},
  };
}

search::DartsOptions darts_options(const nlohmann::json& s) {
  search::DartsOptions d;
  d.epochs = s["darts_epochs"];
  d.warmup_epochs = s["darts_warmup"];
  d.channels = s["darts_channels"];
  d.repeats = s["darts_repeats"];
  d.weight_lr = s["darts_lr"];
  d.alpha_lr = s["darts_alpha_lr"];
  return d;
}

search::OneShotOptions oneshot_options(const nlohmann::json& s) {
  search::OneShotOptions o;
  o.epochs = s["oneshot_epochs"];
  o.candidates = s["oneshot_candidates"];
  o.calibration_images = s["oneshot_calibration"];
  o.pool = s["oneshot_pool"];
  o.sandwich = s["oneshot_sandwich"];
  return o;
}

search::SearchSpec spec_of(const nlohmann::json& s, const ir::Graph& input, const StepContext& ctx) {
  search::SearchSpec spec;
  spec.space = s["space"].get<std::string>();
  spec.strategy = s["strategy"].get<std::string>();
  spec.budget = s["budget"];
  spec.seed = ctx.recipe->seed;
  spec.objective.kind = s["objective"].get<std::string>();
  spec.objective.target_latency_ms = s["target_latency_ms"];
  spec.objective.latency_weight = s["latency_weight"];
  spec.objective.max_latency_ms = s["max_latency_ms"];
  spec.objective.max_energy_pj = s["max_energy_pj"];
  spec.objective.max_params = s["max_params"];
  spec.objective.max_macs = s["max_macs"];
  spec.strategy_options.population = s["population"];
  spec.strategy_options.sample_size = s["sample_size"];
  spec.darts = darts_options(s);
  spec.oneshot = oneshot_options(s);
  search::EvalSettings& e = spec.eval;
  e.data = native(ctx.recipe->data)["dataset"].get<std::string>();
  const Shape& in = input.value(input.inputs().at(0)).shape;
  e.input = {in[1], in[2], in[3]};
  e.classes = input.value(input.outputs().at(0)).shape.back();
  e.train_images = s["train_images"];
  e.val_images = s["val_images"];
  e.test_images = s["test_images"];
  e.epochs = s["epochs"];
  e.patience = s["patience"];
  e.batch = s["batch"];
  e.lr = s["lr"];
  e.latency_iters = s["latency_iters"];
  e.latency_threads = s["latency_threads"];
  e.latency_table = s["latency_table"];
  e.accel_presets = s["accel"].get<std::vector<std::string>>();
  e.seed = ctx.recipe->seed;
  spec.out_dir = ctx.work_dir;
  spec.cache_file = s["cache"].get<std::string>();
  spec.reference = s["reference"].get<std::string>();
  spec.within_reference = s["within_reference"];
  spec.reference_latency_ratio = s["latency_ratio"];
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  return spec;
}

nlohmann::json point(const search::EvalResult& r, double score, size_t step) {
  nlohmann::json accel = nlohmann::json::array();
  for (const auto& a : r.accel) accel.push_back({{"preset", a.preset}, {"cycles", a.cycles}, {"energy_pj", a.energy_pj}});
  return {{"step", step + 1},   {"arch_hash", r.arch_hash}, {"summary", r.summary},       {"val_acc", r.val_acc},
          {"test_acc", r.test_acc}, {"params", r.params},   {"macs", r.macs},             {"latency_ms", r.latency_ms},
          {"energy_pj", r.energy_pj()}, {"accel", accel},   {"score", score},             {"ok", r.ok() && r.trained},
          {"latency_estimated", r.latency_estimated}, {"trained", r.trained}};
}

StepOutput run_search_step(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  const search::SearchReport r = search::run_search(spec_of(s, input, ctx));
  if (r.best < 0 || r.best_model.empty())
    fail(ErrorKind::runtime, "search step: no architecture met the constraints in ", r.trajectory.size(),
         " evaluations (relax the caps or raise the budget)");
  StepOutput out{io::load_onnx(r.best_model, ops::op_table())};
  nlohmann::json trajectory = nlohmann::json::array(), front = nlohmann::json::array();
  double best = -1e300;
  for (size_t i = 0; i < r.trajectory.size(); ++i) {
    nlohmann::json p = point(r.trajectory[i], r.scores[i], i);
    best = std::max(best, r.scores[i]);
    p["best_score"] = best;
    trajectory.push_back(p);
  }
  for (size_t i : r.pareto) front.push_back(point(r.trajectory[i], r.scores[i], i));
  const search::EvalResult& b = r.trajectory[static_cast<size_t>(r.best)];
  out.diagnostics = from_native({{"space", r.spec.space},
                                 {"strategy", r.spec.strategy},
                                 {"budget", r.spec.budget},
                                 {"evaluations", r.trajectory.size()},
                                 {"cache_hits", r.cache_hits},
                                 {"search_seconds", r.seconds},
                                 {"best", point(b, r.scores[static_cast<size_t>(r.best)], static_cast<size_t>(r.best))},
                                 {"search_trajectory", trajectory},
                                 {"search_pareto", front}});
  if (r.has_reference()) {
    nlohmann::json d = native(out.diagnostics);
    d["reference"] = point(r.reference, 0, 0);
    d["reference"].erase("step");
    d["reference"].erase("score");
    d["reference"]["model"] = r.reference.summary;
    out.diagnostics = from_native(std::move(d));
  }
  for (const auto& [key, value] : {std::pair<const char*, const Json*>{"darts", &r.darts}, {"oneshot", &r.oneshot}})
    if (!native(*value).is_null()) {  // the supernet's training and what it scored
      nlohmann::json d = native(out.diagnostics);
      d[key] = native(*value);
      out.diagnostics = from_native(std::move(d));
    }
  return out;
}
}  // namespace

StepKind search_step_kind() {
  StepKind k;
  k.name = "search";
  k.description = "neural architecture search (docs/nas.md); the next variant is the best architecture found";
  k.keys = search_keys;
  k.defaults = [](const Recipe&) { return Json::object(); };
  k.run = run_search_step;
  // The weight-sharing strategies' own settings and spaces, before any step runs.
  k.check = [](const ir::Graph&, const Json& settings, const Recipe&) {
    const nlohmann::json& s = native(settings);
    std::vector<SettingProblem> problems;
    const std::string reference = s["reference"].get<std::string>();
    if (!reference.empty()) try {
        models::zoo_entry(reference);
      } catch (const Error& e) {
        problems.push_back({"reference", e.message()});
      }
    if (s["within_reference"].get<bool>() && reference.empty())
      problems.push_back({"within_reference", "needs a reference model to measure: set reference (a zoo model, e.g. small_cnn)"});
    const double ratio = s["latency_ratio"].get<double>();
    if (!(ratio > 0)) problems.push_back({"latency_ratio", "must be > 0 (0.7 = at least 30 % faster than the reference)"});
    else if (ratio != 1.0 && !s["within_reference"].get<bool>())
      problems.push_back({"latency_ratio", "caps candidates only within the reference: set within_reference: true"});
    const std::string strategy = s["strategy"].get<std::string>(), space = s["space"].get<std::string>();
    try {
      if (strategy == "darts") {
        if (space != "cell") fail(ErrorKind::usage, "strategy darts searches the cell space: set space: cell");
        search::check(darts_options(s));
      } else if (strategy == "oneshot") {
        search::check(oneshot_options(s), space);
      }
    } catch (const Error& e) {
      // Name the recipe key the message is about (the options' names follow the keys').
      const std::string& m = e.message();
      std::string key = "strategy";
      for (const char* word : {"warmup", "channels", "repeats", "epochs", "candidates", "calibration", "pool"})
        if (m.find(word) != std::string::npos && m.find("space:") == std::string::npos && m.find("--space") == std::string::npos) {
          key = str_cat(strategy, "_", word);
          break;
        }
      problems.push_back({key, m});
    }
    return problems;
  };
  return k;
}

}  // namespace leancnn::pipeline
