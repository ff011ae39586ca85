// The distill step: knowledge distillation of the previous variant (the student) from a teacher
// ONNX file, from peers (dml, kdcl) or from itself (self_best, self_aux), with an optional
// scratch baseline trained alongside (compress/distill/distill.h). The YAML keys only fill a
// compress::distill::Spec, as `leancnn distill` does; the same method keys also form the
// `distill:` section that the train and finetune steps accept.
#include <cstdio>
#include <filesystem>
#include <limits>

#include "distill_settings.h"
#include "leancnn/core/error.h"
#include "train_settings.h"

namespace leancnn::pipeline {

namespace dst = compress::distill;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string resolve(const Recipe& r, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute() || r.base_dir.empty()) return p;
  return (std::filesystem::path(r.base_dir) / p).lexically_normal().string();
}
}  // namespace

std::vector<KeySpec> distill_method_keys(bool online) {
  std::vector<std::string> methods = {"kd", "fitnets", "attention", "self_best", "self_aux"};
  if (online) methods.insert(methods.begin() + 3, {"dml", "kdcl"});
  std::vector<KeySpec> keys = {
      {"method", KeyType::string, from_native("kd"), -kInf, kInf, false, methods, "distillation method (docs/distillation.md)"},
      {"teacher", KeyType::string_list, from_native(nlohmann::json::array()), -kInf, kInf, false, {},
       "teacher ONNX file(s), relative to the recipe (kd, fitnets, attention; several: their mean logits)"},
      {"temperature", KeyType::number, {}, 0, kInf, true, {}, "softmax temperature T of the soft loss (default: the method's)"},
      {"alpha", KeyType::number, {}, 0, 1, false, {}, "weight of the soft loss; the hard loss gets 1 - alpha (default: the method's)"},
      {"beta", KeyType::number, {}, 0, kInf, true, {}, "weight of the feature term (fitnets 10, attention 1000 by default)"},
      {"layers", KeyType::string_list, from_native(nlohmann::json::array()), -kInf, kInf, false, {},
       "fitnets/attention: STUDENT_LAYER:TEACHER_LAYER pairs (same H x W); self_aux: student layers (default: stage ends)"},
  };
  if (online)
    keys.push_back({"peers", KeyType::integer, from_native(2), 2, 16, false, {}, "dml/kdcl: students trained together"});
  return keys;
}

KeySpec distill_section_key() {
  KeySpec k{"distill", KeyType::section, {}, -kInf, kInf, false, {},
            "distil while training: {teacher: t.onnx, method: kd, temperature: 4, alpha: 0.9, ...} (docs/distillation.md)"};
  k.keys = distill_method_keys(false);
  return k;
}

dst::Spec distill_spec(const nlohmann::json& s, const Recipe& recipe) {
  dst::Spec spec;
  spec.method = dst::parse_method(s["method"]);
  for (const auto& t : s["teacher"]) spec.teachers.push_back(resolve(recipe, t.get<std::string>()));
  if (s.contains("temperature")) spec.temperature = s["temperature"].get<float>();
  if (s.contains("alpha")) spec.alpha = s["alpha"].get<float>();
  if (s.contains("beta")) spec.beta = s["beta"].get<float>();
  for (const auto& l : s["layers"]) spec.layers.push_back(dst::parse_layer_pair(l.get<std::string>()));
  if (s.contains("peers")) spec.peers = s["peers"].get<int>();
  return spec;
}

std::vector<SettingProblem> check_distill(const nlohmann::json& s, const Recipe& recipe, const std::string& key_prefix) {
  std::vector<SettingProblem> problems;
  try {  // the settings' own consistency first, then the files they name
    dst::Spec spec = distill_spec(s, recipe);
    spec.train.out_dir = "-";  // checked by the step itself
    dst::validate(spec);
  } catch (const Error& e) {
    problems.push_back({key_prefix + "method", e.what()});
  }
  for (const auto& t : s["teacher"]) {
    const std::string path = resolve(recipe, t.get<std::string>());
    if (!std::filesystem::is_regular_file(path))
      problems.push_back({key_prefix + "teacher", "no teacher file '" + path + "'"});
  }
  return problems;
}

std::vector<SettingProblem> check_distill_key(const nlohmann::json& s, const Recipe& recipe) {
  return s.contains("distill") ? check_distill(s["distill"], recipe, "distill.") : std::vector<SettingProblem>{};
}

std::vector<train::LossHook> distill_hooks(const nlohmann::json& s, const ir::Graph& student, const StepContext& ctx) {
  if (!s.contains("distill")) return {};
  dst::Spec spec = distill_spec(s["distill"], *ctx.recipe);
  spec.train.out_dir = ctx.work_dir;
  return dst::make_hooks(student, spec);  // loads and checks the teacher before training
}

nlohmann::json model_json(const dst::ModelResult& m) {
  nlohmann::json j = {{"name", m.name}, {"test_acc", m.test_acc}, {"best_test_acc", m.best_test_acc},
                      {"params", m.params}, {"macs", m.macs}};
  if (!m.file.empty()) j["file"] = m.file;
  if (!m.training.epochs.empty()) j["training"] = epochs_json(m.training);
  return j;
}

namespace {
std::vector<KeySpec> distill_keys() {
  std::vector<KeySpec> keys = train_keys();
  for (const KeySpec& k : distill_method_keys(true)) keys.push_back(k);
  keys.push_back({"scratch", KeyType::boolean, from_native(false), -kInf, kInf, false, {},
                  "also train the student from scratch with the same settings (the report's baseline)"});
  keys.push_back({"evaluate_teacher", KeyType::boolean, from_native(true), -kInf, kInf, false, {},
                  "measure the teacher's test accuracy for the report"});
  return keys;
}

StepOutput run_distill(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  const nlohmann::json& s = native(settings);
  const train::Dataset& train_set = ctx.train_set();
  const train::Dataset& test_set = ctx.test_set();
  dst::Spec spec = distill_spec(s, *ctx.recipe);
  spec.train = train_options(s, ctx, train_set.size());
  spec.scratch_baseline = s["scratch"];
  spec.evaluate_teacher = s["evaluate_teacher"];
  if (ctx.progress) spec.log = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  dst::Report r = dst::run(input, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "distillation interrupted; its checkpoints are in '", ctx.work_dir,
         "': run the same recipe again to resume");
  nlohmann::json diagnostics = epochs_json(r.distilled.training);
  diagnostics["method"] = s["method"];
  nlohmann::json models = nlohmann::json::array();
  for (const dst::ModelResult& t : r.teachers) models.push_back(model_json(t));
  if (r.scratch) models.push_back(model_json(*r.scratch));
  models.push_back(model_json(r.distilled));
  for (size_t i = 1; i < r.peer_results.size(); ++i) models.push_back(model_json(r.peer_results[i]));
  diagnostics["distill_models"] = models;  // teacher, scratch and distilled side by side
  if (r.gain()) diagnostics["gain_over_scratch"] = *r.gain();
  StepOutput out{std::move(r.graph)};
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}
}  // namespace

StepKind distill_step_kind() {
  StepKind k;
  k.name = "distill";
  k.description = "knowledge distillation: offline (kd, fitnets, attention), online (dml, kdcl) or self (self_best, self_aux)";
  k.keys = distill_keys;
  k.defaults = [](const Recipe& r) { return r.train; };
  k.run = run_distill;
  k.check = [](const ir::Graph&, const Json& settings, const Recipe& recipe) {
    return check_distill(native(settings), recipe, "");
  };
  return k;
}

}  // namespace leancnn::pipeline
