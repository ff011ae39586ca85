// `leancnn demo`: the built-in default job for now: the summary of a zoo model, then a short
// forward / backward / SGD loop on one fixed random batch, showing the engine learns (the loss
// must fall). Later issues replace it with training on Fashion-MNIST and the full pipeline.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/optimizer.h"

namespace leancnn::cli {

namespace {
struct DemoOptions {
  ModelOptions model{"resnet20", "1x28x28", 10};
  int steps = 30;
  int batch = 32;
  float lr = 0.05f;
  bool reference = false;
};

int run_demo(const DemoOptions& o, const CommonOptions& common) {
  models::ModelConfig cfg{models::parse_chw(o.model.input), o.model.classes, common.seed};
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = models::build_model(o.model.model, cfg, ops);
  ir::Summary summary = ir::summarize(g, ops);
  if (!common.json) std::cout << ir::format_summary(g, summary) << "\n";

  // Training graph: logits -> softmax cross-entropy against a labels input.
  ir::Builder b(g, ops, common.seed);
  const ir::ValueId logits = g.outputs().at(0);
  const ir::ValueId labels = b.input("labels", {1}, DType::s64);
  const ir::ValueId loss = b.op("SoftmaxCrossEntropy", {logits, labels}, {}, 1, ir::kLeancnnDomain, "loss")[0];
  b.output(loss);

  runtime::Executor exec(g, ops, {.training = true, .use_kernels = !o.reference, .seed = common.seed});
  auto sgd = train::make_optimizer(exec.params(), {.kind = "sgd", .lr = o.lr, .momentum = 0.9f});

  Rng rng(common.seed + 1);
  Shape xs = {o.batch, cfg.input[0], cfg.input[1], cfg.input[2]};
  Tensor x = Tensor::empty(xs);
  rng.fill_normal(x, 0.f, 1.f);
  Tensor y = Tensor::empty({o.batch}, DType::s64);
  for (int i = 0; i < o.batch; ++i) y.data<int64_t>()[i] = rng.below(o.model.classes);

  if (!common.json)
    std::cout << "Learning check: " << o.steps << " SGD steps on one fixed random batch of " << o.batch
              << " (labels random: the model must memorise them)\n";
  nlohmann::json curve = nlohmann::json::array();
  float first = 0.f, last = 0.f;
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 1; step <= o.steps; ++step) {
    std::vector<Tensor> out = exec.forward({{"input", x}, {"labels", y}});
    last = out[1].at(0);
    if (!std::isfinite(last)) fail(ErrorKind::runtime, "loss became ", last, " at step ", step);
    if (step == 1) first = last;
    exec.backward(loss);
    sgd->step();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    curve.push_back(last);
    if (!common.json && (step == 1 || step % 5 == 0 || step == o.steps))
      std::printf("  step %3d/%d  loss %.4f  %.0f img/s\n", step, o.steps, last, step * o.batch / secs);
  }
  std::fflush(stdout);
  const bool learned = last < 0.5f * first;
  if (common.json) {
    nlohmann::json j = {{"model", g.name},        {"params", summary.params}, {"macs", summary.macs},
                        {"loss_first", first},    {"loss_last", last},        {"loss_curve", curve},
                        {"learned", learned}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << (learned ? "OK: " : "FAILED: ") << "loss " << first << " -> " << last
              << (learned ? " (fell by more than half)\n" : " (did not fall by half)\n");
  }
  return learned ? 0 : 1;
}
}  // namespace

Runner register_demo(CLI::App& app, CommonOptions& common) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "The built-in default job: model summary + a short SGD loop on random data that must learn");
  add_model_options(*cmd, opts->model);
  add_common_options(*cmd, common);
  cmd->add_option("--steps", opts->steps, "SGD steps")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", opts->batch, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", opts->lr, "Learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--reference", opts->reference, "Use the reference kernels only (slow; the oracle)");
  return [opts, &common] { return run_demo(*opts, common); };
}

}  // namespace leancnn::cli
