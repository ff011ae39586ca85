// report.json from a run (report.h): variants, evaluations, diagnostics, Pareto flags.
#include <chrono>
#include <ctime>
#include <filesystem>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/report/report.h"

namespace leancnn::report {

namespace {
std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& p) {
  std::vector<size_t> front;
  for (size_t i = 0; i < p.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < p.size() && !dominated; ++j) {
      if (j == i) continue;
      const bool no_worse = p[j].first <= p[i].first && p[j].second >= p[i].second;
      const bool better = p[j].first < p[i].first || p[j].second > p[i].second;
      dominated = no_worse && better;
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

void mark_pareto(Json& report) {
  nlohmann::json& rep = native(report);
  auto mark = [&](const char* cost_key, const char* flag) {
    std::vector<std::pair<double, double>> pts;
    std::vector<size_t> idx;
    nlohmann::json& vs = rep["variants"];
    for (size_t i = 0; i < vs.size(); ++i) {
      vs[i][flag] = false;
      if (vs[i].contains(cost_key) && vs[i].contains("test_acc")) {
        pts.push_back({vs[i][cost_key].get<double>(), vs[i]["test_acc"].get<double>()});
        idx.push_back(i);
      }
    }
    for (size_t k : pareto_front(pts)) vs[idx[k]][flag] = true;
  };
  mark("latency_ms", "pareto_latency");
  mark("bytes", "pareto_size");
}

Json build_report(const pipeline::RunResult& run) {
  nlohmann::json variants = nlohmann::json::array();
  for (const pipeline::VariantResult& v : run.variants) {
    if (!v.evaluated) continue;
    nlohmann::json j = {{"name", v.name},
                        {"step", v.kind},
                        {"parent", v.parent},
                        {"file", v.file},
                        {"settings_file", v.settings_file},
                        {"sha256", v.sha256},
                        {"settings", native(v.settings)},
                        {"reused", v.reused},
                        {"eval_reused", v.eval_reused},
                        {"step_seconds", v.step_seconds},
                        {"diagnostics", native(v.diagnostics)}};
    const nlohmann::json& evaluation = native(v.evaluation);
    for (auto it = evaluation.begin(); it != evaluation.end(); ++it) j[it.key()] = it.value();
    // Pruned variants: the per-layer sparsity as a stable key of its own (the prune step's
    // diagnostics hold it with the rest of the step's figures).
    const nlohmann::json& diagnostics = native(v.diagnostics);
    if (diagnostics.contains("prune_layers") && diagnostics["prune_layers"].is_array()) {
      nlohmann::json rows = nlohmann::json::array();
      for (const nlohmann::json& l : diagnostics["prune_layers"])
        rows.push_back({{"name", l.value("layer", "")}, {"params", l.value("params", int64_t{0})},
                        {"nonzero_params", l.value("nonzero_params", int64_t{0})}, {"sparsity", l.value("sparsity", 0.0)},
                        {"target", l.value("target", 0.0)}});
      j["layer_sparsity"] = rows;
    }
    // Structured pruning: per layer, its output and input channels before and after.
    if (diagnostics.contains("structured_layers") && diagnostics["structured_layers"].is_array()) {
      nlohmann::json rows = nlohmann::json::array();
      for (const nlohmann::json& l : diagnostics["structured_layers"])
        rows.push_back({{"name", l.value("layer", "")}, {"out_channels_before", l.value("out_channels_before", int64_t{0})},
                        {"out_channels", l.value("out_channels_after", int64_t{0})},
                        {"in_channels_before", l.value("in_channels_before", int64_t{0})},
                        {"in_channels", l.value("in_channels_after", int64_t{0})}});
      j["layer_channels"] = rows;
    }
    // Searched variants: the trajectory and the Pareto front of the search that found them
    // (the search step's diagnostics) as stable keys of their own, for the plots.
    for (const char* key : {"search_trajectory", "search_pareto"})
      if (diagnostics.contains(key) && diagnostics[key].is_array()) j[key] = diagnostics[key];
    if (diagnostics.contains("search_pareto") && diagnostics.contains("reference") && diagnostics["reference"].is_object())
      j["search_reference"] = diagnostics["reference"];  // the search's reference model, trained the same way
    variants.push_back(j);
  }
  nlohmann::json report = {{"format", "leancnn.report"},
                           {"version", kReportVersion},
                           {"generated_utc", utc_now()},
                           {"recipe", native(run.recipe)},
                           {"out_dir", run.out_dir},
                           {"data_sha256", run.data_sha256},
                           {"run_seconds", run.seconds},
                           {"machine", {{"cores", num_cores()}, {"cpu_features", cpu_features().summary()}, {"max_cpu_isa", cpu_isa_name(max_cpu_isa())}}},
                           {"variants", variants}};
  Json result = from_native(std::move(report));
  mark_pareto(result);
  return result;
}

void write_report(const std::string& dir, const Json& report, const WebLibs& libs) {
  const std::string html = render_html(report, libs);
  io::write_file_atomic((std::filesystem::path(dir) / "report.json").string(), report.dump(2) + "\n");
  io::write_file_atomic((std::filesystem::path(dir) / "report.html").string(), html);
}

Json read_report(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "report.json").string();
  if (!std::filesystem::is_regular_file(path))
    fail(ErrorKind::bad_input, "no report at '", path, "': give the output folder of `leancnn run`");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(io::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::bad_input, "report '", path, "' is not valid JSON: ", e.what());
  }
  if (!j.is_object() || j.value("format", "") != "leancnn.report" || !j.contains("variants") || !j["variants"].is_array())
    fail(ErrorKind::bad_input, "'", path, "' is not a leancnn report (expected \"format\": \"leancnn.report\" and a \"variants\" list)");
  if (j.value("version", 0) > kReportVersion)
    fail(ErrorKind::bad_input, "report '", path, "' has version ", j["version"].dump(), "; this leancnn reads up to ", kReportVersion);
  return from_native(std::move(j));
}

}  // namespace leancnn::report
