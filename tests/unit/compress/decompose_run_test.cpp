// The decomposition entry point on zoo models: rank rules, the budget met through the shared
// solver, exclusions, the report's figures against the graph's own summary, fine-tuning.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "leancnn/compress/decompose/decompose.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ir/passes.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "random_images.h"

namespace leancnn::compress::decompose {
namespace {

ir::Graph model(const std::string& name) {
  return models::build_model(name, {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
}

int64_t decomposed(const Report& r) {
  return std::count_if(r.layers.begin(), r.layers.end(), [](const LayerReport& l) { return !l.method.empty(); });
}

TEST(DecomposeRun, RatioRuleDecomposesEveryEligibleLayerAndReportsItsFigures) {
  const ir::Graph g = model("small_cnn");
  Spec spec;
  spec.rank_rule = RankRule::ratio;
  spec.rank_ratio = 0.25;
  spec.keep_first = false;
  const Report r = run(g, {}, {}, spec);
  const ir::Summary s = ir::summarize(r.graph, ops::op_table());
  EXPECT_EQ(r.macs_after, s.macs);
  EXPECT_EQ(r.params_after, s.params);
  EXPECT_LT(r.macs_after, r.macs_before);
  EXPECT_LT(r.params_after, r.params_before);
  int64_t saved = 0;
  for (const LayerReport& l : r.layers) {
    if (l.method.empty()) {
      EXPECT_NE(l.kept_why, "") << l.layer;
      continue;
    }
    EXPECT_GT(l.rel_error, 0) << l.layer;
    EXPECT_LT(l.after.macs, l.before.macs) << l.layer;
    saved += l.before.macs - l.after.macs;
  }
  EXPECT_GE(decomposed(r), 2);
  EXPECT_EQ(r.macs_before - r.macs_after, saved);  // the per-layer figures add up to the model's
  // The input graph is untouched.
  EXPECT_EQ(ir::summarize(g, ops::op_table()).macs, r.macs_before);
}

TEST(DecomposeRun, BudgetRuleMeetsTheMacTargetOnResNet20) {
  const ir::Graph g = model("resnet20");
  for (Method m : {Method::tucker2, Method::channel_svd}) {
    Spec spec;
    spec.conv_method = m;
    spec.rank_rule = RankRule::budget;
    spec.budget_ratio = 0.5;
    const Report r = run(g, {}, {}, spec);
    ASSERT_TRUE(r.budget.has_value());
    EXPECT_TRUE(r.budget->met) << method_name(m);
    EXPECT_LE(r.macs_after, 0.5 * static_cast<double>(r.macs_before)) << method_name(m);
    EXPECT_NEAR(r.budget->cost, static_cast<double>(r.macs_after), 1.0) << method_name(m);
    EXPECT_GT(r.macs_after, 0.3 * static_cast<double>(r.macs_before)) << method_name(m);  // not far past it
    EXPECT_EQ(r.layers.front().kept_why, "first layer kept");
  }
}

// The latency budget times each layer and chain alone (batch 1) and the whole model before and
// after. Timings are not asserted (a loaded machine moves them); what is: every option the
// solver took saves time by its own measurements, the figures are reported, the model runs.
TEST(DecomposeRun, LatencyBudgetTimesLayersAndReportsTheWholeModel) {
  const ir::Graph g = models::build_model("small_cnn", {.input = {1, 16, 16}, .classes = 10, .seed = 3}, ops::op_table());
  Spec spec;
  spec.rank_rule = RankRule::budget;
  spec.budget_unit = CostUnit::latency;
  spec.budget_ratio = 0.9;
  spec.keep_first = false;
  std::vector<std::string> lines;
  spec.log = [&](const std::string& l) { lines.push_back(l); };
  const Report r = run(g, {}, {}, spec);
  ASSERT_TRUE(r.budget.has_value());
  EXPECT_GT(r.budget->start_cost, 0);
  EXPECT_LE(r.budget->cost, r.budget->start_cost);
  EXPECT_GT(r.latency_before_ms, 0);
  EXPECT_GT(r.latency_after_ms, 0);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("latency [", 0) == 0; }));
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("whole model") != std::string::npos; }));
  ir::verify(r.graph, ops::op_table());
}

TEST(DecomposeRun, ExclusionsAndBadSpecs) {
  const ir::Graph g = model("small_cnn");
  Spec spec;
  spec.rank_rule = RankRule::ratio;
  spec.keep_first = false;
  spec.exclude = {g.node(g.topo_order()[0]).name};
  const Report r = run(g, {}, {}, spec);
  EXPECT_EQ(r.layers.front().kept_why, "excluded");
  spec.exclude = {"no_such_layer"};
  EXPECT_THROW(run(g, {}, {}, spec), Error);
  Spec bad;
  bad.conv_method = Method::svd;
  EXPECT_THROW(run(g, {}, {}, bad), Error);
  bad = {};
  bad.rank_rule = RankRule::budget;
  bad.budget_ratio = 1.5;
  EXPECT_THROW(run(g, {}, {}, bad), Error);
  EXPECT_THROW(parse_rank_rule("vbmf?"), Error);
}

TEST(DecomposeRun, MeasuredSensitivityAndFineTuning) {
  const ir::Graph g = model("small_cnn");
  const train::Dataset data = testing::random_blobs(64, 5);
  Spec spec;
  spec.rank_rule = RankRule::budget;
  spec.budget_ratio = 0.7;
  spec.sensitivity = true;
  spec.protocol.images = 16;
  spec.finetune.epochs = 1;
  spec.finetune.batch = 16;
  spec.finetune.progress = 0;
  spec.finetune.out_dir = ::testing::TempDir() + "/decompose_finetune";
  std::filesystem::remove_all(spec.finetune.out_dir);
  std::vector<std::string> lines;
  spec.log = [&](const std::string& l) { lines.push_back(l); };
  const Report r = run(g, data, data, spec);
  EXPECT_TRUE(r.measured_sensitivity);
  EXPECT_EQ(r.sensitivity_images, 16);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("sensitivity [", 0) == 0; }));
  ASSERT_EQ(r.finetune.size(), 1u);
  EXPECT_EQ(r.finetune[0].epochs.size(), 1u);
  EXPECT_TRUE(r.budget->met);
}

}  // namespace
}  // namespace leancnn::compress::decompose
