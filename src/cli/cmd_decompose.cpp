// `leancnn decompose`: low-rank decomposition of an ONNX model's Conv layers (Tucker-2, CP,
// channel-wise or spatial SVD) and Gemm layers (truncated SVD, Tensor-Train, Tensor-Ring) into
// chains of standard ONNX ops, ranks by energy, ratio, VBMF or a MACs/params budget, optionally fine-tuned; then the test accuracy
// before and after (docs/decomposition.md). The flags only fill a compress::decompose::Spec;
// decompose.h's run() does the work, as for the recipe's decompose step.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "before_after.h"
#include "commands.h"
#include "leancnn/compress/decompose/decompose.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/dataset.h"

namespace leancnn::cli {

namespace {
namespace d = compress::decompose;

struct DecomposeCli {
  std::string model_file, out, data = "fashion-mnist";
  std::string method = "tucker2", fc_method = "svd", rank_rule = "energy", budget_unit = "macs";
  bool no_fc = false, no_convs = false, decompose_first = false, sensitivity = false;
  double energy = 0.9, rank_ratio = 0.5, budget = 0.5;
  int64_t sens_images = 1000, round_to = 1;
  std::vector<std::string> exclude;
  int hooi_iters = 10, cp_iters = 100, tt_cores = 3;
  int64_t epochs = 0, batch = 128;
  float lr = 0.005f;
  int64_t test_images = 0;
  bool no_eval = false;
};

d::Spec spec_of(const DecomposeCli& c, const CommonOptions& common, bool progress) {
  d::Spec spec;
  spec.conv_method = d::parse_method(c.method);
  spec.convs = !c.no_convs;
  spec.fc = !c.no_fc;
  spec.fc_method = d::parse_method(c.fc_method);
  spec.factor.tt_cores = c.tt_cores;
  spec.rank_rule = d::parse_rank_rule(c.rank_rule);
  spec.energy = c.energy;
  spec.rank_ratio = c.rank_ratio;
  spec.round_to = c.round_to;
  spec.budget_ratio = c.budget;
  spec.budget_unit = c.budget_unit == "params"    ? d::CostUnit::params
                     : c.budget_unit == "latency" ? d::CostUnit::latency
                                                  : d::CostUnit::macs;
  spec.sensitivity = c.sensitivity;
  spec.protocol = {c.sens_images, common.seed};
  spec.exclude = c.exclude;
  spec.keep_first = !c.decompose_first;
  spec.factor.hooi_iters = c.hooi_iters;
  spec.factor.cp_iters = c.cp_iters;
  spec.factor.seed = common.seed;
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

std::string ranks_str(const std::vector<int64_t>& r) {
  std::string s;
  for (int64_t x : r) {
    if (!s.empty()) s += 'x';
    s += std::to_string(x);
  }
  return s;
}

int run_decompose(const DecomposeCli& c, const CommonOptions& common) {
  const ir::Graph model = io::load_onnx(c.model_file, ops::op_table());
  const d::Spec spec = spec_of(c, common, !common.json);
  d::check(model, spec);  // before any data is read
  const bool needs_data = c.epochs > 0 || !c.no_eval || (c.rank_rule == "budget" && c.sensitivity);
  const TrainTest data = load_data_if(needs_data, model, c.data);
  const train::Dataset &train_set = data.train, &test_set = data.test;
  const d::Report r = d::run(model, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "fine-tuning interrupted; its checkpoint is in '", spec.finetune.out_dir,
         "': run the same command again to resume");
  io::save_onnx(r.graph, c.out);
  std::filesystem::remove_all(spec.finetune.out_dir);

  nlohmann::json layers = nlohmann::json::array();
  for (const d::LayerReport& l : r.layers)
    layers.push_back({{"layer", l.layer},          {"method", l.method},         {"ranks", l.ranks},
                      {"max_ranks", l.max_ranks},  {"macs", l.before.macs},      {"macs_after", l.after.macs},
                      {"params", l.before.params}, {"params_after", l.after.params}, {"rel_error", l.rel_error},
                      {"kept_why", l.kept_why}});
  nlohmann::json j = {{"model_file", c.model_file}, {"out_file", c.out},          {"method", c.method}, {"fc_method", c.fc_method},
                      {"rank_rule", c.rank_rule},   {"macs", r.macs_before},      {"macs_after", r.macs_after},
                      {"params", r.params_before},  {"params_after", r.params_after}, {"layers", layers},
                      {"finetune_epochs", c.epochs}};
  if (r.budget) j["budget"] = {{"met", r.budget->met}, {"cost", r.budget->cost}, {"predicted_drop", r.budget->predicted_drop},
                               {"measured_sensitivity", r.measured_sensitivity}};
  if (r.latency_before_ms > 0) {
    j["latency_before_ms"] = r.latency_before_ms;
    j["latency_after_ms"] = r.latency_after_ms;
  }
  if (!c.no_eval) add_before_after(j, model, r.graph, test_set, c.test_images, "decomposed_acc");
  if (common.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("decomposed %s -> %s: %s, ranks by %s; MACs %lld -> %lld (%.2fx fewer), params %lld -> %lld\n",
              c.model_file.c_str(), c.out.c_str(), c.method.c_str(), c.rank_rule.c_str(),
              static_cast<long long>(r.macs_before), static_cast<long long>(r.macs_after),
              static_cast<double>(r.macs_before) / static_cast<double>(std::max<int64_t>(1, r.macs_after)),
              static_cast<long long>(r.params_before), static_cast<long long>(r.params_after));
  for (const d::LayerReport& l : r.layers) {
    if (l.method.empty()) {
      std::printf("  %-32s kept (%s)\n", l.layer.c_str(), l.kept_why.c_str());
      continue;
    }
    std::printf("  %-32s %-11s ranks %-9s of %-9s MACs %9lld -> %9lld, weight error %.4f\n", l.layer.c_str(),
                l.method.c_str(), ranks_str(l.ranks).c_str(), ranks_str(l.max_ranks).c_str(),
                static_cast<long long>(l.before.macs), static_cast<long long>(l.after.macs), l.rel_error);
  }
  if (r.budget && c.budget_unit == "latency")
    std::printf("  budget %s: %.4f ms predicted from the layers timed alone, of %.4f ms; the whole model measured "
                "%.4f -> %.4f ms%s\n",
                r.budget->met ? "met" : "NOT met", r.budget->cost, r.budget->start_cost, r.latency_before_ms,
                r.latency_after_ms, r.latency_after_ms >= r.latency_before_ms ? " (NOT faster in the network)" : "");
  else if (r.budget)
    std::printf("  budget %s: %.0f of %.0f %s\n", r.budget->met ? "met" : "NOT met", r.budget->cost,
                r.budget->start_cost, c.budget_unit.c_str());
  if (!c.no_eval) print_before_after(j, "decomposed_acc");
  return 0;
}
}  // namespace

Runner register_decompose(CLI::App& app, CommonOptions& common) {
  auto c = std::make_shared<DecomposeCli>();
  CLI::App* cmd = app.add_subcommand("decompose", "Low-rank decomposition of an ONNX model's Conv and Gemm layers");
  cmd->add_option("model_file", c->model_file, "Float ONNX model")->required();
  cmd->add_option("-o,--out", c->out, "Output ONNX file (standard Conv/Gemm chains)")->required();
  cmd->add_option("--data", c->data, "Dataset: fashion-mnist, or a folder of IDX files (fine-tuning and sensitivity: "
                                      "train split; accuracy: test split)")->capture_default_str();
  cmd->add_option("--method", c->method, "Conv method: tucker2, channel_svd, spatial_svd or cp")
      ->capture_default_str()->check(CLI::IsMember({"tucker2", "channel_svd", "spatial_svd", "cp"}));
  cmd->add_option("--fc-method", c->fc_method, "Gemm method: svd (truncated SVD), tt (Tensor-Train matrix) or tr "
                                               "(Tensor-Ring matrix)")
      ->capture_default_str()->check(CLI::IsMember({"svd", "tt", "tr"}));
  cmd->add_option("--tt-cores", c->tt_cores, "tt, tr: cores d (N and K each read as d balanced factors)")
      ->capture_default_str()->check(CLI::Range(2, 8));
  cmd->add_flag("--no-fc", c->no_fc, "Leave Gemm layers as they are (default: --fc-method)");
  cmd->add_flag("--no-convs", c->no_convs, "Leave Conv layers as they are");
  cmd->add_option("--rank-rule", c->rank_rule, "energy (kept singular-value mass), ratio (of the largest rank), "
                                               "budget (the model's MACs/params to --budget of the original) or vbmf "
                                               "(analytic empirical VBMF per matrix/unfolding; not for cp)")
      ->capture_default_str()->check(CLI::IsMember({"energy", "ratio", "budget", "vbmf"}));
  cmd->add_option("--energy", c->energy, "energy: kept share of squared singular values")->capture_default_str()
      ->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--rank-ratio", c->rank_ratio, "ratio: ranks as a fraction of the largest")->capture_default_str()
      ->check(CLI::Range(0.001, 1.0));
  cmd->add_option("--round-to", c->round_to,
                  "Ranks to the nearest multiple of N, every rule (8: whole AVX2 vectors, so the inner layers run "
                  "as fast as their MACs say; tt and tr ranks stay)")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1024}));
  cmd->add_option("--budget", c->budget, "budget: the model's MACs (params, latency) after / before")->capture_default_str()
      ->check(CLI::Range(0.001, 0.999));
  cmd->add_option("--budget-unit", c->budget_unit,
                  "budget: macs, params, or latency (measured: the model timed with each layer decomposed at each rank)")
      ->capture_default_str()
      ->check(CLI::IsMember({"macs", "params", "latency"}));
  cmd->add_flag("--sensitivity", c->sensitivity, "budget: measure each rank's drop on held-out training images "
                                                  "(default: the weight error as proxy)");
  cmd->add_option("--sens-images", c->sens_images, "Held-out training images for the sensitivity")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--exclude", c->exclude, "A layer (node name) left as it is; repeatable");
  cmd->add_flag("--decompose-first", c->decompose_first, "Also decompose the first Conv/Gemm layer");
  cmd->add_option("--hooi-iters", c->hooi_iters, "tucker2: HOOI sweeps after HOSVD")->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--cp-iters", c->cp_iters, "cp: ALS sweeps at most")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--epochs", c->epochs, "Fine-tuning epochs (0: none)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", c->batch, "Fine-tuning batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", c->lr, "Fine-tuning learning rate (SGD, cosine)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--test-images", c->test_images, "Evaluate on the first N test images (0 = all)")->capture_default_str();
  cmd->add_flag("--no-eval", c->no_eval, "Skip the accuracy evaluation");
  add_common_options(*cmd, common);
  return [c, &common] { return run_decompose(*c, common); };
}

}  // namespace leancnn::cli
