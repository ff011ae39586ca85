// `leancnn prune`: magnitude weight pruning of an ONNX model (layer-wise, global or N:M; one-shot,
// iterative or gradual), fine-tuned with the masks held, written as ONNX with the pruned weights
// at exact zero; then the test accuracy before and after (docs/pruning.md). The flags only fill
// a compress::prune::Spec; prune.h's run() does the work, as for the recipe's prune step.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/predict.h"

namespace leancnn::cli {

namespace {
namespace p = compress::prune;

struct PruneCli {
  std::string model_file, out, data = "fashion-mnist";
  double sparsity = 0.5;
  std::string scope = "layer", pattern = "unstructured", schedule = "one_shot";
  int rounds = 3;
  double ramp = 0.75;
  int64_t interval = 50;
  std::vector<std::string> exclude;
  bool keep_first = false;
  int64_t epochs = 1, batch = 128;
  float lr = 0.01f;
  int64_t test_images = 0;
  bool no_eval = false;
  bool dense = false;
};

// "2:4" -> n = 2, m = 4 (Error(usage) otherwise); "unstructured" leaves the mask unstructured.
void parse_pattern(const std::string& s, p::MaskOptions& m) {
  if (s == "unstructured") return;
  const size_t colon = s.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument(s);
    m.n = std::stoi(s.substr(0, colon));
    m.m = std::stoi(s.substr(colon + 1));
  } catch (const std::exception&) {
    fail(ErrorKind::usage, "--pattern must be unstructured or N:M (e.g. 2:4), got '", s, "'");
  }
  m.pattern = p::Pattern::n_of_m;
}

p::Spec spec_of(const PruneCli& c, const CommonOptions& common, bool progress) {
  p::Spec spec;
  spec.mask.sparsity = c.sparsity;
  spec.mask.scope = p::parse_scope(c.scope);
  parse_pattern(c.pattern, spec.mask);
  spec.schedule = p::parse_schedule(c.schedule);
  spec.rounds = c.rounds;
  spec.ramp = c.ramp;
  spec.interval = c.interval;
  spec.exclude = c.exclude;
  spec.keep_first = c.keep_first;
  spec.finetune.epochs = c.epochs;
  spec.finetune.batch = c.batch;
  spec.finetune.optimizer.lr = c.lr;
  spec.finetune.seed = common.seed;
  spec.finetune.progress = progress ? -1 : 0;
  spec.finetune.out_dir = c.out + ".work";  // checkpoints: rerun the same command to resume
  spec.finetune.resume = std::filesystem::exists(spec.finetune.out_dir + "/last");
  if (progress) spec.log = [](const std::string& line) { std::cerr << line << "\n"; };
  return spec;
}

int run_prune(const PruneCli& c, const CommonOptions& common) {
  const ir::OpTable& ops = ops::op_table();
  const ir::Graph model = io::load_onnx(c.model_file, ops);
  const int64_t classes = model.value(model.outputs().at(0)).shape.back();
  const std::string dir = train::resolve_data_dir(c.data);
  const train::Dataset train_set = train::load_idx_dataset(dir, train::Split::train, classes);
  const train::Dataset test_set = train::load_idx_dataset(dir, train::Split::test, classes);
  const p::Spec spec = spec_of(c, common, !common.json);
  const p::Report r = p::run(model, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "fine-tuning interrupted; its checkpoint is in '", spec.finetune.out_dir,
         "': run the same command again to resume");
  io::OnnxSaveOptions save;
  save.sparse_storage = !c.dense;
  io::save_onnx(r.graph, c.out, save);
  std::filesystem::remove_all(spec.finetune.out_dir);

  int64_t params = 0, nonzero = 0;
  nlohmann::json layers = nlohmann::json::array();
  for (const p::LayerReport& l : r.layers) {
    params += l.weights;
    nonzero += l.kept;
    layers.push_back({{"layer", l.layer}, {"params", l.weights}, {"nonzero_params", l.kept}, {"sparsity", l.sparsity()},
                      {"dense_why", l.skipped}});
  }
  nlohmann::json j = {{"model_file", c.model_file}, {"out_file", c.out},        {"scope", c.scope},
                      {"pattern", c.pattern},       {"schedule", c.schedule},   {"sparsity", r.sparsity},
                      {"params", params},           {"nonzero_params", nonzero}, {"layers", layers},
                      {"finetune_epochs", c.epochs}, {"bytes", static_cast<int64_t>(std::filesystem::file_size(c.out))},
                      {"float_bytes", static_cast<int64_t>(std::filesystem::file_size(c.model_file))}};
  if (!c.no_eval) {
    const train::Predictions before = train::predict(model, test_set, train::Engine::plan, c.test_images);
    const train::Predictions after = train::predict(r.graph, test_set, train::Engine::plan, c.test_images);
    j["test_images"] = static_cast<int64_t>(before.top1.size());
    j["float_acc"] = before.accuracy;
    j["pruned_acc"] = after.accuracy;
    j["drop"] = before.accuracy - after.accuracy;
  }
  if (common.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("pruned %s -> %s: %s %s, %s, sparsity %.3f (%lld of %lld Conv/Gemm weights are zero)\n",
              c.model_file.c_str(), c.out.c_str(), c.scope.c_str(), c.pattern.c_str(), c.schedule.c_str(), r.sparsity,
              static_cast<long long>(params - nonzero), static_cast<long long>(params));
  std::printf("  file: %lld -> %lld bytes (%.3fx, %s)\n", static_cast<long long>(j["float_bytes"].get<int64_t>()),
              static_cast<long long>(j["bytes"].get<int64_t>()),
              static_cast<double>(j["bytes"].get<int64_t>()) / static_cast<double>(j["float_bytes"].get<int64_t>()),
              c.dense ? "dense" : "sparse storage");
  for (const p::LayerReport& l : r.layers)
    std::printf("  %-32s %10lld weights, sparsity %.3f%s%s\n", l.layer.c_str(), static_cast<long long>(l.weights),
                l.sparsity(), l.skipped.empty() ? "" : "  (dense: ", l.skipped.empty() ? "" : (l.skipped + ")").c_str());
  if (!c.no_eval)
    std::printf("  test accuracy on %lld images: before %.4f, after %.4f (drop %.2f points)\n",
                static_cast<long long>(j["test_images"].get<int64_t>()), j["float_acc"].get<double>(),
                j["pruned_acc"].get<double>(), 100.0 * j["drop"].get<double>());
  return 0;
}
}  // namespace

Runner register_prune(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<PruneCli>();
  CLI::App* cmd = app.add_subcommand("prune", "Magnitude weight pruning of an ONNX model, fine-tuned with the masks held");
  cmd->add_option("model_file", c->model_file, "Float ONNX model")->required();
  cmd->add_option("-o,--out", c->out, "Output ONNX file (pruned weights are exact zeros)")->required();
  cmd->add_option("--data", c->data, "Dataset: fashion-mnist, or a folder of IDX files (fine-tuning: train split; "
                                      "accuracy: test split)")->capture_default_str();
  cmd->add_option("--sparsity", c->sparsity, "Fraction of the Conv/Gemm weights set to zero (unstructured)")
      ->capture_default_str()->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--scope", c->scope, "layer (the same fraction per layer) or global (one magnitude threshold)")
      ->capture_default_str()->check(CLI::IsMember({"layer", "global"}));
  cmd->add_option("--pattern", c->pattern, "unstructured, or N:M (e.g. 2:4: N kept of every M input channels)")
      ->capture_default_str();
  cmd->add_option("--schedule", c->schedule, "one_shot, iterative (Han et al.: rounds of prune + fine-tune) or "
                                              "gradual (AGP, Zhu & Gupta)")
      ->capture_default_str()->check(CLI::IsMember({"one_shot", "iterative", "gradual"}));
  cmd->add_option("--rounds", c->rounds, "iterative: rounds (each fine-tunes --epochs)")->capture_default_str()->check(CLI::Range(1, 20));
  cmd->add_option("--ramp", c->ramp, "gradual: fraction of the fine-tuning steps the sparsity ramps over")
      ->capture_default_str()->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--interval", c->interval, "gradual: optimizer steps between mask updates")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--exclude", c->exclude, "A layer (node name) kept dense; repeatable");
  cmd->add_flag("--keep-first", c->keep_first, "Keep the first Conv/Gemm layer dense");
  cmd->add_option("--epochs", c->epochs, "Fine-tuning epochs (0: prune only, one_shot)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", c->batch, "Fine-tuning batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", c->lr, "Fine-tuning learning rate (SGD, cosine)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--test-images", c->test_images, "Evaluate on the first N test images (0 = all)")->capture_default_str();
  cmd->add_flag("--no-eval", c->no_eval, "Skip the accuracy evaluation");
  cmd->add_flag("--dense", c->dense, "Write every weight dense (no ai.leancnn SparseToDense: for ONNX Runtime)");
  add_common_options(*cmd, common);
  return [c, &common] { return run_prune(*c, common); };
}

}  // namespace leancnn::cli
