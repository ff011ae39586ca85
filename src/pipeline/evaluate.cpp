// Evaluations of a variant (evaluate.h): accuracy (the deployed plan, and for QDQ models the
// fake-quant executor and their agreement), size, CPU latency, accelerator cost per preset.
#include "leancnn/pipeline/evaluate.h"

#include <filesystem>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/network.h"
#include "leancnn/accel/workload.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/io/gzip.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/pipeline/model_stats.h"
#include "leancnn/pipeline/progress.h"
#include "leancnn/runtime/benchmark.h"
#include "leancnn/runtime/plan.h"
#include "leancnn/train/predict.h"

namespace leancnn::pipeline {

Json evaluate_size(const ir::Graph& g, const std::string& model_file) {
  const ModelStats st = model_stats(g);
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& [name, lb] : st.layers)
    layers.push_back({{"name", name}, {"weight_bits", lb.weight_bits}, {"input_bits", lb.input_bits},
                      {"weight_density", lb.weight_density}});
  return from_native({{"params", st.params},
                      {"nonzero_params", st.nonzero_params},
                      {"bytes", static_cast<int64_t>(std::filesystem::file_size(model_file))},
                      // Deep Compression's coding stage: what `leancnn export MODEL -o M.onnx.gz` writes
                      {"gzip_bytes", static_cast<int64_t>(io::gzip(io::read_file(model_file)).size())},
                      {"macs", st.macs},
                      {"effective_macs", st.effective_macs},
                      {"weight_bits", st.weight_bits},
                      {"activation_bits", st.activation_bits},
                      {"quantized", st.quantized},
                      {"layer_bits", layers}});
}

Json evaluate_latency(const ir::Graph& g, const Json& settings, uint64_t seed, bool progress, const std::string& label) {
  const nlohmann::json& l = native(settings);
  // The threads are the plan's own (PlanOptions::threads): no process-wide setting changes.
  runtime::PlanOptions po;
  const int64_t threads = l["threads"];
  po.threads = threads > 0 ? static_cast<int>(threads) : num_cores();
  nlohmann::json out;
  {
    runtime::Plan plan = runtime::Plan::compile(g, po);
    Shape shape = g.value(g.inputs().at(0)).shape;
    shape[0] = l["batch"];
    runtime::BenchmarkOptions o;
    o.iters = l["iters"];
    o.warmup = l["warmup"];
    o.profile = l["profile"];
    o.seed = seed;
    Progress bar(str_cat("  ", label, ": latency"), o.iters + o.warmup, progress);
    o.progress = [&bar](int64_t done, int64_t) { bar.update(done); };
    // Profiling adds a clock read per step; time the totals without it, then profile separately.
    const bool profile = o.profile;
    o.profile = false;
    const runtime::BenchmarkResult r = runtime::benchmark_plan(plan, shape, o);
    out = {{"latency_ms", r.median_ms}, {"p90_ms", r.p90_ms},       {"min_ms", r.min_ms},
           {"images_per_s", r.images_per_s}, {"latency_batch", shape[0]}, {"latency_threads", po.threads},
           {"latency_iters", o.iters}};
    nlohmann::json layers = nlohmann::json::array();
    if (profile) {
      o.profile = true;
      o.warmup = 1;
      o.progress = nullptr;
      const runtime::BenchmarkResult p = runtime::benchmark_plan(plan, shape, o);
      for (size_t i = 0; i < p.steps.size(); ++i)
        layers.push_back({{"name", p.steps[i].name}, {"op", p.steps[i].op_type}, {"kernel", p.steps[i].kernel},
                          {"macs", p.steps[i].macs}, {"time_ms", p.step_median_ms[i]}});
    }
    out["latency_layers"] = layers;
  }
  return from_native(std::move(out));
}

Json evaluate_accel(const ir::Graph& g, const Json& settings) {
  const nlohmann::json& a = native(settings);
  // f32 layers are modelled at 16 bits (accelerators run fp16/int16), quantized ones at their
  // stored widths and densities (extract_workload reads them through the op schemas).
  const std::vector<accel::Problem> layers = accel::extract_workload(g, ops::op_table());
  accel::NetworkOptions nopts;
  nopts.mapper.objective = accel::parse_objective(a["objective"]);
  nopts.template_only = a["template"];
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : a["presets"]) {
    const accel::Architecture arch = accel::preset(name);
    const accel::NetworkCost n = accel::evaluate_network(layers, arch, nopts);
    nlohmann::json per = nlohmann::json::array();
    for (const accel::LayerCost& lc : n.layers)
      per.push_back({{"name", lc.problem.name}, {"macs", lc.cost.macs}, {"cycles", lc.cost.cycles},
                     {"energy_pj", lc.cost.energy_pj}, {"utilization", lc.cost.utilization},
                     {"weight_bits", lc.problem.bits[0]}, {"input_bits", lc.problem.bits[1]}});
    out.push_back({{"preset", name},
                   {"dataflow", accel::dataflow_name(n.dataflow)},
                   {"mac_units", n.num_macs},
                   {"cycles", n.cycles},
                   {"energy_pj", n.energy_pj},
                   {"energy_per_mac_pj", n.energy_per_mac()},
                   {"utilization", n.utilization()},
                   {"layers", per}});
  }
  return from_native(std::move(out));
}

Json evaluate_variant(const ir::Graph& g, const std::string& model_file, const Json& evaluate, const EvaluateContext& ctx) {
  const nlohmann::json& e = native(evaluate);
  Json result = evaluate_size(g, model_file);
  nlohmann::json& out = native(result);
  if (e["accuracy"].get<bool>()) {
    const train::Dataset& test = ctx.test_set();
    const int64_t limit = e["limit_test"].get<int64_t>() > 0 ? std::min(e["limit_test"].get<int64_t>(), test.size()) : test.size();
    train::Predictions plan;
    {
      Progress bar(str_cat("  ", ctx.label, ": accuracy"), limit, ctx.progress);
      plan = train::predict(g, test, train::Engine::plan, limit, 250, [&bar](int64_t done, int64_t) { bar.update(done); });
    }
    out["test_acc"] = plan.accuracy;
    out["test_images"] = limit;
    if (out["quantized"].get<bool>()) {
      // The QDQ contract: the deployed integer model must agree with its fake-quant form.
      Progress bar(str_cat("  ", ctx.label, ": fake-quant accuracy"), limit, ctx.progress);
      const train::Predictions fq =
          train::predict(g, test, train::Engine::executor, limit, 250, [&bar](int64_t done, int64_t) { bar.update(done); });
      out["fake_quant_acc"] = fq.accuracy;
      out["top1_agreement"] = train::agreement(plan, fq);
    }
  }
  if (!e["latency"].is_null()) {
    const Json latency = evaluate_latency(g, from_native(e["latency"]), ctx.seed, ctx.progress, ctx.label);
    const nlohmann::json& l = native(latency);
    for (auto it = l.begin(); it != l.end(); ++it) out[it.key()] = it.value();
  }
  if (!e["accel"].is_null()) out["accel"] = native(evaluate_accel(g, from_native(e["accel"])));
  return result;
}

}  // namespace leancnn::pipeline
