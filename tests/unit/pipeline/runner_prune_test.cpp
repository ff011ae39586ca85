// The prune step in the runner, on the tiny synthetic data: the lottery schedule trains from the
// input and reports the dense run; bad settings fail before any work naming the recipe's file,
// line and key; recipes/deep_compression.yaml runs end to end in a tiny version.
#include <gtest/gtest.h>

#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/builder.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/pipeline/runner.h"
#include "runner_support.h"
#include "tiny_data.h"

namespace leancnn::pipeline {
namespace {

namespace fs = std::filesystem;

using testing::variant;

TEST(RunnerPrune, LotteryStepTrainsRewindsAndRetrains) {
  const std::string root = ::testing::TempDir() + "/runner_lottery";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  const RunResult r = run_recipe(parse_recipe("model: {zoo: small_cnn}\ndata: {dataset: " + data +
                                                  "}\nsteps:\n  - kind: prune\n    prune_schedule: lottery\n"
                                                  "    rewind_epoch: 1\n    rounds: 1\n    epochs: 2\n    batch: 16\n"
                                                  "    sparsity: 0.8\n    scope: global\n"
                                                  "evaluate: {latency: false, accel: false}\n",
                                              "r.yaml", ""),
                                 o);
  ASSERT_EQ(r.variants.size(), 2u);
  EXPECT_FALSE(variant(r, "input").evaluated);  // the untrained initialisation is no variant worth a row
  const nlohmann::json& d = native(variant(r, "prune").diagnostics);
  EXPECT_EQ(d["schedule"], "lottery");
  EXPECT_EQ(d["rewind_epoch"], 1);
  EXPECT_EQ(d["finetune_runs"], 2);
  EXPECT_EQ(d["dense"]["epochs"].size(), 2u);
  ASSERT_EQ(d["epochs"].size(), 1u);  // the retraining resumed the dense run after epoch 1
  EXPECT_EQ(d["epochs"][0]["epoch"], 2);
  EXPECT_NEAR(d["sparsity"].get<double>(), 0.8, 1e-3);
  const nlohmann::json& e = native(variant(r, "prune").evaluation);
  EXPECT_LT(e["nonzero_params"].get<double>(), 0.25 * e["params"].get<double>());
  // A lottery step after a train step would train a trained model again: refused at parse time.
  try {
    parse_recipe("model: {zoo: small_cnn}\nsteps:\n  - kind: train\n  - kind: prune\n    prune_schedule: lottery\n", "l.yaml", "");
    FAIL() << "lottery after train should be refused";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("line 5"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("prune_schedule"), std::string::npos) << err.what();
  }
}

// Bad prune settings stop the run before any work (no output folder), naming the file, the line
// of the key and the key.
TEST(RunnerPrune, BadSettingsFailBeforeAnyWorkNamingFileLineAndKey) {
  const std::string root = ::testing::TempDir() + "/runner_prune_bad";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  auto error_of = [&](const std::string& model, const std::string& step_keys) -> Error {
    const std::string text = model + "data: {dataset: " + data + "}\nsteps:\n  - kind: prune\n" + step_keys;
    try {
      run_recipe(parse_recipe(text, root + "/bad.yaml", root), o);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "no error for:\n" << text;
    return Error(ErrorKind::runtime, "");
  };
  const std::string zoo = "model: {zoo: small_cnn}\n";
  Error e = error_of(zoo, "    sparsity: 0.5\n    layer_sparsity: {conv1: 0.3, conv9: 0.5}\n");
  EXPECT_EQ(e.kind(), ErrorKind::bad_input);
  EXPECT_NE(std::string(e.what()).find("bad.yaml', line 6: steps[1] (prune): key 'layer_sparsity': 'conv9'"), std::string::npos)
      << e.what();
  e = error_of(zoo, "    exclude: [fc7]\n");
  EXPECT_NE(std::string(e.what()).find("line 5: steps[1] (prune): key 'exclude': 'fc7'"), std::string::npos) << e.what();
  e = error_of(zoo, "    prune_schedule: lottery\n    epochs: 2\n    rewind_epoch: 2\n");
  EXPECT_NE(std::string(e.what()).find("line 7: steps[1] (prune): key 'rewind_epoch'"), std::string::npos) << e.what();
  // Fractions outside [0, 1) are refused by the parser, at the value's line.
  for (const std::string& keys : {std::string("    sparsity: 1.0\n"), std::string("    layer_sparsity: {conv1: 1}\n"),
                                  std::string("    layer_sparsity: {conv1: -0.1}\n")}) {
    try {
      parse_recipe(zoo + "steps:\n  - kind: prune\n" + keys, "r.yaml", "");
      ADD_FAILURE() << keys;
    } catch (const Error& err) {
      EXPECT_EQ(err.kind(), ErrorKind::bad_input);
      EXPECT_NE(std::string(err.what()).find("line 4"), std::string::npos) << err.what();
      EXPECT_NE(std::string(err.what()).find("out of range: must be >= 0 and < 1"), std::string::npos) << err.what();
    }
  }
  // A model without a Conv or Gemm layer: the step as a whole is at fault.
  {
    ir::Graph g;
    ir::Builder b(g, ops::op_table());
    b.output(b.relu(b.input("input", {1, 10})));
    io::save_onnx(g, root + "/relu.onnx");
  }
  e = error_of("model: {file: relu.onnx}\n", "    sparsity: 0.5\n");
  EXPECT_EQ(e.kind(), ErrorKind::bad_input);
  EXPECT_NE(std::string(e.what()).find("line 4: steps[1] (prune): the model has no Conv or Gemm layer"), std::string::npos)
      << e.what();
  EXPECT_FALSE(fs::exists(o.out_dir));
}

// recipes/deep_compression.yaml parses as shipped, and a tiny version of it (the tiny data, a
// batch that fits it, no latency or accelerator evaluation) runs train -> prune -> quantize.
TEST(RunnerPrune, DeepCompressionRecipeRunsTiny) {
  const std::string path = std::string(LEANCNN_SOURCE_DIR) + "/recipes/deep_compression.yaml";
  const Recipe shipped = load_recipe(path);
  ASSERT_EQ(shipped.steps.size(), 3u);
  EXPECT_EQ(shipped.steps[1].kind, "prune");
  EXPECT_EQ(shipped.steps[2].kind, "quantize");
  check_steps(shipped, build_input_model(shipped));

  const std::string root = ::testing::TempDir() + "/runner_deep_compression";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  std::string text = io::read_file(path);
  auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replace("dataset: fashion-mnist", "dataset: " + data);
  replace("epochs: 5", "epochs: 1");
  replace("batch: 128", "batch: 16");
  replace("calibration_images: 512", "calibration_images: 32");
  replace("latency: {batch: 1, threads: 2, iters: 50, warmup: 10}", "latency: false");
  replace("accel: {presets: [eyeriss-like, tpu-like]}", "accel: false");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  const RunResult r = run_recipe(parse_recipe(text, "deep_compression.yaml", ""), o);
  ASSERT_EQ(r.variants.size(), 4u);
  const nlohmann::json& prune = native(variant(r, "prune").diagnostics);
  EXPECT_EQ(prune["schedule"], "iterative");
  EXPECT_EQ(prune["finetune_runs"], 3);
  for (const auto& l : prune["prune_layers"])
    EXPECT_NEAR(l["sparsity"].get<double>(), l["target"].get<double>(), 2e-3) << l["layer"];
  const nlohmann::json& q = native(variant(r, "quantize").evaluation);
  EXPECT_EQ(q["weight_bits"], 4);
  // Quantization keeps the zeros: the int8/4-bit model is as sparse as the pruned one.
  const nlohmann::json& p = native(variant(r, "prune").evaluation);
  EXPECT_LT(q["nonzero_params"].get<double>(), 0.2 * q["params"].get<double>());
  EXPECT_LE(q["nonzero_params"].get<double>(), p["nonzero_params"].get<double>() * 1.01);
}

}  // namespace
}  // namespace leancnn::pipeline
