// The search step in the runner, on the tiny synthetic data: the next variant is the best
// architecture found (not the input model), its diagnostics carry the trajectory and the Pareto
// front, the report gets them as keys of their own, and a second run reuses the step.
#include <gtest/gtest.h>

#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/pipeline/runner.h"
#include "leancnn/report/report.h"
#include "runner_support.h"
#include "tiny_data.h"

namespace leancnn::pipeline {
namespace {

namespace fs = std::filesystem;

using testing::variant;

// A fresh folder `root` with the tiny data, and a recipe of one random macro-space search step
// of `budget` one-epoch evaluations (plus the step's `extra` YAML lines) on it.
struct SearchCase {
  RunOptions options;
  std::string recipe;
};
SearchCase search_case(const std::string& name, int budget, const std::string& extra) {
  const std::string root = ::testing::TempDir() + "/" + name;
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data", 160, 32);
  SearchCase c;
  c.options.out_dir = root + "/out";
  c.options.progress = false;
  c.recipe = str_cat("model: {zoo: small_cnn}\ndata: {dataset: ", data,
                     "}\nsteps:\n  - kind: search\n    space: macro\n    strategy: random\n    budget: ", budget,
                     "\n    epochs: 1\n    batch: 32\n    train_images: 96\n    val_images: 64\n    test_images: 16\n"
                     "    latency_iters: 2\n", extra, "evaluate: {latency: false, accel: false}\n");
  return c;
}

TEST(RunnerSearch, SearchStepMakesTheBestArchitectureAVariant) {
  const SearchCase c = search_case("runner_search", 2, "    accel: [eyeriss-like]\n");
  const RunOptions& o = c.options;
  const std::string& recipe = c.recipe;
  const RunResult r = run_recipe(parse_recipe(recipe, "r.yaml", ""), o);
  ASSERT_EQ(r.variants.size(), 2u);
  const VariantResult& s = variant(r, "search");
  EXPECT_NE(s.sha256, variant(r, "input").sha256);
  const nlohmann::json& d = native(s.diagnostics);
  EXPECT_EQ(d["space"], "macro");
  EXPECT_EQ(d["search_trajectory"].size(), 2u);
  EXPECT_FALSE(d["search_pareto"].empty());
  EXPECT_GT(d["best"]["latency_ms"].get<double>(), 0.0);
  EXPECT_GT(d["best"]["energy_pj"].get<double>(), 0.0);
  const nlohmann::json rep = native(report::build_report(r));
  bool found = false;
  for (const auto& v : rep["variants"])
    if (v["name"] == "search") found = v.contains("search_trajectory") && v.contains("search_pareto");
  EXPECT_TRUE(found);
  // Bad settings are named at parse time.
  EXPECT_THROW(parse_recipe("model: {zoo: small_cnn}\nsteps:\n  - kind: search\n    space: tiny\n", "r.yaml", ""), Error);
  // The same recipe again: the step is reused.
  const RunResult again = run_recipe(parse_recipe(recipe, "r.yaml", ""), o);
  EXPECT_TRUE(variant(again, "search").reused);
}

// The weight-sharing strategies' settings are checked before any step runs, naming the key.
// reference: small_cnn is trained with the candidates' settings; its figures reach the step's
// diagnostics and the report beside the front.
TEST(RunnerSearch, ReferenceModelReachesTheReport) {
  const SearchCase c = search_case("runner_search_reference", 1, "    accel: []\n    reference: small_cnn\n");
  const RunResult r = run_recipe(parse_recipe(c.recipe, "r.yaml", ""), c.options);
  const nlohmann::json& d = native(variant(r, "search").diagnostics);
  ASSERT_TRUE(d.contains("reference"));
  EXPECT_EQ(d["reference"]["model"], "small_cnn");
  EXPECT_GT(d["reference"]["latency_ms"].get<double>(), 0.0);
  EXPECT_GT(d["reference"]["macs"].get<int64_t>(), 0);
  const nlohmann::json rep = native(report::build_report(r));
  bool found = false;
  for (const auto& v : rep["variants"])
    if (v["name"] == "search") found = v.contains("search_reference") && v["search_reference"]["model"] == "small_cnn";
  EXPECT_TRUE(found);
}

TEST(RunnerSearch, WeightSharingSettingsFailAtCheckTime) {
  const auto problem = [](const std::string& step) -> std::string {
    const Recipe r = parse_recipe("model: {zoo: small_cnn}\nsteps:\n" + step, "r.yaml", ".");
    try {
      check_steps(r, build_input_model(r));
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(problem("  - {kind: search, space: mobile, strategy: darts}\n").find("set space: cell"), std::string::npos);
  EXPECT_NE(problem("  - {kind: search, space: cell, strategy: darts, darts_epochs: 3, darts_warmup: 3}\n")
                .find("key 'darts_warmup'"),
            std::string::npos);
  EXPECT_NE(problem("  - {kind: search, space: cell, strategy: darts, darts_channels: 10}\n").find("key 'darts_channels'"),
            std::string::npos);
  EXPECT_NE(problem("  - {kind: search, space: cell, strategy: oneshot}\n").find("--space mobile"), std::string::npos);
  EXPECT_EQ(problem("  - {kind: search, space: cell, strategy: darts, darts_epochs: 3, darts_warmup: 1}\n"), "(no error)");
  // The reference: a zoo name, needed by within_reference.
  const std::string unknown = problem("  - {kind: search, reference: small_cnnn}\n");
  EXPECT_NE(unknown.find("key 'reference'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("small_cnn"), std::string::npos) << unknown;  // the known names are listed
  EXPECT_NE(problem("  - {kind: search, within_reference: true}\n").find("key 'within_reference'"), std::string::npos);
  EXPECT_EQ(problem("  - {kind: search, reference: small_cnn, within_reference: true}\n"), "(no error)");
  // A latency ratio other than 1 caps candidates within the reference only, and must be > 0.
  EXPECT_NE(problem("  - {kind: search, reference: small_cnn, latency_ratio: 0.7}\n").find("key 'latency_ratio'"),
            std::string::npos);
  EXPECT_NE(problem("  - {kind: search, reference: small_cnn, within_reference: true, latency_ratio: 0}\n")
                .find("key 'latency_ratio'"),
            std::string::npos);
  EXPECT_EQ(problem("  - {kind: search, reference: small_cnn, within_reference: true, latency_ratio: 0.7}\n"), "(no error)");
}

// recipes/search.yaml parses as shipped: a search step, then training of what it found.
TEST(RunnerSearch, ShippedSearchRecipeParses) {
  const Recipe shipped = load_recipe(std::string(LEANCNN_SOURCE_DIR) + "/recipes/search.yaml");
  ASSERT_EQ(shipped.steps.size(), 2u);
  EXPECT_EQ(shipped.steps[0].kind, "search");
  EXPECT_EQ(native(shipped.steps[0].settings)["strategy"], "evolution");
  EXPECT_EQ(shipped.steps[1].kind, "train");
  check_steps(shipped, build_input_model(shipped));
}

}  // namespace
}  // namespace leancnn::pipeline
