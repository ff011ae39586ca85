// Mixed precision: greedy choice under size and latency budgets; the sensitivity driver's table.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/compress/quantize/mixed_precision.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "random_images.h"

namespace leancnn::compress::quantize {
namespace {

SensitivityResult table() {
  SensitivityResult t;
  // name, params, macs, drop
  t.layers.push_back({"a", "Conv", 1000, 100000, 1000, 500, 0, 0.010});
  t.layers.push_back({"b", "Conv", 8000, 800000, 8000, 4000, 0, 0.002});
  t.layers.push_back({"c", "Gemm", 4000, 4000, 4000, 2000, 0, -0.001});
  return t;
}

TEST(MixedPrecision, SizeBudgetPicksTheCheapestDropPerByte) {
  MixedPrecisionOptions o;
  o.budget = 13000 - 2000 - 1;  // all at 8 bits: 13000 bytes; must save more than c alone
  const MixedPrecisionResult r = choose_bits(table(), o);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.layer_bits.at("c"), 4);  // gains accuracy: first
  EXPECT_EQ(r.layer_bits.at("b"), 4);  // 0.002 / 4000 bytes < 0.010 / 500 bytes
  EXPECT_EQ(r.layer_bits.at("a"), 8);
  EXPECT_DOUBLE_EQ(r.cost, 13000 - 2000 - 4000);
  EXPECT_NEAR(r.predicted_drop, 0.001, 1e-12);
  EXPECT_EQ(r.order, (std::vector<std::string>{"c", "b"}));
}

TEST(MixedPrecision, GenerousAndImpossibleBudgets) {
  MixedPrecisionOptions o;
  o.budget = 1e9;
  MixedPrecisionResult r = choose_bits(table(), o);
  EXPECT_TRUE(r.met);
  EXPECT_TRUE(r.order.empty());
  o.budget = 100;  // below all-4-bit (6500 bytes)
  r = choose_bits(table(), o);
  EXPECT_FALSE(r.met);
  for (const auto& [name, bits] : r.layer_bits) EXPECT_EQ(bits, 4) << name;
  o.budget = 0;
  EXPECT_THROW(choose_bits(table(), o), Error);
}

TEST(MixedPrecision, LatencyBudgetUsesMacs) {
  MixedPrecisionOptions o;
  o.kind = BudgetKind::latency;
  o.budget = 0.8 * 8 * (100000 + 800000 + 4000);
  const MixedPrecisionResult r = choose_bits(table(), o);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.layer_bits.at("b"), 4);  // the only layer whose move saves enough MAC-bits
}

train::Dataset blobs(int64_t n, uint64_t seed) { return testing::random_blobs(n, seed); }

TEST(Sensitivity, OneRowPerLayerAndTheChoiceFollows) {
  const ir::Graph g = models::build_model("small_cnn", {{1, 28, 28}, 10, 1}, ops::op_table());
  SensitivityOptions so;
  so.ptq.calib_images = 16;
  const SensitivityResult s = analyze_sensitivity(g, blobs(16, 1), blobs(32, 2), so);
  ASSERT_EQ(s.layers.size(), 4u);
  for (const LayerSensitivity& l : s.layers) {
    EXPECT_GT(l.params, 0);
    EXPECT_GT(l.macs, 0);
    EXPECT_EQ(l.baseline_bytes, l.params);
    EXPECT_EQ(l.probe_bytes, (l.params + 1) / 2);
    EXPECT_NEAR(l.drop, s.baseline_accuracy - l.accuracy, 1e-12);
  }
  MixedPrecisionOptions mo;
  int64_t params = 0;
  for (const auto& l : s.layers) params += l.params;
  mo.budget = 0.75 * static_cast<double>(params);  // between all-4 (0.5) and all-8 (1.0)
  const MixedPrecisionResult m = choose_bits(s, mo);
  EXPECT_TRUE(m.met);
  EXPECT_FALSE(m.order.empty());
}

}  // namespace
}  // namespace leancnn::compress::quantize
