// `leancnn bench`: inference latency, throughput and activation memory of a compiled plan
// (runtime::Plan), with an optional per-step profile (time, share, GFLOP/s, % of machine peak).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/op_schema.h"
#include "leancnn/kernels/fp32_peak.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/benchmark.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::cli {

namespace {
struct BenchOptions {
  std::string model_file;
  ModelOptions model;
  int64_t batch = 1;
  int64_t iters = 50;
  int64_t warmup = 5;
  bool no_fuse = false;
  bool no_fuse_blocks = false;
  bool no_fold = false;
  bool no_channels_last = false;
  bool reference = false;
  bool profile = false;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// "12.3 M" style with a unit suffix.
std::string human(double v, const char* unit) {
  const char* prefix[] = {"", "k", "M", "G", "T"};
  int p = 0;
  while (v >= 1000 && p < 4) v /= 1000, ++p;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g %s%s", v, prefix[p], unit);
  return buf;
}

// A step's activation layouts, first input > first output: "nhwc>nchw" (the plan's channels-last
// placement, runtime/plan.cpp), so a profile shows where a layout changes.
std::string step_layouts(const runtime::PlanStep& step) {
  const auto name = [](bool nhwc) { return nhwc ? "nhwc" : "nchw"; };
  return std::string(name((step.channels_last & ir::channels_last_input(0)) != 0)) + ">" +
         name((step.channels_last & ir::channels_last_output(0)) != 0);
}

struct StepRow {
  runtime::PlanStep step;
  double ms = 0;  // median over the timed iterations
};

// A progress line on stderr, only on a terminal and only once a run has lasted a second.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), on_(isatty(STDERR_FILENO) != 0) {}
  void update(int64_t done) {
    if (!on_ || ms_since(start_) < 1000 || ms_since(last_) < 250) return;
    last_ = std::chrono::steady_clock::now();
    std::fprintf(stderr, "\rbench: %lld/%lld iterations", static_cast<long long>(done), static_cast<long long>(total_));
    shown_ = true;
  }
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\r%40s\r", "");
  }

 private:
  int64_t total_;
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

int run_bench(const BenchOptions& o, const CommonOptions& common) {
  // This CPU's fp32 FMA peak per thread (kernels/fp32_peak.h), for the "% peak" figures: measured
  // first, before any parallel region (no OpenMP thread spins beside it).
  const double peak_per_thread = kernels::fp32_peak_gflops_per_thread();
  const ir::OpTable& ops = ops::op_table();
  const ir::Graph g = load_model(o.model_file, o.model, common.seed);
  if (g.inputs().size() != 1)
    fail(ErrorKind::bad_input, "bench: the model must have one input, it has ", g.inputs().size());
  const ir::Summary summary = ir::summarize(g, ops);

  runtime::PlanOptions popts;
  popts.fuse = !o.no_fuse;
  popts.fuse_blocks = !o.no_fuse_blocks;
  popts.fold_batch_norm = !o.no_fold;
  popts.channels_last = !o.no_channels_last;
  popts.use_kernels = !o.reference;
  runtime::Plan plan = runtime::Plan::compile(g, popts);

  Shape shape = g.value(g.inputs()[0]).shape;
  if (shape.empty()) fail(ErrorKind::bad_input, "bench: the model's input is a scalar; expected N x C x H x W");
  shape[0] = o.batch;
  Progress progress(o.warmup + o.iters);
  runtime::BenchmarkOptions bopts;
  bopts.iters = o.iters;
  bopts.warmup = o.warmup;
  bopts.profile = o.profile;
  bopts.seed = common.seed;
  bopts.progress = [&progress](int64_t done, int64_t) { progress.update(done); };
  const runtime::BenchmarkResult bench = runtime::benchmark_plan(plan, shape, bopts);

  const int threads = num_threads();
  const double median = bench.median_ms, p90 = bench.p90_ms;
  const double images_per_s = bench.images_per_s;
  const double gflops = 2.0 * static_cast<double>(summary.macs) * static_cast<double>(o.batch) / (median * 1e6);
  const double peak_gflops = peak_per_thread * threads;
  const runtime::PlanMemory mem = plan.memory();

  std::vector<StepRow> rows;
  double steps_total_ms = 0;
  for (size_t s = 0; s < bench.steps.size(); ++s) {
    rows.push_back({bench.steps[s], bench.step_median_ms[s]});
    steps_total_ms += rows.back().ms;
  }
  auto step_gflops = [](const StepRow& r) { return r.ms > 0 ? 2.0 * static_cast<double>(r.step.macs) / (r.ms * 1e6) : 0.0; };

  if (common.json) {
    nlohmann::json j = {{"model", g.name},
                        {"input", shape},
                        {"batch", o.batch},
                        {"threads", threads},
                        {"iters", o.iters},
                        {"warmup", o.warmup},
                        {"fuse", popts.fuse},
                        {"fuse_blocks", popts.fuse && popts.fuse_blocks},
                        {"fold_batch_norm", popts.fold_batch_norm},
                        {"channels_last", popts.channels_last},
                        {"kernels", popts.use_kernels},
                        {"latency_ms", median},
                        {"p90_ms", p90},
                        {"min_ms", bench.min_ms},
                        {"images_per_s", images_per_s},
                        {"gflops_per_s", gflops},
                        {"peak_bytes", mem.peak_bytes},
                        {"total_bytes", mem.total_bytes},
                        {"macs", summary.macs},
                        {"params", summary.params},
                        {"cpu_features", cpu_features().summary()},
                        {"max_cpu_isa", cpu_isa_name(max_cpu_isa())}};
    if (o.profile) {
      nlohmann::json prof = nlohmann::json::array();
      for (const StepRow& r : rows)
        prof.push_back({{"name", r.step.name},
                        {"op", r.step.op_type},
                        {"kernel", r.step.kernel},
                        {"layouts", step_layouts(r.step)},
                        {"output_shape", r.step.output_shape},
                        {"macs", r.step.macs},
                        {"time_ms", r.ms},
                        {"share", steps_total_ms > 0 ? r.ms / steps_total_ms : 0.0},
                        {"gflops_per_s", step_gflops(r)},
                        {"peak_fraction", step_gflops(r) / peak_gflops}});
      j["profile"] = prof;
      j["peak_gflops_per_s"] = peak_gflops;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::printf("%s: input %s, batch %lld, %d thread%s, %s%s%s\n", g.name.c_str(), shape_str(shape).c_str(),
              static_cast<long long>(o.batch), threads, threads == 1 ? "" : "s",
              popts.use_kernels ? "fast kernels" : "reference kernels",
              popts.fuse ? (popts.fuse_blocks ? ", fused" : ", fused (no blocks)") : "",
              popts.fold_batch_norm ? ", BN folded" : "");
  std::printf("cpu: %s (cap %s)\n", cpu_features().summary().c_str(), cpu_isa_name(max_cpu_isa()));
  std::printf("params %s, MACs %s per image\n", human(static_cast<double>(summary.params), "").c_str(),
              human(static_cast<double>(summary.macs), "").c_str());
  std::printf("latency: median %.3f ms, p90 %.3f ms (%lld iterations after %lld warm-up)\n", median, p90,
              static_cast<long long>(o.iters), static_cast<long long>(o.warmup));
  std::printf("throughput: %.1f images/s, %.1f GFLOP/s (%.0f %% of %.0f peak)\n", images_per_s, gflops,
              100.0 * gflops / peak_gflops, peak_gflops);
  std::printf("activation memory: peak %s (the arena), %s without reuse, %lld values\n",
              human(static_cast<double>(mem.peak_bytes), "B").c_str(),
              human(static_cast<double>(mem.total_bytes), "B").c_str(), static_cast<long long>(mem.values));
  if (!o.profile) return 0;
  std::printf("\n%-36s %-18s %-34s %-9s %10s %6s %9s %6s\n", "step", "op", "kernel", "layouts", "median ms", "share",
              "GFLOP/s", "%peak");
  for (const StepRow& r : rows) {
    std::string name = r.step.name.size() > 36 ? "..." + r.step.name.substr(r.step.name.size() - 33) : r.step.name;
    std::printf("%-36s %-18s %-34s %-9s %10.4f %5.1f%% %9.1f %5.1f%%\n", name.c_str(), r.step.op_type.c_str(),
                r.step.kernel.c_str(), step_layouts(r.step).c_str(), r.ms, steps_total_ms > 0 ? 100.0 * r.ms / steps_total_ms : 0.0, step_gflops(r),
                100.0 * step_gflops(r) / peak_gflops);
  }
  std::printf("steps total %.3f ms of %.3f ms median latency; peak = %.0f GFLOP/s per thread x %d\n", steps_total_ms,
              median, peak_per_thread, threads);
  return 0;
}
}  // namespace

Runner register_bench(CLI::App& app, CommonOptions& common) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time inference of a model: latency, throughput, activation memory, profile");
  cmd->add_option("model_file", o->model_file, "ONNX model (default: the zoo model of --model)");
  add_model_options(*cmd, o->model);
  add_common_options(*cmd, common);
  cmd->add_option("--batch", o->batch, "Images per run")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--iters", o->iters, "Timed runs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-fuse", o->no_fuse, "Do not fuse bias, residual Add and activations into convolutions");
  cmd->add_flag("--no-fuse-blocks", o->no_fuse_blocks,
                "Fuse epilogues but not whole blocks (MobileNetV2's inverted residuals run as three convolutions)");
  cmd->add_flag("--no-fold", o->no_fold, "Do not fold BatchNormalization into the preceding Conv/Gemm");
  cmd->add_flag("--no-channels-last", o->no_channels_last,
                "Keep every activation NCHW (no NHWC between kernels that can share it)");
  cmd->add_flag("--reference", o->reference, "Run every node with its reference kernel (the oracle)");
  cmd->add_flag("--profile", o->profile, "Per-step table: median time, share, GFLOP/s, % of machine peak");
  cmd->footer(
      "The input is random (from --seed). JSON keys: latency_ms (median), p90_ms, min_ms, images_per_s "
      "(batch / median), gflops_per_s, peak_bytes (activation arena), total_bytes (all activations, no reuse), "
      "macs and params (per image), and with --profile a \"profile\" list (time_ms, share, gflops_per_s, "
      "peak_fraction).\n"
      "Examples:\n  leancnn bench --model resnet18 --input 3x224x224 --classes 1000 --threads 2\n"
      "  leancnn bench model.onnx --batch 16 --profile --json");
  return [o, &common] { return run_bench(*o, common); };
}

}  // namespace leancnn::cli
