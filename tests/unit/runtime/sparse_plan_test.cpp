// Pruned models through inference plans: the sparse kernels take the layers their crossover rule
// gives them (with channels-last sources from dense producers and pools), and the whole plan
// computes the oracle's outputs, for every zoo model at 90 % sparsity.
#include <gtest/gtest.h>

#include "leancnn/core/cpu.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/plan.h"
#include "op_harness.h"
#include "zoo_cases.h"

namespace leancnn::runtime {
namespace {

// Zeroes about 90 % of every Conv/Gemm weight (a seeded random mask).
void prune90(ir::Graph& g, uint64_t seed) {
  Rng rng(seed);
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if ((n.op_type != "Conv" && n.op_type != "Gemm") || n.inputs.size() < 2) continue;
    ir::Value& w = g.value(n.inputs[1]);
    if (!w.is_initializer()) continue;
    w.data = w.data.clone();
    for (int64_t i = 0; i < w.data.numel(); ++i)
      if (rng.uniform() >= 0.1f) w.data.data<float>()[i] = 0.f;
  }
}

class SparsePlans : public ::testing::TestWithParam<std::string> {};

TEST_P(SparsePlans, PrunedZooModelsMatchTheOracle) {
  const std::string name = GetParam();
  ir::Graph g = models::build_model(name, {zoo_cases::input_for(name), 10, 3}, ops::op_table());
  prune90(g, 5);
  Plan fast = Plan::compile(g);
  Plan oracle = Plan::compile(g, {.use_kernels = false});
  for (int64_t batch : {1, 2}) {
    const Tensor x = zoo_cases::pixels(batch, zoo_cases::input_for(name), 7 + batch);
    const Tensor want = oracle.run({x}).at(0), got = fast.run({x}).at(0);
    EXPECT_LE(testing::max_rel_diff(got, want), 1e-4) << name << " batch " << batch;
  }
  int sparse = 0;
  for (const PlanStep& s : fast.steps()) sparse += s.kernel.find("_sparse_") != std::string::npos;
  if (cpu_features().avx2 && cpu_features().fma) {
    EXPECT_GT(sparse, 0) << name << ": no layer ran sparse";
  } else {
    EXPECT_EQ(sparse, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, SparsePlans, ::testing::Values("small_cnn", "resnet20", "resnet18", "mobilenet_v2", "vgg_small"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace leancnn::runtime
