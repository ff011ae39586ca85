// Recipe parsing: defaults, overrides, and every error path naming the line and the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/recipe.h"
#include "leancnn/pipeline/step.h"

namespace leancnn::pipeline {
namespace {

Recipe parse(const std::string& text) { return parse_recipe(text, "r.yaml", ""); }

// The error's message, asserting it is bad_input (exit code 3).
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input) << e.what();
    EXPECT_EQ(exit_code(e.kind()), 3);
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << haystack

const char* kMinimal = "model: {zoo: small_cnn}\n";

TEST(Recipe, DefaultsFilledIn) {
  const Recipe r = parse(kMinimal);
  const nlohmann::json& model = native(r.model);
  EXPECT_EQ(model["zoo"], "small_cnn");
  EXPECT_EQ(model["input"], "1x28x28");
  EXPECT_EQ(model["classes"], 10);
  EXPECT_EQ(native(r.data)["dataset"], "fashion-mnist");
  EXPECT_EQ(native(r.train)["epochs"], 4);
  EXPECT_TRUE(r.steps.empty());
  const nlohmann::json& evaluate = native(r.evaluate);
  EXPECT_EQ(evaluate["accuracy"], true);
  EXPECT_EQ(evaluate["latency"]["batch"], 1);
  EXPECT_EQ(evaluate["accel"]["presets"], nlohmann::json({"eyeriss-like", "tpu-like"}));
  EXPECT_EQ(r.seed, 0u);
}

TEST(Recipe, StepsTakeTrainDefaultsAndOverrides) {
  const Recipe r = parse(R"(model: {zoo: small_cnn}
train: {epochs: 3, lr: 0.1}
steps:
  - kind: train
    epochs: 2
  - kind: finetune
  - kind: quantize
    weight_bits: 4
    name: w4
  - kind: quantize
)");
  ASSERT_EQ(r.steps.size(), 4u);
  EXPECT_EQ(r.steps[0].name, "train");
  const nlohmann::json& train = native(r.steps[0].settings);
  const nlohmann::json& finetune = native(r.steps[1].settings);
  EXPECT_EQ(train["epochs"], 2);
  EXPECT_DOUBLE_EQ(train["lr"].get<double>(), 0.1);
  EXPECT_EQ(finetune["epochs"], 1);  // finetune: 1 epoch, a tenth of the lr
  EXPECT_NEAR(finetune["lr"].get<double>(), 0.01, 1e-12);
  EXPECT_EQ(r.steps[2].name, "w4");
  EXPECT_EQ(native(r.steps[2].settings)["weight_bits"], 4);
  EXPECT_EQ(r.steps[3].name, "quantize");
  EXPECT_EQ(native(r.steps[3].settings)["weight_bits"], 8);
  EXPECT_EQ(r.steps[2].line, 7);
}

TEST(Recipe, EvaluationsCanBeSwitchedOff) {
  const Recipe r = parse("model: {zoo: small_cnn}\nevaluate: {accuracy: false, latency: false, accel: false}\n");
  const nlohmann::json& evaluate = native(r.evaluate);
  EXPECT_EQ(evaluate["accuracy"], false);
  EXPECT_TRUE(evaluate["latency"].is_null());
  EXPECT_TRUE(evaluate["accel"].is_null());
}

TEST(Recipe, DefaultRecipeIsValid) {
  const Recipe r = default_recipe();
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].kind, "train");
  EXPECT_EQ(r.steps[1].kind, "quantize");
  EXPECT_EQ(native(r.model)["zoo"], "small_cnn");
  const nlohmann::json& evaluate = native(r.evaluate);
  EXPECT_EQ(evaluate["latency"]["threads"], 2);
  EXPECT_EQ(evaluate["accel"]["presets"].size(), 2u);
}

TEST(Recipe, ShippedRecipesAreValid) {
  for (const auto& f : std::filesystem::directory_iterator(std::string(LEANCNN_SOURCE_DIR) + "/recipes")) {
    if (f.path().extension() == ".yaml") {
      EXPECT_NO_THROW(load_recipe(f.path().string())) << f.path();
    }
  }
}

TEST(Recipe, UnknownTopLevelKeyNamesLineAndKey) {
  const std::string e = error_of("model: {zoo: small_cnn}\n\nstepz: []\n");
  EXPECT_HAS(e, "recipe 'r.yaml', line 3");
  EXPECT_HAS(e, "key 'stepz'");
  EXPECT_HAS(e, "unknown key");
}

TEST(Recipe, UnknownKeyInsideASection) {
  const std::string e = error_of("model: {zoo: small_cnn}\ntrain:\n  epochs: 2\n  lr_rate: 0.1\n");
  EXPECT_HAS(e, "line 4");
  EXPECT_HAS(e, "train: key 'lr_rate': unknown key; known keys: epochs");
}

TEST(Recipe, UnknownKeyInAStep) {
  const std::string e = error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: quantize\n    metod: minmax\n");
  EXPECT_HAS(e, "line 4");
  EXPECT_HAS(e, "steps[1] (quantize): key 'metod'");
}

TEST(Recipe, BadValues) {
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {epochs: two}\n"), "key 'epochs': expected an integer, got 'two'");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {epochs: 0}\n"), "key 'epochs': value 0 out of range: must be >= 1");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {lr: 0}\n"), "key 'lr': value 0 out of range: must be > 0");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {lr: [1]}\n"), "key 'lr': expected a number");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {nesterov: maybe}\n"), "expected true or false, got 'maybe'");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {optimizer: rmsprop}\n"), "'rmsprop' is not one of: sgd, adam, adamw");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {augment: [crop, spin]}\n"), "'spin' is not one of: crop, flip, erase");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {augment: [crop, crop]}\n"), "'crop' is listed twice");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\ntrain: {epochs: }\n"), "key 'epochs': no value");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: quantize\n    weight_bits: 6\n"),
             "key 'weight_bits': '6' is not one of: 4, 8");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nevaluate: {accel: {presets: [eyeriss-like, gpu]}}\n"),
             "evaluate.accel: key 'presets': 'gpu' is not one of");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nevaluate: {latency: true}\n"), "expected a map of settings, or false");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nseed: -1\n"), "key 'seed'");
}

TEST(Recipe, ModelErrors) {
  EXPECT_HAS(error_of("data: {limit_train: 10}\n"), "key 'model': missing");
  EXPECT_HAS(error_of("model: {zoo: resnet1000}\n"), "'resnet1000' is not one of");
  EXPECT_HAS(error_of("model: {zoo: small_cnn, file: m.onnx}\n"), "exactly one of zoo");
  EXPECT_HAS(error_of("model: {}\n"), "exactly one of zoo");
  EXPECT_HAS(error_of("model: {file: /nonexistent/m.onnx}\n"), "key 'file': no such file '/nonexistent/m.onnx'");
  EXPECT_HAS(error_of("model: {zoo: small_cnn, input: 28x28}\n"), "key 'input': expected CxHxW");
}

TEST(Recipe, StepErrors) {
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps: {kind: train}\n"), "expected a list of steps");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - epochs: 1\n"), "key 'kind': missing; one of: train, quantize");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: shrink\n"), "unknown step kind 'shrink'");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: train\n  - kind: train\n    name: train\n"),
             "'train' is used by an earlier step");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: train\n    name: a/b\n"), "key 'name': 'a/b' must be");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: quantize\n  - kind: finetune\n"),
             "use one qat step (quantization-aware fine-tuning of the float model) instead of quantize + finetune");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: qat\n  - kind: qat\n"),
             "a qat step after a quantize or qat step");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: qat\n    method: ternary\n"), "method");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: quantize\n  - kind: decompose\n"),
             "a decompose step after a quantize or qat step");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: decompose\n    method: tt\n"), "method");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: binarize\n    method: xnor2\n"), "method");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: quantize\n  - kind: binarize\n"),
             "a binarize step after a quantize or qat step");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: binarize\n  - kind: finetune\n"),
             "a finetune step after a binarize step");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: decompose\n    budget: 1.5\n"), "budget");
  EXPECT_HAS(error_of("model: {zoo: small_cnn}\nsteps:\n  - kind: decompose\n    fc_method: cp\n"), "fc_method");
}

TEST(Recipe, NotYamlOrNotAMap) {
  EXPECT_HAS(error_of("model: [zoo\n"), "not valid YAML");
  EXPECT_HAS(error_of("- 1\n- 2\n"), "expected a map");
}

TEST(Recipe, FilePathsAreRelativeToTheRecipe) {
  const std::string dir = std::filesystem::path(::testing::TempDir() + "/recipe_paths").lexically_normal().string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/m.onnx") << "x";
  std::ofstream(dir + "/r.yaml") << "model: {file: m.onnx}\ndata: {dataset: idx}\noutput: out\n";
  const Recipe r = load_recipe(dir + "/r.yaml");
  const nlohmann::json& model = native(r.model);
  EXPECT_EQ(model["file"], dir + "/m.onnx");
  EXPECT_FALSE(model.contains("input"));
  EXPECT_EQ(native(r.data)["dataset"], dir + "/idx");
  EXPECT_EQ(r.output, dir + "/out");
  try {
    load_recipe(dir + "/missing.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_HAS(e.what(), "missing.yaml");
  }
}

TEST(Recipe, EveryStepKindIsListed) {
  for (const char* k : {"train", "quantize", "finetune", "qat", "prune", "decompose", "search", "binarize", "distill"}) {
    const StepKind* s = find_step_kind(k);
    ASSERT_NE(s, nullptr) << k;
    EXPECT_TRUE(static_cast<bool>(s->run)) << k;
  }
  EXPECT_EQ(find_step_kind("nope"), nullptr);
}

// A map of names to numbers (the prune step's layer_sparsity): read into a JSON object with
// each value range-checked at its own line; key lines recorded for later checks.
TEST(Recipe, NumberMapKeys) {
  const Recipe r = parse(std::string(kMinimal) + "steps:\n  - kind: prune\n    sparsity: 0.4\n"
                         "    layer_sparsity:\n      conv1: 0.25\n      fc1: 0.9\n");
  const nlohmann::json& s = native(r.steps[0].settings);
  EXPECT_EQ(s["layer_sparsity"].size(), 2u);
  EXPECT_DOUBLE_EQ(s["layer_sparsity"]["conv1"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(s["layer_sparsity"]["fc1"].get<double>(), 0.9);
  EXPECT_EQ(r.steps[0].key_lines.at("sparsity"), 4);
  EXPECT_EQ(r.steps[0].key_lines.at("layer_sparsity"), 5);
  EXPECT_TRUE(native(parse(std::string(kMinimal) + "steps:\n  - kind: prune\n").steps[0].settings)["layer_sparsity"].empty());
  EXPECT_HAS(error_of(std::string(kMinimal) + "steps:\n  - kind: prune\n    layer_sparsity:\n      conv1: 0.2\n      fc1: 1.5\n"),
             "line 6: steps[1] (prune): key 'layer_sparsity': fc1: value 1.5 out of range: must be >= 0 and < 1");
  EXPECT_HAS(error_of(std::string(kMinimal) + "steps:\n  - kind: prune\n    layer_sparsity: {conv1: lots}\n"),
             "key 'layer_sparsity': conv1: expected a number, got 'lots'");
  EXPECT_HAS(error_of(std::string(kMinimal) + "steps:\n  - kind: prune\n    layer_sparsity: 0.3\n"),
             "key 'layer_sparsity': expected a map of names to numbers");
  EXPECT_HAS(error_of(std::string(kMinimal) + "steps:\n  - kind: prune\n    sparsity: 1\n"),
             "key 'sparsity': value 1 out of range: must be >= 0 and < 1");
  EXPECT_HAS(error_of(std::string(kMinimal) + "steps:\n  - kind: prune\n    ratios: learned\n"),
             "'learned' is not one of: uniform, sensitivity, gmm");
}

}  // namespace
}  // namespace leancnn::pipeline
