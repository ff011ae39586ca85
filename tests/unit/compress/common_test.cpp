// compress/common: the weight layers every family works on, the budget solver (two and more
// options per layer, ties, moves that save nothing) and the shared sensitivity protocol.
#include <gtest/gtest.h>

#include "leancnn/compress/common/budget.h"
#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/common/sensitivity.h"
#include "leancnn/compress/quantize/quantize.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "random_images.h"

namespace leancnn::compress {
namespace {

TEST(WeightLayers, ConvsAndTheContractsGemmsInOrder) {
  const ir::Graph g = models::build_model("small_cnn", {{1, 28, 28}, 10, 1}, ops::op_table());
  const std::vector<ir::NodeId> layers = weight_layers(g);
  ASSERT_EQ(layers.size(), 4u);
  EXPECT_EQ(g.node(layers[0]).op_type, "Conv");
  EXPECT_EQ(g.node(layers[3]).op_type, "Gemm");
}

TEST(BudgetSolver, TakesTheCheapestDropPerUnitFirstUntilTheBudgetIsMet) {
  // a saves 50 for 0.01 (2e-4 per unit), b saves 40 for 0.002 (5e-5), c saves 10 for a gain.
  const std::vector<LayerOptions> layers = {
      {"a", {{"8", 100, 0}, {"4", 50, 0.010}}},
      {"b", {{"8", 80, 0}, {"4", 40, 0.002}}},
      {"c", {{"8", 20, 0}, {"4", 10, -0.001}}},
  };
  const BudgetChoice r = solve_budget(layers, 160);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.order, (std::vector<std::string>{"c", "b"}));
  EXPECT_EQ(r.option, (std::vector<int>{0, 1, 1}));
  EXPECT_DOUBLE_EQ(r.cost, 150);
  EXPECT_DOUBLE_EQ(r.start_cost, 200);
  EXPECT_DOUBLE_EQ(r.least_cost, 100);
  EXPECT_NEAR(r.predicted_drop, 0.001, 1e-12);
  // Unreachable: every layer at its cheapest, not met.
  const BudgetChoice all = solve_budget(layers, 50);
  EXPECT_FALSE(all.met);
  EXPECT_EQ(all.option, (std::vector<int>{1, 1, 1}));
  EXPECT_THROW(solve_budget(layers, 0), Error);
}

TEST(BudgetSolver, WalksSeveralOptionsPerLayerOneStepAtATime) {
  // Prune ratios 0, 0.5, 0.75 of one layer against another's two options; a move that saves
  // nothing is never taken.
  const std::vector<LayerOptions> layers = {
      {"p", {{"0", 100, 0}, {"0.5", 50, 0.001}, {"0.75", 25, 0.05}}},
      {"q", {{"0", 100, 0}, {"0.5", 60, 0.004}}},
      {"z", {{"a", 10, 0}, {"b", 10, 0}}},
  };
  const BudgetChoice r = solve_budget(layers, 130);
  EXPECT_TRUE(r.met);
  // p 0 -> 0.5 (2e-5 per unit), then q (1e-4) rather than p 0.5 -> 0.75 (1.96e-3).
  EXPECT_EQ(r.order, (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(r.option, (std::vector<int>{1, 1, 0}));
  EXPECT_DOUBLE_EQ(r.cost, 120);
  const BudgetChoice deeper = solve_budget(layers, 100);
  EXPECT_EQ(deeper.option, (std::vector<int>{2, 1, 0}));
  EXPECT_NEAR(deeper.predicted_drop, 0.054, 1e-12);
}

train::Dataset blobs(int64_t n, uint64_t seed) { return testing::random_blobs(n, seed); }

TEST(SensitivityProtocol, HoldsOutAtMostHalfTheTrainingSet) {
  const train::Dataset d = blobs(40, 3);
  const SensitivitySplit a = split_for_sensitivity(d, {10, 1});
  EXPECT_EQ(a.held_out.size(), 10);
  EXPECT_EQ(a.fit.size(), 30);
  const SensitivitySplit b = split_for_sensitivity(d, {1000, 1});
  EXPECT_EQ(b.held_out.size(), 20);
  EXPECT_THROW(split_for_sensitivity(blobs(1, 1), {10, 1}), Error);
}

TEST(SensitivityProtocol, OneProbePerLayerWithItsDrop) {
  const ir::Graph g = models::build_model("small_cnn", {{1, 28, 28}, 10, 1}, ops::op_table());
  const train::Dataset held_out = blobs(12, 4);
  const double base = held_out_accuracy(g, held_out);
  int calls = 0;
  const std::vector<LayerProbe> p = probe_layers(
      {"x", "y"}, base + 0.25,
      [&](const std::string&) {
        ++calls;
        return g;
      },
      held_out, "probe", {});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(p[1].layer, "y");
  EXPECT_DOUBLE_EQ(p[0].accuracy, base);
  EXPECT_NEAR(p[0].drop, 0.25, 1e-12);
}

// The quantize family's entry point measures its table on held-out training images and the
// budget picks bits from it; without a budget no table is made unless asked.
TEST(QuantizeRun, SensitivityOnHeldOutImagesAndABudgetFromIt) {
  const ir::Graph g = models::build_model("small_cnn", {{1, 28, 28}, 10, 1}, ops::op_table());
  const train::Dataset train_set = blobs(48, 5);
  quantize::Spec spec;
  spec.ptq.calib_images = 16;
  spec.protocol = {16, 2};
  quantize::Report plain = quantize::run(g, train_set, spec);
  EXPECT_FALSE(plain.sensitivity);
  EXPECT_FALSE(plain.mixed);
  spec.budget_form = quantize::BudgetForm::bytes_ratio_of_fp32;
  spec.budget = 0.2;  // between all-4-bit (0.125) and all-8-bit (0.25) of fp32 bytes
  const quantize::Report r = quantize::run(g, train_set, spec);
  ASSERT_TRUE(r.sensitivity && r.mixed);
  EXPECT_EQ(r.sensitivity_images, 16);
  EXPECT_EQ(r.sensitivity_baseline_bits, 8);
  EXPECT_EQ(r.sensitivity_probe_bits, 4);
  EXPECT_TRUE(r.mixed->met);
  int four = 0;
  for (const quantize::LayerReport& l : r.ptq.layers) four += l.weight_bits == 4;
  EXPECT_EQ(four, static_cast<int>(r.mixed->order.size()));
  EXPECT_GT(four, 0);
  spec.ptq.weight_scheme = quantize::WeightScheme::log2;
  EXPECT_THROW(quantize::run(g, train_set, spec), Error);
}

}  // namespace
}  // namespace leancnn::compress
