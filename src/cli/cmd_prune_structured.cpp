// `leancnn prune --structured` (prune_structured.h): the flags fill a
// compress::structured::Spec, structured::run() does the work as for the recipe step; the
// command writes the smaller ONNX model and reports per-layer channels before and after, MACs,
// parameters, accuracy and the batch-1 latency of the dense and the pruned model.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "before_after.h"
#include "leancnn/compress/structured/structured.h"
#include "leancnn/core/error.h"
#include "leancnn/core/cpu.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/benchmark.h"
#include "leancnn/train/dataset.h"
#include "prune_structured.h"

namespace leancnn::cli {

namespace {
namespace st = compress::structured;

st::Spec spec_of(const PruneShared& p, const StructuredCli& s, const CommonOptions& common, bool progress) {
  st::Spec spec;
  spec.criterion = st::parse_criterion(s.criterion);
  if ((s.remove_flops != 0) + (s.remove_params != 0) + (s.remove_latency != 0) != 1)
    fail(ErrorKind::usage, "--structured needs one target: --remove-flops FRACTION, --remove-params FRACTION or "
         "--remove-latency FRACTION");
  const char* flag = "--remove-flops";
  spec.target_kind = st::TargetKind::flops;
  spec.target = s.remove_flops;
  if (s.remove_params != 0) spec.target_kind = st::TargetKind::params, spec.target = s.remove_params, flag = "--remove-params";
  if (s.remove_latency != 0) spec.target_kind = st::TargetKind::latency, spec.target = s.remove_latency, flag = "--remove-latency";
  if (!(spec.target > 0 && spec.target < 1)) fail(ErrorKind::usage, flag, ": ", spec.target, " must be in (0, 1)");
  if (p.ratios == "gmm")
    fail(ErrorKind::usage, "--ratios gmm splits weight magnitudes; --structured takes uniform, sensitivity or latency");
  spec.ratios = st::parse_ratios(p.ratios);
  spec.sensitivity.images = p.sens_images;
  spec.sensitivity.seed = common.seed;
  spec.max_ratio = s.max_ratio;
  spec.round_to = s.round_to;
  spec.exclude = p.exclude;
  spec.calibration_images = s.calib_images;
  spec.thinet_samples = s.thinet_samples;
  spec.reconstruct = !s.no_reconstruct;
  spec.slimming_lambda = s.slimming_lambda;
  spec.group_lasso_lambda = s.group_lasso_lambda;
  spec.prune_epochs = s.prune_epochs;
  spec.schedule = st::parse_schedule(p.schedule);
  spec.rounds = p.rounds;
  spec.from_scratch = s.from_scratch;
  spec.seed = common.seed;
  spec.finetune.epochs = p.epochs;
  spec.finetune.batch = p.batch;
  spec.finetune.optimizer.lr = p.lr;
  spec.finetune.seed = common.seed;
  spec.finetune.progress = progress ? -1 : 0;
  spec.finetune.out_dir = p.out + ".work";
  if (progress) spec.log = [](const std::string& line) { std::cerr << line << "\n"; };
  return spec;
}

double latency_ms(const ir::Graph& g, int64_t iters) {
  runtime::Plan plan = runtime::Plan::compile(g);
  Shape in = g.value(g.inputs()[0]).shape;
  in[0] = 1;
  runtime::BenchmarkOptions bo;
  bo.iters = iters;
  return runtime::benchmark_plan(plan, in, bo).median_ms;
}
}  // namespace

void add_structured_options(CLI::App& cmd, StructuredCli& s) {
  cmd.add_flag("--structured", s.on, "Structured pruning: remove whole channels (filters) so the model physically "
                                     "shrinks (docs/structured_pruning.md); needs --remove-flops or --remove-params");
  cmd.add_option("--criterion", s.criterion, "--structured: l1, l2 (filter norm), fpgm (geometric median), hrank (feature-map "
                                             "rank), apoz (zero activations), thinet (next-layer reconstruction), slimming "
                                             "(BN gamma with L1 training), sfp (soft filter pruning), layer (whole residual blocks), nisp "
                                             "(importance propagated from the classifier), group_lasso (group-LASSO training)")
      ->capture_default_str()->check(CLI::IsMember(st::criterion_names()));
  cmd.add_option("--remove-flops", s.remove_flops, "--structured: fraction of the MACs to remove, in (0, 1)");
  cmd.add_option("--remove-params", s.remove_params, "--structured: fraction of the parameters to remove, in (0, 1)");
  cmd.add_option("--remove-latency", s.remove_latency,
                 "--structured: fraction of the batch-1 latency to remove, in (0, 1) (measured on this machine, --threads)");
  cmd.add_option("--max-ratio", s.max_ratio, "--structured: most a group (layer) may lose")->capture_default_str()->check(CLI::Range(0.01, 0.99));
  cmd.add_option("--round-to", s.round_to, "--structured: keep a multiple of this many channels per layer (8: whole "
                                           "AVX2 vectors, so fewer FLOPs become less latency)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("--calib-images", s.calib_images, "--structured hrank/apoz/thinet: training images the criterion reads")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("--thinet-samples", s.thinet_samples, "--structured thinet: output entries sampled per next layer")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_flag("--no-reconstruct", s.no_reconstruct, "--structured thinet: skip the least-squares rescaling");
  cmd.add_option("--slimming-lambda", s.slimming_lambda, "--structured slimming: L1 weight on BN gamma")->capture_default_str();
  cmd.add_option("--group-lasso-lambda", s.group_lasso_lambda, "--structured group_lasso: weight of the group-LASSO penalty")
      ->capture_default_str();
  cmd.add_option("--prune-epochs", s.prune_epochs, "--structured slimming/sfp/group_lasso: training epochs before pruning")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd.add_flag("--from-scratch", s.from_scratch, "--structured: also train the pruned architecture from a fresh "
                                                 "initialisation (Liu et al. 2019), reported beside the fine-tuned one");
  cmd.add_option("--bench-iters", s.bench_iters, "--structured: timed batch-1 runs per model for the latency (0: skip)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
}

int run_structured_prune(const PruneShared& p, const StructuredCli& s, const CommonOptions& common) {
  const ir::OpTable& ops = ops::op_table();
  const ir::Graph model = io::load_onnx(p.model_file, ops);
  const st::Spec spec = spec_of(p, s, common, !common.json);
  // Checked before the data is even looked for (a data criterion is told it needs data by
  // check's own message), so a bad flag is named as such whatever --data says.
  const bool reads_training_images =
      st::needs_data(spec.criterion) || st::needs_training(spec.criterion) || spec.ratios == st::Ratios::sensitivity;
  st::check(model, spec, reads_training_images ? 2 : 0);
  const bool needs_data = reads_training_images || spec.finetune.epochs > 0 ||
                          spec.from_scratch || !p.no_eval;
  const TrainTest data = load_data_if(needs_data, model, p.data);
  const train::Dataset &train_set = data.train, &test_set = data.test;
  const st::Report r = st::run(model, train_set, test_set, spec);
  if (r.interrupted)
    fail(ErrorKind::runtime, "training interrupted; rerun the same command (the checkpoint is in '", spec.finetune.out_dir, "')");
  io::save_onnx(r.graph, p.out);
  std::filesystem::remove_all(spec.finetune.out_dir);

  nlohmann::json layers = nlohmann::json::array();
  for (const st::LayerChannels& l : r.layers)
    layers.push_back({{"layer", l.layer}, {"out_channels_before", l.out_before}, {"out_channels_after", l.out_after},
                      {"in_channels_before", l.in_before}, {"in_channels_after", l.in_after}});
  nlohmann::json j = {{"model_file", p.model_file}, {"out_file", p.out}, {"structured", true},
                      {"criterion", s.criterion}, {"target", st::target_kind_name(spec.target_kind)},
                      {"target_fraction", spec.target}, {"schedule", p.schedule}, {"ratio", r.ratio},
                      {"ratios", p.ratios},
                      {"params_before", r.params_before}, {"params", r.params_after},
                      {"macs_before", r.macs_before}, {"macs", r.macs_after},
                      {"finetune_epochs", p.epochs}, {"layers", layers}};
  if (!r.removed_blocks.empty()) j["removed_blocks"] = r.removed_blocks;
  if (!p.no_eval) add_before_after(j, model, r.graph, test_set, p.test_images, "pruned_acc");
  if (r.scratch && !p.no_eval) {
    nlohmann::json k;
    add_before_after(k, model, *r.scratch, test_set, p.test_images, "scratch_acc");
    j["scratch_acc"] = k["scratch_acc"];
  }
  if (s.bench_iters > 0) {
    j["latency_ms_before"] = latency_ms(model, s.bench_iters);
    j["latency_ms"] = latency_ms(r.graph, s.bench_iters);
    j["threads"] = num_threads();
  }
  if (common.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (r.group_ratios.empty())
    std::printf("pruned %s -> %s: structured %s, ratio %.3f per group\n", p.model_file.c_str(), p.out.c_str(),
                s.criterion.c_str(), r.ratio);
  else  // sensitivity, or a rounded uniform ratio trimmed to the budget: a ratio per group
    std::printf("pruned %s -> %s: structured %s, a ratio per group\n", p.model_file.c_str(), p.out.c_str(),
                s.criterion.c_str());
  std::printf("  MACs %lld -> %lld (%.1f %% removed), params %lld -> %lld (%.1f %% removed)\n",
              static_cast<long long>(r.macs_before), static_cast<long long>(r.macs_after),
              100.0 * (1 - static_cast<double>(r.macs_after) / static_cast<double>(r.macs_before)),
              static_cast<long long>(r.params_before), static_cast<long long>(r.params_after),
              100.0 * (1 - static_cast<double>(r.params_after) / static_cast<double>(r.params_before)));
  for (const st::LayerChannels& l : r.layers)
    std::printf("  %-32s out %4lld -> %4lld   in %4lld -> %4lld\n", l.layer.c_str(), static_cast<long long>(l.out_before),
                static_cast<long long>(l.out_after), static_cast<long long>(l.in_before), static_cast<long long>(l.in_after));
  if (!p.no_eval) print_before_after(j, "pruned_acc");
  if (j.contains("scratch_acc")) std::printf("  trained from scratch (same architecture): %.4f\n", j["scratch_acc"].get<double>());
  if (j.contains("latency_ms"))
    std::printf("  batch-1 latency (%d threads, median of %lld): %.3f ms -> %.3f ms\n", num_threads(),
                static_cast<long long>(s.bench_iters), j["latency_ms_before"].get<double>(), j["latency_ms"].get<double>());
  return 0;
}

}  // namespace leancnn::cli
