// `leancnn distill`: knowledge distillation of a student (an ONNX file or a zoo model) from a
// teacher ONNX file (kd, fitnets, attention), from peers trained alongside (dml, kdcl) or from
// itself (self_best, self_aux), optionally with the same student trained from scratch as the
// baseline; then teacher, scratch and distilled side by side (docs/distillation.md). The flags
// only fill a compress::distill::Spec; distill.h's run() does the work, as for the recipe's
// distill step.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "leancnn/compress/distill/distill.h"
#include "leancnn/core/error.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/dataset.h"

namespace leancnn::cli {

namespace {
namespace dst = compress::distill;

struct DistillCli {
  std::string student_file;
  ModelOptions model{"small_cnn", "1x28x28", 10};
  std::vector<std::string> teachers, layers;
  std::string method = "kd";
  float temperature = 0, alpha = -1, beta = 0;
  int peers = 2;
  bool scratch = false, no_eval_teacher = false, resume = false, no_progress = false;
  std::string data = "fashion-mnist";
  int64_t limit_train = 0, limit_test = 0;
  train::TrainOptions train;
  std::string augment = "none";
  std::string out = "runs/distill";
};

train::Augment parse_augment(const std::string& spec) {
  train::Augment a;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "crop") a.crop_pad = 2;
    else if (item == "flip") a.hflip = true;
    else if (item == "erase") a.erase_prob = 0.5f;
    else if (item != "none" && !item.empty()) fail(ErrorKind::usage, "--augment: unknown item '", item, "' (crop, flip, erase or none)");
  }
  return a;
}

dst::Spec spec_of(const DistillCli& c, const CommonOptions& common) {
  dst::Spec spec;
  spec.method = dst::parse_method(c.method);
  spec.teachers = c.teachers;
  spec.temperature = c.temperature;
  spec.alpha = c.alpha;
  spec.beta = c.beta;
  for (const std::string& l : c.layers) spec.layers.push_back(dst::parse_layer_pair(l));
  spec.peers = c.peers;
  spec.scratch_baseline = c.scratch;
  spec.evaluate_teacher = !c.no_eval_teacher;
  spec.train = c.train;
  spec.train.seed = common.seed;
  spec.train.out_dir = c.out;
  spec.train.resume = c.resume;
  spec.train.augment = parse_augment(c.augment);
  spec.train.progress = c.no_progress || common.json ? 0 : -1;
  if (!common.json) spec.log = [](const std::string& line) { std::cerr << line << "\n"; };
  dst::validate(spec);
  for (const std::string& t : c.teachers)
    if (!std::filesystem::is_regular_file(t))
      fail(ErrorKind::usage, "--teacher '", t, "': no such file (give the teacher's ONNX file)");
  return spec;
}

train::Dataset load_split(const DistillCli& c, train::Split split, int64_t classes) {
  train::Dataset ds = train::load_idx_dataset(train::resolve_data_dir(c.data), split, classes);
  const int64_t limit = split == train::Split::train ? c.limit_train : c.limit_test;
  return limit > 0 ? train::subset(ds, limit) : ds;
}

nlohmann::json model_json(const dst::ModelResult& m) {
  nlohmann::json j = {{"name", m.name}, {"test_acc", m.test_acc}, {"best_test_acc", m.best_test_acc},
                      {"params", m.params}, {"macs", m.macs}};
  if (!m.file.empty()) j["file"] = m.file;
  return j;
}

int run_distill(const DistillCli& c, const CommonOptions& common) {
  const dst::Spec spec = spec_of(c, common);  // usage errors before loading anything
  const ir::Graph student = load_model(c.student_file, c.model, common.seed);
  const int64_t classes = student.value(student.outputs().at(0)).shape.back();
  const train::Dataset train_set = load_split(c, train::Split::train, classes);
  const train::Dataset test_set = load_split(c, train::Split::test, classes);
  const dst::Report r = dst::run(student, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "distillation interrupted; its checkpoints are in '", c.out,
         "': run the same command with --resume to continue");
  std::filesystem::create_directories(c.out);
  io::save_onnx(r.graph, c.out + "/model.onnx");
  std::vector<dst::ModelResult> rows = r.teachers;
  if (r.scratch) rows.push_back(*r.scratch);
  rows.push_back(r.distilled);
  for (size_t i = 1; i < r.peers.size(); ++i) {
    io::save_onnx(r.peers[i], c.out + "/peer" + std::to_string(i + 1) + ".onnx");
    rows.push_back(r.peer_results[i]);
  }
  nlohmann::json models = nlohmann::json::array();
  for (const dst::ModelResult& m : rows) models.push_back(model_json(m));
  nlohmann::json j = {{"method", c.method}, {"model_file", c.out + "/model.onnx"}, {"models", models},
                      {"epochs", c.train.epochs}, {"seed", common.seed}};
  if (r.gain()) j["gain_over_scratch"] = *r.gain();
  io::write_file_atomic(c.out + "/report.json", j.dump(2) + "\n");
  if (common.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("%-10s %-28s %10s %12s %9s %9s\n", "model", "file", "params", "MACs", "test acc", "best");
  for (const dst::ModelResult& m : rows)
    std::printf("%-10s %-28s %10lld %12lld %8.2f%% %8.2f%%\n", m.name.c_str(),
                (m.file.empty() ? "-" : std::filesystem::path(m.file).filename().string()).c_str(),
                static_cast<long long>(m.params), static_cast<long long>(m.macs), 100 * m.test_acc, 100 * m.best_test_acc);
  if (r.gain()) std::printf("distilled - scratch: %+.2f points\n", 100 * *r.gain());
  std::printf("distilled model in %s/model.onnx; report in %s/report.json\n", c.out.c_str(), c.out.c_str());
  return 0;
}
}  // namespace

Runner register_distill(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<DistillCli>();
  CLI::App* cmd = app.add_subcommand("distill", "Knowledge distillation: train a student from a teacher, from peers or from itself");
  cmd->add_option("student_file", c->student_file, "Student ONNX model (default: the zoo model of --model, untrained)");
  add_model_options(*cmd, c->model);
  cmd->add_option("-t,--teacher", c->teachers, "Teacher ONNX file (kd, fitnets, attention); repeat for an ensemble (mean logits)");
  cmd->add_option("--method", c->method, "kd, fitnets, attention, dml, kdcl, self_best or self_aux")
      ->capture_default_str()->check(CLI::IsMember({"kd", "fitnets", "attention", "dml", "kdcl", "self_best", "self_aux"}));
  cmd->add_option("-T,--temperature", c->temperature, "Softmax temperature (default: the method's; kd 4)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--alpha", c->alpha, "Weight of the soft loss, the hard loss gets 1 - alpha (default: the method's; kd 0.9)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--beta", c->beta, "Weight of the feature term (default: fitnets 10, attention 1000)")->check(CLI::PositiveNumber);
  cmd->add_option("--layer", c->layers, "fitnets/attention: STUDENT_LAYER:TEACHER_LAYER (same HxW); self_aux: STUDENT_LAYER; repeatable");
  cmd->add_option("--peers", c->peers, "dml/kdcl: students trained together")->capture_default_str()->check(CLI::Range(2, 16));
  cmd->add_flag("--scratch", c->scratch, "Also train the student from scratch with the same settings (the baseline)");
  cmd->add_flag("--no-eval-teacher", c->no_eval_teacher, "Skip measuring the teacher's test accuracy");
  cmd->add_option("--data", c->data, "Dataset: fashion-mnist, or a folder of IDX files (train/t10k)")->capture_default_str();
  cmd->add_option("--limit-train", c->limit_train, "Use only the first N training images (0 = all)");
  cmd->add_option("--limit-test", c->limit_test, "Use only the first N test images (0 = all)");
  auto& t = c->train;
  t.epochs = 5;
  cmd->add_option("--epochs", t.epochs, "Epochs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", t.batch, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", t.optimizer.kind, "sgd, adam or adamw")->capture_default_str();
  cmd->add_option("--lr", t.optimizer.lr, "Base learning rate")->capture_default_str();
  cmd->add_option("--momentum", t.optimizer.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--wd", t.optimizer.weight_decay, "Weight decay")->capture_default_str();
  cmd->add_option("--schedule", t.schedule.kind, "constant, step, multistep or cosine")->capture_default_str();
  cmd->add_option("--augment", c->augment, "Comma list: crop, flip, erase, none")->capture_default_str();
  cmd->add_option("-o,--out", c->out, "Output folder: model.onnx (distilled), peerN.onnx, report.json, checkpoints")
      ->capture_default_str();
  cmd->add_flag("--resume", c->resume, "Continue from the checkpoints in OUT (distill/, scratch/)");
  cmd->add_flag("--no-progress", c->no_progress, "Plain lines instead of a progress bar");
  add_common_options(*cmd, common);
  return [c, &common] { return run_distill(*c, common); };
}

}  // namespace leancnn::cli
