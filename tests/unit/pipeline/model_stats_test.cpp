// Size figures of a variant: parameters, non-zeros, effective MACs, bit-widths; and the
// latency quantiles shared with `leancnn bench`.
#include <gtest/gtest.h>

#include "leancnn/core/error.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/pipeline/model_stats.h"
#include "leancnn/runtime/benchmark.h"

namespace leancnn::pipeline {
namespace {

ir::Graph small_cnn() { return models::build_model("small_cnn", {{1, 28, 28}, 10, 0}, ops::op_table()); }

TEST(ModelStats, FloatModelMatchesTheSummary) {
  const ir::Graph g = small_cnn();
  const ir::Summary s = ir::summarize(g, ops::op_table());
  const ModelStats st = model_stats(g);
  EXPECT_EQ(st.params, s.params);
  EXPECT_EQ(st.macs, s.macs);
  // Random weights are non-zero; some layers' biases start at zero.
  EXPECT_LE(st.nonzero_params, st.params);
  EXPECT_GE(st.nonzero_params, st.params - (32 + 64 + 128 + 10));
  EXPECT_EQ(st.weight_bits, 32);
  EXPECT_EQ(st.activation_bits, 32);
  EXPECT_FALSE(st.quantized);
  EXPECT_EQ(st.layers.size(), 4u);
}

TEST(ModelStats, ZerosLowerNonzerosAndEffectiveMacs) {
  ir::Graph g = small_cnn();
  const ModelStats dense = model_stats(g);
  // Zero the first half of conv2's weights.
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (n.name != "conv2") continue;
    Tensor w = g.value(n.inputs[1]).data;
    float* p = w.data<float>();
    for (int64_t i = 0; i < w.numel() / 2; ++i) p[i] = 0.f;
    const ModelStats sparse = model_stats(g);
    EXPECT_EQ(sparse.params, dense.params);
    EXPECT_EQ(dense.nonzero_params - sparse.nonzero_params, w.numel() / 2);
    EXPECT_NEAR(sparse.layers.at("conv2").weight_density, 0.5, 1e-9);
    const ir::Summary s = ir::summarize(g, ops::op_table());
    int64_t conv2_macs = 0;
    for (const auto& r : s.rows)
      if (r.name == "conv2") conv2_macs = r.macs;
    EXPECT_EQ(sparse.effective_macs, dense.macs - conv2_macs / 2);
    return;
  }
  FAIL() << "no conv2";
}

TEST(Benchmark, Quantile) {
  EXPECT_DOUBLE_EQ(runtime::quantile({}, 0.5), 0.0);
  EXPECT_DOUBLE_EQ(runtime::quantile({3, 1, 2}, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(runtime::quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(runtime::quantile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.9), 10.0);
  EXPECT_DOUBLE_EQ(runtime::quantile({5, 1}, 0.0), 1.0);
}

TEST(Benchmark, PlanTimings) {
  const ir::Graph g = small_cnn();
  runtime::Plan plan = runtime::Plan::compile(g);
  runtime::BenchmarkOptions o;
  o.iters = 5;
  o.warmup = 1;
  o.profile = true;
  int64_t calls = 0;
  o.progress = [&calls](int64_t done, int64_t total) {
    ++calls;
    EXPECT_LE(done, total);
  };
  const runtime::BenchmarkResult r = runtime::benchmark_plan(plan, {2, 1, 28, 28}, o);
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(r.latency_ms.size(), 5u);
  EXPECT_GT(r.median_ms, 0);
  EXPECT_GE(r.p90_ms, r.median_ms);
  EXPECT_LE(r.min_ms, r.median_ms);
  EXPECT_NEAR(r.images_per_s, 2 / (r.median_ms / 1e3), 1e-6);
  EXPECT_EQ(r.steps.size(), r.step_median_ms.size());
  EXPECT_FALSE(r.steps.empty());
  o.iters = 0;
  EXPECT_THROW(runtime::benchmark_plan(plan, {1, 1, 28, 28}, o), Error);
}

}  // namespace
}  // namespace leancnn::pipeline
