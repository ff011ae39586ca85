// The prune step's structured: block in the runner, on the tiny synthetic data: the step removes
// channels (fewer MACs in the evaluation), reports per-layer channels in its diagnostics and in
// report.json's layer_channels; bad block keys fail before any work naming the key.
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

TEST(RunnerStructured, PruneStepWithAStructuredBlockShrinksTheModel) {
  const std::string root = ::testing::TempDir() + "/runner_structured";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  const RunResult r = run_recipe(parse_recipe("model: {zoo: resnet20}\ndata: {dataset: " + data +
                                                  "}\nsteps:\n  - kind: prune\n    epochs: 1\n    batch: 16\n"
                                                  "    structured: {criterion: hrank, target: flops, fraction: 0.5, "
                                                  "calibration_images: 8, from_scratch: true}\n"
                                                  "evaluate: {latency: false, accel: false}\n",
                                              "r.yaml", ""),
                                 o);
  const VariantResult& v = variant(r, "prune");
  const nlohmann::json& d = native(v.diagnostics);
  EXPECT_EQ(d["criterion"], "hrank");
  EXPECT_LE(d["macs_after"].get<double>(), 0.5 * d["macs_before"].get<double>());
  EXPECT_EQ(d["structured_layers"].size(), 22u);
  EXPECT_TRUE(d.contains("from_scratch"));
  EXPECT_EQ(d["finetune_runs"], 1);
  const nlohmann::json& e = native(v.evaluation);
  EXPECT_EQ(e["macs"].get<int64_t>(), d["macs_after"].get<int64_t>());
  const nlohmann::json rep = native(report::build_report(r));
  bool found = false;
  for (const auto& j : rep["variants"])
    if (j["name"] == "prune") found = j.contains("layer_channels") && j["layer_channels"].size() == 22u;
  EXPECT_TRUE(found);
}

TEST(RunnerStructured, BadBlockKeysFailBeforeAnyWork) {
  const std::string root = ::testing::TempDir() + "/runner_structured_bad";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  for (const auto& [block, why] : std::vector<std::pair<std::string, std::string>>{
           {"{criterion: magic}", "'magic' is not one of"},
           {"{fraction: 1.5}", "structured.fraction"},
           {"{colour: red}", "not a structured-pruning key"},
           {"{fraction: 0.999}", "cannot lose channels"}}) {
    const std::string text = "model: {zoo: small_cnn}\ndata: {dataset: " + data +
                             "}\nsteps:\n  - kind: prune\n    structured: " + block + "\n";
    try {
      run_recipe(parse_recipe(text, root + "/bad.yaml", root), o);
      ADD_FAILURE() << "no error for " << block;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("structured"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(o.out_dir + "/prune")) << block;
  }
}

}  // namespace
}  // namespace leancnn::pipeline
