// `leancnn prune`: magnitude weight pruning of an ONNX model (layer-wise, global or N:M; uniform,
// explicit or automatically chosen per-layer fractions; one-shot, iterative, gradual or lottery
// ticket), trained with the masks held, written as ONNX with the pruned weights at exact zero;
// then the test accuracy before and after (docs/pruning.md). The flags only fill a
// compress::prune::Spec; prune.h's run() does the work, as for the recipe's prune step. The Spec
// is checked against the model before the data is read, each problem naming its flag.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <iostream>

#include "before_after.h"
#include "commands.h"
#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/dataset.h"
#include "prune_structured.h"

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
  std::vector<std::string> layer_sparsity;  // NAME=FRACTION
  std::string ratios = "uniform", target = "sparsity";
  int64_t sens_images = 1000;
  int64_t rewind_epoch = 0;
  std::string rewind_from;
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

// "conv1=0.3" -> {conv1: 0.3}; Error(usage) naming the flag otherwise.
std::map<std::string, double> parse_layer_sparsity(const std::vector<std::string>& items) {
  std::map<std::string, double> out;
  for (const std::string& item : items) {
    const size_t eq = item.rfind('=');
    double v = 0;
    size_t used = 0;
    try {
      if (eq == std::string::npos || eq == 0) throw std::invalid_argument(item);
      v = std::stod(item.substr(eq + 1), &used);
    } catch (const std::exception&) {
      fail(ErrorKind::usage, "--layer-sparsity: expected LAYER=FRACTION (e.g. conv1=0.3), got '", item, "'");
    }
    if (used != item.size() - eq - 1) fail(ErrorKind::usage, "--layer-sparsity: '", item.substr(eq + 1), "' is not a number");
    if (!(v >= 0 && v < 1)) fail(ErrorKind::usage, "--layer-sparsity: ", item.substr(0, eq), "=", v, " must be in [0, 1)");
    if (!out.emplace(item.substr(0, eq), v).second) fail(ErrorKind::usage, "--layer-sparsity: '", item.substr(0, eq), "' is given twice");
  }
  return out;
}

// compress::prune::check's messages name the Spec field first; the flag is named instead.
void check_flags(const ir::Graph& model, const p::Spec& spec) {
  static const std::vector<std::pair<std::string, std::string>> flags = {
      {"layer_sparsity", "--layer-sparsity"}, {"exclude", "--exclude"}, {"rewind_epoch", "--rewind-epoch"},
      {"rewind weights", "--rewind-from"},    {"sparsity", "--sparsity"}, {"rounds", "--rounds"}};
  try {
    p::check(model, spec);
  } catch (const Error& e) {
    const std::string& msg = e.message();
    for (const auto& [field, flag] : flags)
      if (msg.rfind(field + ":", 0) == 0) throw Error(e.kind(), flag + msg.substr(field.size()));
      else if (msg.rfind(field + " ", 0) == 0) throw Error(e.kind(), flag + ": " + msg);
    throw;
  }
}

p::Spec spec_of(const PruneCli& c, const CommonOptions& common, bool progress) {
  p::Spec spec;
  if (!(c.sparsity >= 0 && c.sparsity < 1)) fail(ErrorKind::usage, "--sparsity: ", c.sparsity, " must be in [0, 1)");
  spec.mask.sparsity = c.sparsity;
  spec.mask.layer_sparsity = parse_layer_sparsity(c.layer_sparsity);
  if (c.ratios == "latency")
    fail(ErrorKind::usage, "--ratios latency chooses channel ratios by measured latency: it needs --structured");
  spec.ratio_rule = p::parse_ratio_rule(c.ratios);
  spec.target = p::parse_budget_target(c.target);
  spec.protocol = {c.sens_images, common.seed};
  spec.rewind_epoch = c.rewind_epoch;
  if (!c.rewind_from.empty()) spec.rewind_from = io::load_onnx(c.rewind_from, ops::op_table());
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
  const p::Spec spec = spec_of(c, common, !common.json);
  check_flags(model, spec);  // before the data is read or anything trains
  // Data only where something reads it: fine-tuning (the lottery's training included: it needs
  // epochs), sensitivity probes, the before/after evaluation. Magnitude masks alone (--epochs 0
  // --no-eval) read weights only, so a 3x224x224 model prunes without a dataset of its shape.
  const bool needs_data = spec.finetune.epochs > 0 || spec.ratio_rule == p::RatioRule::sensitivity || !c.no_eval;
  const TrainTest data = load_data_if(needs_data, model, c.data);
  const train::Dataset &train_set = data.train, &test_set = data.test;
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
                      {"target", l.target}, {"dense_why", l.skipped}});
  }
  nlohmann::json j = {{"model_file", c.model_file}, {"out_file", c.out},        {"scope", c.scope},
                      {"pattern", c.pattern},       {"schedule", c.schedule},   {"sparsity", r.sparsity},
                      {"params", params},           {"nonzero_params", nonzero}, {"layers", layers},
                      {"finetune_epochs", c.epochs}, {"ratios", c.ratios},
                      {"bytes", static_cast<int64_t>(std::filesystem::file_size(c.out))},
                      {"float_bytes", static_cast<int64_t>(std::filesystem::file_size(c.model_file))}};
  if (spec.schedule == p::Schedule::lottery) j["rewind_epoch"] = c.rewind_epoch;
  if (r.sensitivity) {
    j["sensitivity_target"] = p::budget_target_name(r.sensitivity->target);
    j["sensitivity_met"] = r.sensitivity->met;
    j["predicted_drop"] = r.sensitivity->predicted_drop;
  }
  if (!c.no_eval) add_before_after(j, model, r.graph, test_set, c.test_images, "pruned_acc");
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
  if (!c.no_eval) print_before_after(j, "pruned_acc");
  return 0;
}
}  // namespace

Runner register_prune(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<PruneCli>();
  auto st = std::make_shared<StructuredCli>();
  CLI::App* cmd = app.add_subcommand("prune", "Magnitude weight pruning of an ONNX model, fine-tuned with the masks held; "
                                              "with --structured, channel (filter) pruning that shrinks the model");
  cmd->add_option("model_file", c->model_file, "Float ONNX model")->required();
  cmd->add_option("-o,--out", c->out, "Output ONNX file (pruned weights are exact zeros)")->required();
  cmd->add_option("--data", c->data, "Dataset: fashion-mnist, or a folder of IDX files (fine-tuning: train split; "
                                      "accuracy: test split)")->capture_default_str();
  cmd->add_option("--sparsity", c->sparsity, "Fraction of the Conv/Gemm weights set to zero, in [0, 1) (unstructured; "
                                             "with --ratios, the overall target)")
      ->capture_default_str();
  cmd->add_option("--layer-sparsity", c->layer_sparsity, "LAYER=FRACTION: this layer's own fraction (repeatable; "
                                                         "unlisted layers get --sparsity)");
  cmd->add_option("--ratios", c->ratios, "Per-layer fractions: uniform, sensitivity (one-layer probes on held-out "
                                         "training images + the budget solver) or gmm (Gaussian-mixture split); "
                                         "--structured: per-group ratios, uniform, sensitivity or latency (NetAdapt: "
                                         "cut where measured batch-1 latency falls most per FLOP)")
      ->capture_default_str()->check(CLI::IsMember({"uniform", "sensitivity", "gmm", "latency"}));
  cmd->add_option("--target", c->target, "--ratios sensitivity: what --sparsity is the fraction removed of: sparsity "
                                         "(pruned weights), params (all parameters) or macs")
      ->capture_default_str()->check(CLI::IsMember({"sparsity", "params", "macs"}));
  cmd->add_option("--sens-images", c->sens_images, "--ratios sensitivity: held-out training images (also --structured)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--rewind-epoch", c->rewind_epoch, "lottery: rewind the surviving weights to this epoch (0 = the "
                                                     "initialisation; without --rewind-from the model is the "
                                                     "initialisation and is trained for --epochs first)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--rewind-from", c->rewind_from, "lottery: the model is already trained; these are its weights at "
                                                   "the rewind epoch (ONNX, same layers)");
  cmd->add_option("--scope", c->scope, "layer (the same fraction per layer) or global (one magnitude threshold)")
      ->capture_default_str()->check(CLI::IsMember({"layer", "global"}));
  cmd->add_option("--pattern", c->pattern, "unstructured, or N:M (e.g. 2:4: N kept of every M input channels)")
      ->capture_default_str();
  cmd->add_option("--schedule", c->schedule, "one_shot, iterative (Han et al.: rounds of prune + fine-tune), "
                                              "gradual (AGP, Zhu & Gupta) or lottery (Frankle & Carbin: train, prune, "
                                              "rewind, retrain)")
      ->capture_default_str()->check(CLI::IsMember({"one_shot", "iterative", "gradual", "lottery"}));
  cmd->add_option("--rounds", c->rounds, "iterative and lottery: rounds (each trains --epochs)")->capture_default_str()->check(CLI::Range(1, 20));
  cmd->add_option("--ramp", c->ramp, "gradual: fraction of the fine-tuning steps the sparsity ramps over")
      ->capture_default_str()->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--interval", c->interval, "gradual: optimizer steps between mask updates")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--exclude", c->exclude, "A layer (node name) kept dense; repeatable");
  cmd->add_flag("--keep-first", c->keep_first, "Keep the first Conv/Gemm layer dense");
  cmd->add_option("--epochs", c->epochs, "Fine-tuning epochs (0: prune only, one_shot; lottery: the training's epochs)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", c->batch, "Fine-tuning batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", c->lr, "Fine-tuning learning rate (SGD, cosine)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--test-images", c->test_images, "Evaluate on the first N test images (0 = all)")->capture_default_str();
  cmd->add_flag("--no-eval", c->no_eval, "Skip the accuracy evaluation");
  cmd->add_flag("--dense", c->dense, "Write every weight dense (no ai.leancnn SparseToDense: for ONNX Runtime)");
  add_structured_options(*cmd, *st);
  add_common_options(*cmd, common);
  return [c, st, &common] {
    if (!st->on) {
      if (st->remove_flops > 0 || st->remove_params > 0 || st->remove_latency > 0)
        fail(ErrorKind::usage, "--remove-flops, --remove-params and --remove-latency are structured-pruning targets: add --structured");
      return run_prune(*c, common);
    }
    const PruneShared shared{c->model_file, c->out,     c->data, c->schedule,     c->ratios,  c->sens_images, c->rounds,
                             c->exclude,    c->epochs,  c->batch, c->lr,          c->test_images, c->no_eval};
    return run_structured_prune(shared, *st, common);
  };
}

}  // namespace leancnn::cli
