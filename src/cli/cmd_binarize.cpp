// `leancnn binarize`: binary (or ternary) weights and, by method, binary activations for an ONNX
// model or a zoo model (BinaryConnect, BNN, XNOR-Net, IR-Net, TWN), trained with latent f32
// weights, then packed 1 bit per weight (2 for ternary) in ai.leancnn BinaryWeights; the file
// sizes and the test accuracy before and after (docs/binarization.md). The flags only fill a
// compress::binarize::Spec; binarize.h's run() does the work, as for the recipe's binarize step.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "before_after.h"
#include "commands.h"
#include "leancnn/compress/binarize/binarize.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/dataset.h"

namespace leancnn::cli {

namespace {
namespace b = compress::binarize;

struct BinarizeCli {
  std::string model_file, out, data = "fashion-mnist";
  ModelOptions model{"resnet20", "1x28x28", 10};
  std::string method = "xnor", clip_latent = "auto";
  bool binarize_first_last = false, keep_relu = false;
  float ede_t = 1.f, ede_k = 1.f;
  std::vector<std::string> exclude;
  int64_t epochs = 0, batch = 128, limit_train = 0, test_images = 0;
  float lr = 0.01f, weight_decay = 0.f;
  std::string optimizer = "adam";
  bool no_eval = false;
};

b::Spec spec_of(const BinarizeCli& c, const CommonOptions& common, bool progress) {
  b::Spec spec;
  spec.method = b::parse_method(c.method);
  spec.keep_first_last = !c.binarize_first_last;
  spec.drop_relu = !c.keep_relu;
  spec.clip_latent = c.clip_latent == "auto" ? -1 : c.clip_latent == "on" ? 1 : 0;
  spec.ede_t = c.ede_t;
  spec.ede_k = c.ede_k;
  spec.exclude = c.exclude;
  spec.train.epochs = c.epochs;
  spec.train.batch = c.batch;
  spec.train.optimizer.lr = c.lr;
  spec.train.optimizer.weight_decay = c.weight_decay;
  spec.train.optimizer.kind = c.optimizer;
  spec.train.seed = common.seed;
  spec.train.progress = progress ? -1 : 0;
  spec.train.out_dir = c.out + ".work";  // checkpoints: rerun the same command to resume
  spec.train.resume = std::filesystem::exists(spec.train.out_dir + "/last");
  if (progress) spec.log = [](const std::string& line) { std::cerr << line << "\n"; };
  return spec;
}

int64_t file_bytes(const ir::Graph& g, const std::string& path) {
  io::save_onnx(g, path);
  const int64_t n = static_cast<int64_t>(std::filesystem::file_size(path));
  return n;
}

int run_binarize(const BinarizeCli& c, const CommonOptions& common) {
  const ir::Graph model = load_model(c.model_file, c.model, common.seed);
  const b::Spec spec = spec_of(c, common, !common.json);
  b::insert_fake_binarize(model, spec);  // settings checked against the model before any data is read
  const bool needs_data = c.epochs > 0 || !c.no_eval;
  train::Dataset train_set, test_set;
  if (needs_data) {
    const int64_t classes = model.value(model.outputs().at(0)).shape.back();
    const std::string dir = train::resolve_data_dir(c.data);
    train_set = train::load_idx_dataset(dir, train::Split::train, classes);
    if (c.limit_train > 0) train_set = train::subset(train_set, c.limit_train);
    test_set = train::load_idx_dataset(dir, train::Split::test, classes);
  }
  const b::Report r = b::run(model, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "training interrupted; its checkpoint is in '", spec.train.out_dir,
         "': run the same command again to resume");
  const int64_t packed_bytes = file_bytes(r.graph, c.out);
  const std::string float_path = c.out + ".float.tmp.onnx";
  const int64_t float_bytes = file_bytes(model, float_path);
  std::filesystem::remove(float_path);
  std::filesystem::remove_all(spec.train.out_dir);

  nlohmann::json layers = nlohmann::json::array();
  for (const b::LayerReport& l : r.layers)
    layers.push_back({{"layer", l.layer}, {"binarized", l.binarized}, {"weight_bits", l.weight_bits},
                      {"input_bits", l.input_bits}, {"params", l.params}, {"kept_why", l.kept_why}});
  nlohmann::json j = {{"model_file", c.model_file.empty() ? c.model.model : c.model_file},
                      {"out_file", c.out},
                      {"method", c.method},
                      {"binarized_layers", r.binarized},
                      {"relu_dropped", r.relu_dropped},
                      {"float_bytes", float_bytes},
                      {"bytes", packed_bytes},
                      {"size_ratio", static_cast<double>(packed_bytes) / static_cast<double>(std::max<int64_t>(1, float_bytes))},
                      {"epochs", c.epochs},
                      {"layers", layers}};
  if (!r.train.epochs.empty()) j["train_test_acc"] = r.train.epochs.back().test_acc;
  if (!c.no_eval) add_before_after(j, model, r.graph, test_set, c.test_images, "binarized_acc");
  if (common.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("binarized %s -> %s: %s, %lld layers; file %lld -> %lld bytes (%.4fx)\n",
              j["model_file"].get<std::string>().c_str(), c.out.c_str(), c.method.c_str(),
              static_cast<long long>(r.binarized), static_cast<long long>(float_bytes), static_cast<long long>(packed_bytes),
              j["size_ratio"].get<double>());
  for (const b::LayerReport& l : r.layers) {
    if (!l.binarized) std::printf("  %-32s f32 (%s)\n", l.layer.c_str(), l.kept_why.c_str());
    else std::printf("  %-32s W%d A%-2d %8lld weights\n", l.layer.c_str(), l.weight_bits, l.input_bits, static_cast<long long>(l.params));
  }
  if (!c.no_eval) print_before_after(j, "binarized_acc");
  return 0;
}
}  // namespace

Runner register_binarize(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<BinarizeCli>();
  CLI::App* cmd = app.add_subcommand("binarize", "Binary / ternary weights and activations, trained and packed 1 bit per weight");
  cmd->add_option("model_file", c->model_file, "Float ONNX model (default: the zoo model of --model, trained from scratch)");
  add_model_options(*cmd, c->model);
  cmd->add_option("-o,--out", c->out, "Output ONNX file (ai.leancnn BinaryWeights / Binarize)")->required();
  cmd->add_option("--data", c->data, "Dataset: fashion-mnist, or a folder of IDX files")->capture_default_str();
  cmd->add_option("--method", c->method, "binaryconnect, binaryconnect_stochastic, bnn, xnor, irnet or twn")
      ->capture_default_str()
      ->check(CLI::IsMember({"binaryconnect", "binaryconnect_stochastic", "bnn", "xnor", "irnet", "twn"}));
  cmd->add_flag("--binarize-first-last", c->binarize_first_last, "Also binarize the first and last weight layers");
  cmd->add_flag("--keep-relu", c->keep_relu, "Keep Relu nodes that feed binarized inputs (default: removed)");
  cmd->add_option("--clip-latent", c->clip_latent, "Clip latent weights to [-1, 1] after each step: auto, on, off")
      ->capture_default_str()->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_option("--ede-t", c->ede_t, "irnet: error-decay estimator t")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--ede-k", c->ede_k, "irnet: error-decay estimator k")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--exclude", c->exclude, "A layer (node name) kept f32; repeatable");
  cmd->add_option("--epochs", c->epochs, "Training epochs (0: binarize without training)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", c->batch, "Training batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", c->lr, "Learning rate (cosine schedule)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", c->optimizer, "sgd, adam or adamw (binary nets train best with Adam)")->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  cmd->add_option("--weight-decay", c->weight_decay, "Weight decay")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--limit-train", c->limit_train, "Use only the first N training images (0 = all)")->capture_default_str();
  cmd->add_option("--test-images", c->test_images, "Evaluate on the first N test images (0 = all)")->capture_default_str();
  cmd->add_flag("--no-eval", c->no_eval, "Skip the accuracy evaluation");
  add_common_options(*cmd, common);
  return [c, &common] { return run_binarize(*c, common); };
}

}  // namespace leancnn::cli
