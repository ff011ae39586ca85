// `leancnn train` and `leancnn eval`: train a zoo model or an ONNX model on Fashion-MNIST
// (or another IDX dataset), optionally quantization-aware (--qat-bits: docs/qat.md), and
// evaluate a model file on a test set.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "leancnn/compress/quantize/qat.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/predict.h"
#include "leancnn/train/trainer.h"

namespace leancnn::cli {

namespace {
struct DataOptions {
  std::string data = "fashion-mnist";
  int64_t limit_train = 0;  // 0: all
  int64_t limit_test = 0;
};

void add_data_options(CLI::App& cmd, DataOptions& d, bool train) {
  cmd.add_option("--data", d.data, "Dataset: fashion-mnist, or a folder of IDX files (train/t10k)")->capture_default_str();
  if (train) cmd.add_option("--limit-train", d.limit_train, "Use only the first N training images (0 = all)");
  cmd.add_option("--limit-test", d.limit_test, "Use only the first N test images (0 = all)");
}

train::Dataset load_split(const DataOptions& d, train::Split split, int64_t classes) {
  train::Dataset ds = train::load_idx_dataset(train::resolve_data_dir(d.data), split, classes);
  const int64_t limit = split == train::Split::train ? d.limit_train : d.limit_test;
  return limit > 0 ? train::subset(ds, limit) : ds;
}

struct TrainCli {
  std::string model_file;
  ModelOptions model{"resnet20", "1x28x28", 10};
  DataOptions data;
  train::TrainOptions train;
  std::string augment = "crop,flip";
  int64_t warmup_epochs = 0;
  std::string out = "runs/train";
  bool no_progress = false;
  // Quantization-aware training (docs/qat.md): empty qat_bits = off.
  std::string qat_bits;
  std::string qat_method = "lsq";
  std::string qat_init = "minmax";
  int qat_first_last_bits = 0;
  int64_t qat_calib = 256;
  bool qat_per_tensor = false;
};

train::Augment parse_augment(const std::string& spec) {
  train::Augment a;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "crop") a.crop_pad = 2;
    else if (item == "flip") a.hflip = true;
    else if (item == "erase") a.erase_prob = 0.5f;
    else if (item == "none" || item.empty()) {
    } else {
      fail(ErrorKind::usage, "--augment: unknown item '", item, "' (crop, flip, erase or none)");
    }
  }
  return a;
}

namespace cq = compress::quantize;

cq::QatOptions parse_qat(const TrainCli& c) {
  cq::QatOptions o;
  o.method = cq::parse_qat_method(c.qat_method);
  const size_t comma = c.qat_bits.find(',');
  try {
    o.weight_bits = std::stoi(c.qat_bits.substr(0, comma));
    if (comma != std::string::npos) o.act_bits = std::stoi(c.qat_bits.substr(comma + 1));
  } catch (const std::exception&) {
    fail(ErrorKind::usage, "--qat-bits: expected W or W,A (e.g. 4,8), got '", c.qat_bits, "'");
  }
  if (c.qat_init == "lsq") o.weight_init = o.act_init = cq::ScaleInit::lsq;
  else if (c.qat_init != "minmax") fail(ErrorKind::usage, "--qat-init: minmax or lsq, got '", c.qat_init, "'");
  o.per_channel = !c.qat_per_tensor;
  o.first_last_bits = c.qat_first_last_bits;
  return o;
}

// After QAT: the converted model written to OUT/qdq.onnx, and its test accuracy run both ways:
// the reference executor (fake-quant) and the compiled plan (deployed integers).
nlohmann::json report_qat(const TrainCli& c, const cq::QatReport& q, const train::Dataset& test_set) {
  const std::string file = c.out + "/qdq.onnx";
  io::save_onnx(q.qdq, file);
  std::fprintf(stderr, "QAT: converted %s to the QDQ model %s; evaluating it\n",
               std::filesystem::exists(c.out + "/best.onnx") ? (c.out + "/best.onnx").c_str() : "the trained model",
               file.c_str());
  const train::Predictions fake = train::predict(q.converted, test_set, train::Engine::executor);
  const train::Predictions conv = train::predict(q.qdq, test_set, train::Engine::executor);
  const train::Predictions deployed = train::predict(q.qdq, test_set, train::Engine::plan);
  std::fprintf(stderr, "QAT: test accuracy fake-quant %.4f, QDQ (reference) %.4f, deployed (plan) %.4f; top-1 agreement "
               "fake-quant vs deployed %.4f\n", fake.accuracy, conv.accuracy, deployed.accuracy,
               train::agreement(fake, deployed));
  return {{"qdq_file", file},
          {"qat_fake_quant_acc", fake.accuracy},
          {"qdq_reference_acc", conv.accuracy},
          {"qdq_deployed_acc", deployed.accuracy},
          {"fake_vs_qdq_agreement", train::agreement(fake, conv)},
          {"fake_vs_deployed_agreement", train::agreement(fake, deployed)}};
}

int run_train(TrainCli& c, const CommonOptions& common) {
  const ir::OpTable& ops = ops::op_table();
  ir::Graph model = load_model(c.model_file, c.model, common.seed);
  const int64_t classes = model.value(model.outputs().at(0)).shape.back();
  train::Dataset train_set = load_split(c.data, train::Split::train, classes);
  train::Dataset test_set = load_split(c.data, train::Split::test, classes);
  c.train.seed = common.seed;
  c.train.out_dir = c.out;
  c.train.augment = parse_augment(c.augment);
  c.train.progress = c.no_progress ? 0 : -1;
  c.train.schedule.warmup_steps = c.warmup_epochs * (train_set.size() / std::max<int64_t>(c.train.batch, 1));
  train::TrainResult r;
  nlohmann::json qat_json;
  if (!c.qat_bits.empty() || cq::has_fake_quant(model)) {
    // Quantization-aware: the QAT family's entry point; the flags only fill its Spec.
    cq::QatSpec spec;
    if (!c.qat_bits.empty()) spec.qat = parse_qat(c);
    spec.calib_images = c.qat_calib;
    spec.seed = common.seed;
    spec.train = c.train;
    spec.from_best_epoch = true;
    spec.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    cq::QatReport q = cq::run_qat(model, train_set, test_set, spec);
    model = std::move(q.trained);
    r = std::move(q.train);
    io::save_onnx(model, c.out + "/model.onnx");
    if (!r.interrupted) qat_json = report_qat(c, q, test_set);
  } else {
    r = train::train_model(model, ops, train_set, test_set, c.train);
    io::save_onnx(model, c.out + "/model.onnx");
  }
  double ips = 0;
  for (const auto& e : r.epochs) ips += e.images_per_s;
  ips /= std::max<size_t>(r.epochs.size(), 1);
  if (common.json) {
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& e : r.epochs) epochs.push_back(nlohmann::json::parse(e.json()));
    nlohmann::json j = {{"model", model.name},
                        {"test_acc", r.epochs.empty() ? 0.0 : r.epochs.back().test_acc},
                        {"best_test_acc", r.best_acc},
                        {"best_epoch", r.best_epoch},
                        {"images_per_s", ips},
                        {"interrupted", r.interrupted},
                        {"model_file", c.out + "/model.onnx"},
                        {"best_file", c.out + "/best.onnx"},
                        {"epochs", epochs}};
    if (!qat_json.is_null()) j["qat"] = qat_json;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "trained " << model.name << ": best test accuracy " << r.best_acc << " (epoch " << r.best_epoch
              << "), mean " << static_cast<int64_t>(ips) << " img/s; model in " << c.out << "/model.onnx, best in "
              << c.out << "/best.onnx" << (qat_json.is_null() ? "" : ", QDQ model in " + c.out + "/qdq.onnx") << "\n";
  }
  return r.interrupted ? 130 : 0;
}

struct EvalCli {
  std::string model_file;
  ModelOptions model{"resnet20", "1x28x28", 10};
  DataOptions data;
  int64_t batch = 256;
};

int run_eval(const EvalCli& c, const CommonOptions& common) {
  const ir::OpTable& ops = ops::op_table();
  ir::Graph model = load_model(c.model_file, c.model, common.seed);
  const int64_t classes = model.value(model.outputs().at(0)).shape.back();
  train::Dataset test_set = load_split(c.data, train::Split::test, classes);
  train::EvalResult r = train::evaluate(model, ops, test_set, {.batch = c.batch});
  if (common.json) {
    nlohmann::json j = {{"model", model.name}, {"test_acc", r.accuracy}, {"test_loss", r.loss}, {"images", r.count},
                        {"images_per_s", r.images_per_s}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << model.name << ": test accuracy " << r.accuracy << ", loss " << r.loss << " on " << r.count
              << " images (" << static_cast<int64_t>(r.images_per_s) << " img/s)\n";
  }
  return 0;
}
}  // namespace

Runner register_train(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<TrainCli>();
  CLI::App* cmd = app.add_subcommand("train", "Train a zoo model or an ONNX model on an image dataset");
  cmd->add_option("model_file", c->model_file, "ONNX model to train (default: the zoo model of --model)");
  add_model_options(*cmd, c->model);
  add_data_options(*cmd, c->data, true);
  add_common_options(*cmd, common);
  auto& t = c->train;
  cmd->add_option("--epochs", t.epochs, "Epochs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", t.batch, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", t.optimizer.kind, "sgd, adam or adamw")->capture_default_str();
  cmd->add_option("--lr", t.optimizer.lr, "Base learning rate")->capture_default_str();
  cmd->add_option("--momentum", t.optimizer.momentum, "SGD momentum")->capture_default_str();
  cmd->add_flag("--nesterov", t.optimizer.nesterov, "Nesterov momentum");
  cmd->add_option("--wd", t.optimizer.weight_decay, "Weight decay")->capture_default_str();
  cmd->add_flag("!--no-decay-1d", t.optimizer.decay_1d_params, "Exempt biases and BN scale/shift from weight decay");
  cmd->add_option("--schedule", t.schedule.kind, "constant, step, multistep or cosine")->capture_default_str();
  cmd->add_option("--warmup-epochs", c->warmup_epochs, "Linear warm-up epochs")->capture_default_str();
  cmd->add_option("--clip", t.clip_grad_norm, "Clip the gradient norm to this (0 = off)")->capture_default_str();
  cmd->add_option("--label-smoothing", t.label_smoothing, "Label smoothing")->capture_default_str();
  cmd->add_option("--augment", c->augment, "Comma list: crop, flip, erase, none")->capture_default_str();
  cmd->add_option("-o,--out", c->out, "Output folder: model.onnx, best.onnx, last/ checkpoint, metrics.jsonl")
      ->capture_default_str();
  cmd->add_flag("--resume", t.resume, "Continue from the checkpoint in OUT/last");
  cmd->add_option("--stop-after", t.stop_after, "Stop after this many epochs of the schedule (resume later)");
  cmd->add_flag("--no-progress", c->no_progress, "Plain lines instead of a progress bar");
  cmd->add_flag("!--reference", t.use_kernels, "Use the reference kernels only (slow; for checking)");
  cmd->add_option("--qat-bits", c->qat_bits,
                  "Quantization-aware training: weight bits W (2-8) or W,A with activation bits A (default 8); "
                  "BN is folded, FakeQuantize inserted, and OUT/qdq.onnx written at the end (docs/qat.md)");
  cmd->add_option("--qat-method", c->qat_method, "QAT gradient: ste, lsq (learned step sizes) or dorefa")
      ->capture_default_str();
  cmd->add_option("--qat-init", c->qat_init, "Initial QAT scales: minmax or lsq (2 mean|x| / sqrt(Qp))")
      ->capture_default_str();
  cmd->add_option("--qat-first-last-bits", c->qat_first_last_bits,
                  "Weight bits of the first and last layer (0 = same as the others)")
      ->capture_default_str();
  cmd->add_option("--qat-calib", c->qat_calib, "Training images for the initial QAT scales")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--qat-per-tensor", c->qat_per_tensor, "One weight scale per layer instead of per output channel");
  return [c, &common] { return run_train(*c, common); };
}

Runner register_eval(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<EvalCli>();
  CLI::App* cmd = app.add_subcommand("eval", "Test-set accuracy of a model");
  cmd->add_option("model_file", c->model_file, "ONNX model (default: the zoo model of --model, untrained)");
  add_model_options(*cmd, c->model);
  add_data_options(*cmd, c->data, false);
  add_common_options(*cmd, common);
  cmd->add_option("--batch", c->batch, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  return [c, &common] { return run_eval(*c, common); };
}

}  // namespace leancnn::cli
