// The resumable recipe runner (runner.h).
#include "leancnn/pipeline/runner.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "leancnn/core/clock.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/pipeline/evaluate.h"
#include "leancnn/pipeline/hash.h"
#include "leancnn/pipeline/progress.h"
#include "leancnn/pipeline/step.h"
#include "leancnn/train/data_loader.h"

namespace leancnn::pipeline {

namespace fs = std::filesystem;

namespace {
// Bumped when a step's output for the same inputs changes meaning (invalidates old keys).
constexpr int kStepFormat = 1;

std::optional<nlohmann::json> read_json(const std::string& path) {
  if (!fs::is_regular_file(path)) return std::nullopt;
  try {
    return nlohmann::json::parse(io::read_file(path));
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged record is as good as none: the step runs again
  }
}

void write_json(const std::string& path, const nlohmann::json& j) { io::write_file_atomic(path, j.dump(2) + "\n"); }

void log_line(bool on, const std::string& s) {
  if (on) std::fprintf(stderr, "%s\n", s.c_str());
}

// Datasets of the run, loaded on first use.
struct Data {
  const nlohmann::json& spec;  // Recipe::data
  std::optional<train::Dataset> train_set, test_set;
  int64_t classes = 10;
  const train::Dataset& train() {
    if (!train_set) {
      train::Dataset d = train::load_idx_dataset(train::resolve_data_dir(spec["dataset"]), train::Split::train, classes);
      const int64_t limit = spec["limit_train"];
      train_set = limit > 0 ? train::subset(d, limit) : d;
    }
    return *train_set;
  }
  const train::Dataset& test() {
    if (!test_set) {
      train::Dataset d = train::load_idx_dataset(train::resolve_data_dir(spec["dataset"]), train::Split::test, classes);
      const int64_t limit = spec["limit_test"];
      test_set = limit > 0 ? train::subset(d, limit) : d;
    }
    return *test_set;
  }
};

}  // namespace

std::string step_key(const std::string& input_sha256, const Json& settings, const std::string& data) {
  Sha256 h;
  h.update(str_cat("leancnn step v", kStepFormat, "\n", input_sha256, "\n", settings.dump(), "\n", data, "\n"));
  return h.hex();
}

std::string data_sha256(const std::string& spec) {
  const std::string dir = train::resolve_data_dir(spec);
  if (!fs::is_directory(dir))
    fail(ErrorKind::bad_input, "data.dataset: no folder '", dir, "'",
         spec == "fashion-mnist" ? " (install Debian's dataset-fashion-mnist: scripts/install-deps.sh)" : "");
  std::vector<std::string> files;
  for (const char* stem : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"}) {
    const fs::path raw = fs::path(dir) / stem, gz = fs::path(dir) / (std::string(stem) + ".gz");
    if (fs::is_regular_file(raw)) files.push_back(raw.string());
    else if (fs::is_regular_file(gz)) files.push_back(gz.string());
    else fail(ErrorKind::bad_input, "data.dataset: folder '", dir, "' has no ", stem, " (nor ", stem, ".gz)");
  }
  Sha256 h;
  for (const std::string& f : files) h.update(fs::path(f).filename().string() + "\n" + sha256_file(f) + "\n");
  return h.hex();
}

ir::Graph build_input_model(const Recipe& r) {
  const nlohmann::json& model_spec = native(r.model);
  const ir::OpTable& table = ops::op_table();
  ir::Graph model = model_spec.contains("file")
                        ? io::load_onnx(model_spec["file"], table)
                        : models::build_model(model_spec["zoo"], {models::parse_chw(model_spec["input"]), model_spec["classes"], r.seed}, table);
  if (model.inputs().size() != 1 || model.outputs().size() != 1)
    fail(ErrorKind::bad_input, "model: a recipe's model needs one input and one output (logits); it has ",
         model.inputs().size(), " and ", model.outputs().size());
  return model;
}

void check_steps(const Recipe& r, const ir::Graph& model) {
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const StepSpec& spec = r.steps[i];
    const StepKind& kind = *find_step_kind(spec.kind);
    if (!kind.check) continue;
    const std::vector<SettingProblem> problems = kind.check(model, spec.settings, r);
    if (problems.empty()) continue;
    const SettingProblem& p = problems.front();
    const auto line = spec.key_lines.find(p.key);
    fail(ErrorKind::bad_input, "recipe '", r.source, "', line ", line != spec.key_lines.end() ? line->second : spec.line,
         ": steps[", i + 1, "] (", spec.kind, "): ", p.key.empty() ? "" : "key '" + p.key + "': ", p.why);
  }
}

RunResult run_recipe(const Recipe& r, const RunOptions& o) {
  const auto t_start = std::chrono::steady_clock::now();
  RunResult res;
  res.recipe = r.to_json();
  res.out_dir = !o.out_dir.empty() ? o.out_dir : !r.output.empty() ? r.output : "runs/recipe";
  const std::string dir = res.out_dir;
  const nlohmann::json& model_spec = native(r.model);
  const nlohmann::json& data_spec = native(r.data);
  // Everything that can be checked is checked before the first step runs.
  res.data_sha256 = data_sha256(data_spec["dataset"]);
  ir::Graph model = build_input_model(r);
  check_steps(r, model);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) fail(ErrorKind::bad_input, "output folder '", dir, "' cannot be created: ", ec.message());
  const ir::OpTable& table = ops::op_table();

  // The input variant: the zoo model built from the seed, or the recipe's ONNX file.
  VariantResult input;
  input.name = input.kind = "input";
  input.file = "input.onnx";
  const std::string input_path = (fs::path(dir) / input.file).string();
  if (model_spec.contains("file")) {
    const std::string bytes = io::read_file(model_spec["file"]);
    if (!fs::is_regular_file(input_path) || io::read_file(input_path) != bytes) io::write_file_atomic(input_path, bytes);
  } else {
    const std::string tmp = input_path + ".new";
    io::save_onnx(model, tmp);
    if (fs::is_regular_file(input_path) && io::read_file(input_path) == io::read_file(tmp)) fs::remove(tmp);
    else fs::rename(tmp, input_path);
  }
  input.sha256 = sha256_file(input_path);
  input.settings = r.model;
  // An untrained model (a train step, or a lottery prune step, trains it first) is no variant
  // worth a row.
  const bool trains_first = !r.steps.empty() && (r.steps.front().kind == "train" ||
                                                 (r.steps.front().kind == "prune" &&
                                                  native(r.steps.front().settings)["prune_schedule"] == "lottery"));
  input.evaluated = !trains_first;

  Data data{data_spec, {}, {}, model.value(model.outputs()[0]).shape.back()};
  res.variants.push_back(input);

  // Steps.
  std::string prev_sha = input.sha256, prev_name = "input";
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const StepSpec& spec = r.steps[i];
    const StepKind& kind = *find_step_kind(spec.kind);
    VariantResult v;
    v.name = spec.name;
    v.kind = spec.kind;
    v.parent = prev_name;
    v.file = spec.name + ".onnx";
    v.settings_file = spec.name + ".settings.json";
    v.settings = spec.settings;
    v.evaluated = true;
    const Json decided_by = from_native({{"step", spec.kind}, {"settings", native(spec.settings)}, {"seed", r.seed},
                                         {"limit_train", data_spec["limit_train"]}, {"limit_test", data_spec["limit_test"]}});
    v.key = step_key(prev_sha, decided_by, res.data_sha256);
    const std::string onnx_path = (fs::path(dir) / v.file).string();
    const std::string settings_path = (fs::path(dir) / v.settings_file).string();
    const std::string work_dir = (fs::path(dir) / (spec.name + ".work")).string();
    const std::string head = str_cat("[", i + 1, "/", r.steps.size(), "] ", spec.kind, " '", spec.name, "'");

    const std::optional<nlohmann::json> rec = o.force ? std::nullopt : read_json(settings_path);
    if (rec && rec->value("key", "") == v.key && fs::is_regular_file(onnx_path) &&
        sha256_file(onnx_path) == rec->value("output_sha256", "")) {
      v.reused = true;
      v.sha256 = (*rec)["output_sha256"];
      v.step_seconds = rec->value("seconds", 0.0);
      v.diagnostics = from_native(rec->value("diagnostics", nlohmann::json::object()));
      log_line(o.progress, str_cat(head, ": unchanged since the last run, reusing ", v.file));
      model = io::load_onnx(onnx_path, table);
    } else {
      // Training state of an interrupted run of this same step (same key) resumes.
      const std::string work_key_path = (fs::path(work_dir) / "key").string();
      bool resume = false;
      if (!o.force && fs::is_regular_file(work_key_path) && io::read_file(work_key_path) == v.key &&
          fs::is_directory(fs::path(work_dir) / "last"))
        resume = true;
      if (!resume) {
        fs::remove_all(work_dir, ec);
        fs::create_directories(work_dir);
        io::write_file_atomic(work_key_path, v.key);
      }
      log_line(o.progress, str_cat(head, ": running", resume ? " (resuming from its checkpoint)" : "", " -> ", v.file));
      StepContext ctx;
      ctx.recipe = &r;
      ctx.train_set = [&data]() -> const train::Dataset& { return data.train(); };
      ctx.test_set = [&data]() -> const train::Dataset& { return data.test(); };
      ctx.work_dir = work_dir;
      ctx.resume = resume;
      ctx.progress = o.progress;
      const auto t0 = std::chrono::steady_clock::now();
      StepOutput out;
      try {
        out = kind.run(model, spec.settings, ctx);
      } catch (Error& e) {
        e.add_context(str_cat("recipe '", r.source, "', line ", spec.line, ": step '", spec.name, "' (", spec.kind, ")"));
        throw;
      }
      v.step_seconds = seconds_since(t0);
      v.diagnostics = out.diagnostics;
      out.model.name = model.name;
      io::save_onnx(out.model, onnx_path);
      v.sha256 = sha256_file(onnx_path);
      write_json(settings_path, {{"format", "leancnn.step"},
                                 {"version", kStepFormat},
                                 {"step", spec.kind},
                                 {"name", spec.name},
                                 {"settings", native(spec.settings)},
                                 {"seed", r.seed},
                                 {"data", data_spec},
                                 {"input_file", prev_name + ".onnx"},
                                 {"input_sha256", prev_sha},
                                 {"data_sha256", res.data_sha256},
                                 {"key", v.key},
                                 {"output_file", v.file},
                                 {"output_sha256", v.sha256},
                                 {"seconds", v.step_seconds},
                                 {"diagnostics", native(v.diagnostics)}});
      fs::remove_all(work_dir, ec);  // its state is in the ONNX file now
      log_line(o.progress, str_cat(head, ": done in ", format_seconds(v.step_seconds)));
      model = io::load_onnx(onnx_path, table);  // what later steps and the evaluations see: the file
    }
    prev_sha = v.sha256;
    prev_name = v.name;
    res.variants.push_back(v);
  }

  // Evaluations.
  EvaluateContext ectx;
  ectx.test_set = [&data]() -> const train::Dataset& { return data.test(); };
  ectx.seed = r.seed;
  ectx.progress = o.progress;
  for (VariantResult& v : res.variants) {
    if (!v.evaluated) continue;
    const std::string onnx_path = (fs::path(dir) / v.file).string();
    const std::string eval_path = (fs::path(dir) / (v.name + ".eval.json")).string();
    const Json decided_by = from_native({{"evaluate", native(r.evaluate)}, {"seed", r.seed}, {"limit_test", data_spec["limit_test"]}});
    const std::string key = step_key(v.sha256, decided_by, res.data_sha256);
    const std::optional<nlohmann::json> rec = o.force || o.reevaluate ? std::nullopt : read_json(eval_path);
    if (rec && rec->value("key", "") == key && rec->contains("evaluation")) {
      v.evaluation = from_native((*rec)["evaluation"]);
      v.eval_reused = true;
      log_line(o.progress, str_cat("evaluate '", v.name, "': unchanged, reusing ", v.name, ".eval.json"));
      continue;
    }
    log_line(o.progress, str_cat("evaluate '", v.name, "'"));
    const auto t0 = std::chrono::steady_clock::now();
    ectx.label = v.name;
    const ir::Graph g = io::load_onnx(onnx_path, table);
    v.evaluation = evaluate_variant(g, onnx_path, r.evaluate, ectx);
    native(v.evaluation)["eval_seconds"] = seconds_since(t0);
    write_json(eval_path, {{"format", "leancnn.eval"}, {"key", key}, {"model_sha256", v.sha256}, {"evaluation", native(v.evaluation)}});
  }
  res.seconds = seconds_since(t_start);
  return res;
}

}  // namespace leancnn::pipeline
