// The pipeline end to end on real data (recipes/tiny.yaml: small CNN, 2,000 Fashion-MNIST
// images, 1 epoch, int8 PTQ): variants and report written, a rerun skips every step, and the
// page renders its table and plots in headless Chromium without script errors (a pruned
// variant's per-layer sparsity plot too).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/pipeline/runner.h"
#include "leancnn/report/report.h"
#include "leancnn/train/dataset.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

bool have_fashion_mnist() { return fs::is_directory(train::kFashionMnistDir); }

std::string chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return "";
}

// Runs a command, returns its stdout (stderr to a file).
std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// report.html of `out` through headless Chromium: the DOM once the plots have rendered (the
// console goes to out/chromium.log). --virtual-time-budget lets the page's scripts (and Vega's
// promises) finish before the DOM is dumped; --no-sandbox because CI runs as root.
std::string render_dom(const std::string& browser, const std::string& out) {
  const std::string html = fs::absolute(out + "/report.html").string();
  return run_capture("'" + browser + "' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                     "--no-first-run --enable-logging=stderr --v=0 --virtual-time-budget=30000 "
                     "--user-data-dir='" + out + "/chromium-profile' --dump-dom 'file://" + html + "' 2>'" + out +
                     "/chromium.log'");
}

// Each test runs the recipe into its own folder: ctest runs tests as parallel processes.
pipeline::RunResult run_tiny(const std::string& out) {
  pipeline::RunOptions o;
  o.out_dir = out;
  o.progress = false;
  return pipeline::run_recipe(pipeline::load_recipe(std::string(LEANCNN_SOURCE_DIR) + "/recipes/tiny.yaml"), o);
}

std::string fresh_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/" + name + "_" + std::to_string(getpid());
  fs::remove_all(d);
  return d;
}

TEST(PipelineTest, TinyRecipeRunsEndToEndAndRerunSkipsEveryStep) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed (dataset-fashion-mnist)";
  const std::string out = fresh_dir("pipeline_tiny");
  const pipeline::RunResult first = run_tiny(out);
  const Json report = report::build_report(first);
  const nlohmann::json& r = native(report);
  ASSERT_EQ(r["variants"].size(), 2u);
  const nlohmann::json& fp = r["variants"][0];
  const nlohmann::json& q8 = r["variants"][1];
  EXPECT_EQ(fp["step"], "train");
  EXPECT_EQ(q8["step"], "quantize");
  EXPECT_GT(fp["test_acc"].get<double>(), 0.55);  // one epoch on 2,000 images (0.68 measured)
  EXPECT_NEAR(q8["test_acc"].get<double>(), fp["test_acc"].get<double>(), 0.03);
  EXPECT_GE(q8["top1_agreement"].get<double>(), 0.99);  // deployed integer vs fake-quant
  EXPECT_LT(q8["bytes"].get<double>(), 0.3 * fp["bytes"].get<double>());
  EXPECT_EQ(fp["params"], q8["params"]);
  for (const auto& v : r["variants"]) {
    EXPECT_GT(v["latency_ms"].get<double>(), 0);
    EXPECT_GE(v["p90_ms"].get<double>(), v["latency_ms"].get<double>());
    EXPECT_EQ(v["accel"].size(), 2u);
    for (const auto& a : v["accel"]) {
      EXPECT_GT(a["cycles"].get<double>(), 0);
      EXPECT_GT(a["energy_pj"].get<double>(), 0);
    }
    EXPECT_FALSE(v["latency_layers"].empty());
  }
  EXPECT_EQ(q8["diagnostics"]["sensitivity"]["layers"].size(), 4u);
  // int8 costs the accelerators less energy than the 16-bit float model.
  EXPECT_LT(q8["accel"][0]["energy_pj"].get<double>(), fp["accel"][0]["energy_pj"].get<double>());

  // The same recipe again: every step and evaluation is skipped.
  const pipeline::RunResult again = run_tiny(out);
  ASSERT_EQ(again.variants.size(), first.variants.size());
  for (size_t i = 1; i < again.variants.size(); ++i) {
    EXPECT_TRUE(again.variants[i].reused) << again.variants[i].name;
    EXPECT_TRUE(again.variants[i].eval_reused) << again.variants[i].name;
    EXPECT_EQ(again.variants[i].sha256, first.variants[i].sha256);
  }
  EXPECT_LT(again.seconds, 5.0);
}

TEST(PipelineTest, ReportRendersInHeadlessChromium) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed (dataset-fashion-mnist)";
  report::WebLibs libs;
  try {
    libs = report::load_web_libs();
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  const std::string out = fresh_dir("pipeline_html");
  report::write_report(out, report::build_report(run_tiny(out)), libs);
  const std::string log = out + "/chromium.log";
  const std::string dom = render_dom(browser, out);
  ASSERT_NE(dom.find("<table id=\"variants\">"), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("data-plots-expected=\"5\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("data-plots-rendered=\"5\""), std::string::npos) << io::read_file(log);
  EXPECT_NE(dom.find("data-plot-errors=\"0\""), std::string::npos) << io::read_file(log);
  size_t svgs = 0;
  for (size_t p = dom.find("<svg"); p != std::string::npos; p = dom.find("<svg", p + 1)) ++svgs;
  EXPECT_GE(svgs, 5u);
  const std::string console = io::read_file(log);
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
}

// A pruned variant's per-layer sparsity plot renders too: train, then prune with explicit
// per-layer fractions; only the plots with data (accuracy vs size, per-layer sparsity) are drawn.
TEST(PipelineTest, PerLayerSparsityPlotRendersInHeadlessChromium) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed (dataset-fashion-mnist)";
  report::WebLibs libs;
  try {
    libs = report::load_web_libs();
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  const std::string out = fresh_dir("pipeline_prune_html");
  pipeline::RunOptions o;
  o.out_dir = out;
  o.progress = false;
  const pipeline::RunResult run = pipeline::run_recipe(
      pipeline::parse_recipe("model: {zoo: small_cnn}\ndata: {limit_train: 500, limit_test: 200}\nseed: 1\n"
                             "train: {epochs: 1, batch: 32}\nsteps:\n  - kind: train\n  - kind: prune\n"
                             "    layer_sparsity: {conv1: 0.3, fc1: 0.95}\n    sparsity: 0.6\n"
                             "evaluate: {latency: false, accel: false}\n",
                             "prune.yaml", ""),
      o);
  const Json report = report::build_report(run);
  const nlohmann::json& pruned = native(report)["variants"][1];
  ASSERT_EQ(pruned["layer_sparsity"].size(), 4u);
  EXPECT_NEAR(pruned["layer_sparsity"][2]["sparsity"].get<double>(), 0.95, 1e-3);  // fc1
  report::write_report(out, report, libs);
  const std::string dom = render_dom(browser, out);
  EXPECT_NE(dom.find("data-plots-expected=\"2\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("data-plots-rendered=\"2\""), std::string::npos) << io::read_file(out + "/chromium.log");
  EXPECT_NE(dom.find("data-plot-errors=\"0\""), std::string::npos) << io::read_file(out + "/chromium.log");
  const size_t plot = dom.find("id=\"plot-layer-sparsity\"");
  ASSERT_NE(plot, std::string::npos);
  EXPECT_NE(dom.find("<svg", plot), std::string::npos) << "the sparsity plot should be drawn";
}

}  // namespace
}  // namespace leancnn
