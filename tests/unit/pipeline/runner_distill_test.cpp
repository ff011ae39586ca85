// The distill step and the `distill:` map of the train / finetune steps on a tiny synthetic
// dataset: the report's side-by-side models, online peers, and the errors found at parse /
// check time (before any work).
#include <gtest/gtest.h>

#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/pipeline/runner.h"
#include "runner_support.h"
#include "tiny_data.h"

namespace leancnn::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::variant;

// A teacher file next to the recipe (an untrained lenet5 is enough to exercise the path).
std::string write_teacher(const std::string& dir) {
  fs::create_directories(dir);
  io::save_onnx(models::build_model("lenet5", {.input = {1, 28, 28}, .classes = 10, .seed = 9}, ops::op_table()),
                dir + "/teacher.onnx");
  return dir + "/teacher.onnx";
}

RunOptions quiet(const std::string& out) {
  RunOptions o;
  o.out_dir = out;
  o.progress = false;
  return o;
}

TEST(RunnerDistill, DistillStepReportsTeacherScratchAndDistilledSideBySide) {
  const std::string root = ::testing::TempDir() + "/runner_distill";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  write_teacher(root);
  const std::string recipe = "model: {zoo: small_cnn}\ndata: {dataset: " + data +
                             "}\ntrain: {epochs: 1, batch: 32}\nsteps:\n"
                             "  - {kind: distill, teacher: teacher.onnx, scratch: true, temperature: 2}\n"
                             "  - kind: finetune\n    distill: {teacher: teacher.onnx, alpha: 0.5}\n"
                             "  - {kind: distill, name: mutual, method: dml, peers: 2}\n"
                             "evaluate: {latency: false, accel: false}\n";
  const RunResult r = run_recipe(parse_recipe(recipe, root + "/r.yaml", root), quiet(root + "/out"));
  const nlohmann::json& d = native(variant(r, "distill").diagnostics);
  ASSERT_EQ(d["distill_models"].size(), 3u);
  EXPECT_EQ(d["distill_models"][0]["name"], "teacher");
  EXPECT_EQ(d["distill_models"][1]["name"], "scratch");
  EXPECT_EQ(d["distill_models"][2]["name"], "distilled");
  EXPECT_TRUE(d.contains("gain_over_scratch"));
  EXPECT_EQ(d["epochs"].size(), 1u);
  const nlohmann::json& f = native(variant(r, "finetune").diagnostics);
  EXPECT_EQ(f["distill"]["alpha"], 0.5);
  EXPECT_EQ(f["distill"]["method"], "kd");
  const nlohmann::json& m = native(variant(r, "mutual").diagnostics);
  ASSERT_EQ(m["distill_models"].size(), 2u);  // distilled (peer 1) and peer 2
  EXPECT_EQ(m["distill_models"][1]["name"], "peer 2");
}

TEST(RunnerDistill, BadDistillSettingsFailAtParseOrCheckTime) {
  const std::string root = ::testing::TempDir() + "/runner_distill_bad";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  auto error_of = [&](const std::string& steps) -> std::string {
    try {
      run_recipe(parse_recipe("model: {zoo: small_cnn}\ndata: {dataset: " + data + "}\nsteps:\n" + steps +
                                  "evaluate: {latency: false, accel: false}\n",
                              root + "/r.yaml", root),
                 quiet(root + "/out"));
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input) << e.what();
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(error_of("  - {kind: finetune, distill: {teacher: t.onnx, temprature: 2}}\n").find("key 'temprature': unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("  - {kind: finetune, distill: {method: dml}}\n").find("'dml' is not one of"), std::string::npos);
  EXPECT_NE(error_of("  - {kind: distill, teacher: missing.onnx}\n").find("no teacher file"), std::string::npos);
  EXPECT_NE(error_of("  - {kind: distill, method: fitnets, teacher: missing.onnx}\n").find("needs layer pairs"),
            std::string::npos);
  EXPECT_NE(error_of("  - {kind: train, distill: 3}\n").find("expected a map of keys"), std::string::npos);
  EXPECT_FALSE(fs::exists(root + "/out/distill.onnx"));
}

}  // namespace
}  // namespace leancnn::pipeline
