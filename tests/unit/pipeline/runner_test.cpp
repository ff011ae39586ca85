// The runner on a tiny synthetic dataset: files per step, content-hash skipping on a rerun,
// partial reruns when settings or files change, resuming from an interrupted step's state.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/io/image.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/pipeline/runner.h"
#include "runner_support.h"
#include "tiny_data.h"

namespace leancnn::pipeline {
namespace {

namespace fs = std::filesystem;

std::string recipe_text(const std::string& data, int weight_bits) {
  return "model: {zoo: small_cnn, input: 1x28x28, classes: 10}\n"
         "data: {dataset: " + data + "}\n"
         "train: {epochs: 1, batch: 32}\n"
         "steps:\n"
         "  - kind: train\n"
         "  - kind: quantize\n"
         "    calibration_images: 32\n"
         "    sensitivity_images: 16\n"
         "    weight_bits: " + std::to_string(weight_bits) + "\n"
         "evaluate:\n"
         "  latency: {iters: 3, warmup: 1}\n"
         "  accel: {presets: [eyeriss-like], template: true}\n";
}

using testing::variant;

TEST(Runner, WritesVariantsAndSkipsUnchangedSteps) {
  const std::string root = ::testing::TempDir() + "/runner_skip";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  const std::string out = root + "/out";
  RunOptions o;
  o.out_dir = out;
  o.progress = false;

  const RunResult r1 = run_recipe(parse_recipe(recipe_text(data, 8), "r.yaml", ""), o);
  ASSERT_EQ(r1.variants.size(), 3u);
  EXPECT_FALSE(variant(r1, "input").evaluated);  // an untrained zoo model is not a variant worth a row
  for (const char* f : {"input.onnx", "train.onnx", "train.settings.json", "quantize.onnx", "quantize.settings.json",
                        "train.eval.json", "quantize.eval.json"})
    EXPECT_TRUE(fs::is_regular_file(out + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(out + "/train.work"));  // the checkpoint is gone once the step is done
  const VariantResult& q = variant(r1, "quantize");
  EXPECT_FALSE(q.reused);
  EXPECT_EQ(q.parent, "train");
  const nlohmann::json& q_eval = native(q.evaluation);
  EXPECT_TRUE(q_eval["quantized"].get<bool>());
  EXPECT_EQ(q_eval["weight_bits"], 8);
  EXPECT_EQ(q_eval["activation_bits"], 8);
  EXPECT_TRUE(q_eval.contains("fake_quant_acc"));
  EXPECT_TRUE(q_eval.contains("top1_agreement"));
  EXPECT_EQ(native(q.diagnostics)["sensitivity"]["layers"].size(), 4u);  // 2 convs + 2 FC
  EXPECT_LT(q_eval["bytes"].get<int64_t>(), native(variant(r1, "train").evaluation)["bytes"].get<int64_t>() / 2);
  // The file after gzip (Deep Compression's coding stage): smaller, never empty.
  EXPECT_GT(q_eval["gzip_bytes"].get<int64_t>(), 0);
  EXPECT_LT(q_eval["gzip_bytes"].get<int64_t>(), q_eval["bytes"].get<int64_t>());
  const nlohmann::json settings = nlohmann::json::parse(io::read_file(out + "/quantize.settings.json"));
  EXPECT_EQ(settings["key"], q.key);
  EXPECT_EQ(settings["input_sha256"], variant(r1, "train").sha256);

  // The same recipe again: nothing runs.
  const RunResult r2 = run_recipe(parse_recipe(recipe_text(data, 8), "r.yaml", ""), o);
  for (const auto& v : r2.variants) {
    if (v.name == "input") continue;
    EXPECT_TRUE(v.reused) << v.name;
    EXPECT_TRUE(v.eval_reused) << v.name;
    EXPECT_EQ(v.sha256, variant(r1, v.name).sha256);
    EXPECT_EQ(native(v.diagnostics), native(variant(r1, v.name).diagnostics));
  }

  // A changed quantize setting reruns quantize only.
  const RunResult r3 = run_recipe(parse_recipe(recipe_text(data, 4), "r.yaml", ""), o);
  EXPECT_TRUE(variant(r3, "train").reused);
  EXPECT_FALSE(variant(r3, "quantize").reused);
  EXPECT_EQ(native(variant(r3, "quantize").evaluation)["weight_bits"], 4);

  // A damaged variant file reruns its step and (its hash being new) every later step.
  { std::ofstream(out + "/train.onnx", std::ios::app) << "x"; }
  const RunResult r4 = run_recipe(parse_recipe(recipe_text(data, 4), "r.yaml", ""), o);
  EXPECT_FALSE(variant(r4, "train").reused);
  EXPECT_EQ(variant(r4, "train").sha256, variant(r3, "train").sha256);  // deterministic: the same seed, the same file
  EXPECT_TRUE(variant(r4, "quantize").reused);                          // its input hashes as before

  // --force reruns everything.
  o.force = true;
  const RunResult r5 = run_recipe(parse_recipe(recipe_text(data, 4), "r.yaml", ""), o);
  for (const auto& v : r5.variants) EXPECT_FALSE(v.reused) << v.name;
}

TEST(Runner, QuantizeUnderASizeBudgetChoosesMixedPrecision) {
  const std::string root = ::testing::TempDir() + "/runner_mixed";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  // small_cnn's weights take 421,408 bytes at 8 bits, fc1 401,408 of them: only fc1 at 4 bits fits.
  const RunResult r = run_recipe(parse_recipe("model: {zoo: small_cnn}\ndata: {dataset: " + data +
                                                  "}\nsteps:\n  - kind: quantize\n    calibration_images: 32\n"
                                                  "    sensitivity_images: 16\n    size_budget: 250000\n"
                                                  "evaluate: {latency: false, accel: false}\n",
                                              "r.yaml", ""),
                                 o);
  ASSERT_EQ(r.variants.size(), 2u);
  EXPECT_TRUE(variant(r, "input").evaluated);  // no train step first: the model as given is a variant
  const nlohmann::json& diagnostics = native(variant(r, "quantize").diagnostics);
  const nlohmann::json& evaluation = native(variant(r, "quantize").evaluation);
  const nlohmann::json& mp = diagnostics["mixed_precision"];
  EXPECT_TRUE(mp["met"].get<bool>());
  EXPECT_LE(mp["weight_bytes"].get<double>(), 250000);
  EXPECT_EQ(mp["layer_bits"]["fc1"], 4);
  EXPECT_EQ(diagnostics["sensitivity"]["layers"].size(), 4u);
  bool fc1_4bit = false;
  for (const auto& l : evaluation["layer_bits"])
    if (l["name"] == "fc1") fc1_4bit = l["weight_bits"] == 4;
  EXPECT_TRUE(fc1_4bit);
  EXPECT_FALSE(evaluation.contains("latency_ms"));
  EXPECT_FALSE(evaluation.contains("accel"));
}

// QAT as a recipe step: train, then quantization-aware fine-tuning into a QDQ variant that the
// evaluation runs on the integer plan.
TEST(Runner, QatStepFineTunesIntoAQdqVariant) {
  const std::string root = ::testing::TempDir() + "/runner_qat";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  const RunResult r = run_recipe(parse_recipe("model: {zoo: small_cnn}\ndata: {dataset: " + data +
                                                  "}\ntrain: {epochs: 1, batch: 32}\nsteps:\n  - kind: train\n"
                                                  "  - kind: qat\n    weight_bits: 4\n    calibration_images: 32\n"
                                                  "evaluate: {latency: false, accel: false}\n",
                                              "r.yaml", ""),
                                 o);
  ASSERT_EQ(r.variants.size(), 3u);
  const VariantResult& q = variant(r, "qat");
  EXPECT_EQ(q.parent, "train");
  const nlohmann::json& diagnostics = native(q.diagnostics);
  EXPECT_EQ(diagnostics["quantized_layers"], 4);
  EXPECT_EQ(diagnostics["method"], "lsq");
  EXPECT_EQ(diagnostics["epochs"].size(), 1u);
  EXPECT_TRUE(native(q.evaluation)["quantized"].get<bool>());
  EXPECT_EQ(native(q.evaluation)["weight_bits"], 4);
  EXPECT_TRUE(fs::is_regular_file(o.out_dir + "/qat.onnx"));
}

// Pruning as a recipe step: train, prune (global magnitude, fine-tuned with the mask held), then
// quantize the pruned model; the evaluation counts the zeros.
TEST(Runner, PruneStepGivesASparseVariantThatQuantizes) {
  const std::string root = ::testing::TempDir() + "/runner_prune";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  const RunResult r = run_recipe(parse_recipe("model: {zoo: small_cnn}\ndata: {dataset: " + data +
                                                  "}\ntrain: {epochs: 1, batch: 32}\nsteps:\n  - kind: train\n"
                                                  "  - kind: prune\n    sparsity: 0.7\n    scope: global\n"
                                                  "  - kind: quantize\n    calibration_images: 32\n"
                                                  "evaluate: {latency: false, accel: false}\n",
                                              "r.yaml", ""),
                                 o);
  ASSERT_EQ(r.variants.size(), 4u);
  const VariantResult& p = variant(r, "prune");
  EXPECT_EQ(p.parent, "train");
  const nlohmann::json& diag = native(p.diagnostics);
  const nlohmann::json& eval = native(p.evaluation);
  EXPECT_NEAR(diag["sparsity"].get<double>(), 0.7, 1e-3);
  EXPECT_EQ(diag["schedule"], "one_shot");
  EXPECT_EQ(diag["epochs"].size(), 1u);
  EXPECT_EQ(diag["prune_layers"].size(), 4u);
  const double params = eval["params"].get<double>(), nonzero = eval["nonzero_params"].get<double>();
  EXPECT_LT(nonzero, 0.4 * params) << "the evaluation should count the pruned weights as zeros";
  EXPECT_EQ(variant(r, "quantize").parent, "prune");
  // Pruning a quantized model is refused at parse time, naming the step.
  try {
    parse_recipe("model: {zoo: small_cnn}\nsteps:\n  - kind: quantize\n  - kind: prune\n", "q.yaml", "");
    FAIL() << "prune after quantize should be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("prune the float model"), std::string::npos) << e.what();
  }
}

// Decomposition as a recipe step: train, decompose (Tucker-2 at half the MACs through the budget
// solver, fine-tuned), then quantize; the evaluation sees the smaller model.
TEST(Runner, DecomposeStepMeetsItsMacBudgetAndQuantizes) {
  const std::string root = ::testing::TempDir() + "/runner_decompose";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  const RunResult r = run_recipe(parse_recipe("model: {zoo: small_cnn}\ndata: {dataset: " + data +
                                                  "}\ntrain: {epochs: 1, batch: 32}\nsteps:\n  - kind: train\n"
                                                  "  - kind: decompose\n    rank_rule: budget\n    budget: 0.5\n"
                                                  "  - kind: quantize\n    calibration_images: 32\n"
                                                  "evaluate: {latency: false, accel: false}\n",
                                              "r.yaml", ""),
                                 o);
  ASSERT_EQ(r.variants.size(), 4u);
  const VariantResult& d = variant(r, "decompose");
  EXPECT_EQ(d.parent, "train");
  const nlohmann::json& diag = native(d.diagnostics);
  EXPECT_EQ(diag["method"], "tucker2");
  EXPECT_TRUE(diag["budget"]["met"].get<bool>());
  EXPECT_LE(diag["macs_after"].get<double>(), 0.5 * diag["macs_before"].get<double>());
  EXPECT_EQ(diag["epochs"].size(), 1u);
  EXPECT_EQ(diag["decompose_layers"].size(), 4u);
  EXPECT_LT(native(d.evaluation)["macs"].get<double>(), native(variant(r, "train").evaluation)["macs"].get<double>());
  EXPECT_EQ(variant(r, "quantize").parent, "decompose");
}

TEST(Runner, MissingDataFailsBeforeAnyWork) {
  const std::string root = ::testing::TempDir() + "/runner_nodata";
  fs::remove_all(root);
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  try {
    run_recipe(parse_recipe(recipe_text(root + "/nodata", 8), "r.yaml", ""), o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("nodata"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(root + "/out"));
}

TEST(Runner, QuantizeCalibratesOnItsOwnImagesOrOnRandomInputs) {
  // calibration_data: a folder relative to the recipe with the model's preprocessing; random
  // inputs are recorded as synthetic.
  const std::string root = ::testing::TempDir() + "/runner_calibration";
  fs::remove_all(root);
  const std::string data = testing::write_tiny_idx(root + "/data");
  fs::create_directories(root + "/calib");
  for (int i = 0; i < 5; ++i) {
    io::Image img;
    img.height = 30 + i;
    img.width = 26;
    img.channels = 1;
    for (int64_t k = 0; k < img.height * img.width; ++k) img.pixels.push_back(static_cast<uint8_t>((k * 37 + i * 11) % 256));
    io::write_png(root + "/calib/" + std::to_string(i) + ".png", img);
  }
  auto recipe = [&](const std::string& keys) {
    return "model: {zoo: small_cnn, input: 1x28x28, classes: 10}\n"
           "data: {dataset: " + data + "}\n"
           "steps:\n"
           "  - kind: quantize\n"
           "    calibration_images: 4\n" + keys +
           "evaluate: {latency: false, accel: false}\n";
  };
  RunOptions o;
  o.out_dir = root + "/out";
  o.progress = false;
  const RunResult r = run_recipe(
      parse_recipe(recipe("    calibration_data: calib\n    mean: '0.5'\n    std: '0.25'\n"), "r.yaml", root), o);
  const nlohmann::json& q = native(variant(r, "quantize").diagnostics);
  EXPECT_NE(q["calibration"].get<std::string>().find(root + "/calib"), std::string::npos) << q;
  EXPECT_EQ(q["calibration_images"], 4);
  EXPECT_FALSE(q["synthetic_calibration"].get<bool>());
  EXPECT_NE(q["preprocess"].get<std::string>().find("std [0.25]"), std::string::npos);

  o.out_dir = root + "/out_random";
  const RunResult rr = run_recipe(parse_recipe(recipe("    calibration_data: random\n"), "r.yaml", root), o);
  EXPECT_TRUE(native(variant(rr, "quantize").diagnostics)["synthetic_calibration"].get<bool>());

  // A folder that is not there: bad input naming it and the keys.
  o.out_dir = root + "/out_missing";
  try {
    run_recipe(parse_recipe(recipe("    calibration_data: nowhere\n"), "r.yaml", root), o);
    ADD_FAILURE() << "ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("calibration_data"), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace leancnn::pipeline
