// Per-layer pruning fractions: explicit maps, the Gaussian-mixture rule (fit against a known
// mixture, shares scaled to the target) and the sensitivity rule (probes on the shared protocol,
// the budget solver's choice meeting the target in each unit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "random_images.h"

namespace leancnn::compress::prune {
namespace {

// n weights: a fraction `small` from N(0, 0.01^2), the rest from N(0, 1), shuffled by the seed.
Tensor mixture(int64_t n, double small, uint64_t seed) {
  Tensor t = Tensor::empty({n / 16, 16});
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = rng.uniform() < small ? rng.normal(0.f, 0.01f) : rng.normal(0.f, 1.f);
  return t;
}

TEST(PruneGmm, FitRecoversAKnownScaleMixture) {
  const Tensor w = mixture(32000, 0.7, 11);
  const GmmSplit s = fit_gmm_split(w.data<float>(), w.numel());
  EXPECT_NEAR(s.pi_small, 0.7, 0.03);
  EXPECT_NEAR(s.sigma_small, 0.01, 0.002);
  EXPECT_NEAR(s.sigma_large, 1.0, 0.05);
  // The crossing point separates the components: a few large-component weights fall below it.
  EXPECT_GT(s.threshold, 3 * 0.01);
  EXPECT_LT(s.threshold, 0.1);
  EXPECT_NEAR(s.share, 0.7, 0.03);
  int64_t below = 0;
  for (int64_t i = 0; i < w.numel(); ++i) below += std::fabs(w.data<float>()[i]) < s.threshold;
  EXPECT_EQ(static_cast<double>(below) / static_cast<double>(w.numel()), s.share);
}

TEST(PruneGmm, RatiosFollowTheSharesAndMeetTheTarget) {
  const std::vector<WeightView> w = {{"a", "a_w", mixture(16000, 0.7, 12)}, {"b", "b_w", mixture(8000, 0.2, 13)}};
  const GmmRatios r = gmm_ratios(w, 0.4);
  ASSERT_EQ(r.splits.size(), 2u);
  const double ra = r.layer_sparsity.at("a"), rb = r.layer_sparsity.at("b");
  EXPECT_GT(ra, rb);
  EXPECT_NEAR(ra / rb, r.splits[0].share / r.splits[1].share, 1e-6);  // one factor on every share
  EXPECT_NEAR((16000 * ra + 8000 * rb) / 24000, 0.4, 1e-6);
  // Through the masks: each layer loses its own fraction.
  Spec spec;
  spec.mask.sparsity = 0.4;
  spec.mask.layer_sparsity = r.layer_sparsity;
  const std::vector<LayerMask> m = magnitude_masks(w, spec.mask);
  EXPECT_NEAR(1.0 - static_cast<double>(m[0].kept) / 16000, ra, 1e-3);
  EXPECT_NEAR(1.0 - static_cast<double>(m[1].kept) / 8000, rb, 1e-3);
  EXPECT_THROW(gmm_ratios(w, 1.0), Error);
}

ir::Graph small_cnn() {
  return models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
}

TEST(PruneRatios, ExplicitLayerSparsityOverridesTheUniformFraction) {
  const ir::Graph g = small_cnn();
  const std::vector<std::string> layers = prunable_layers(g);
  ASSERT_GE(layers.size(), 3u);
  Spec spec;
  spec.mask.sparsity = 0.5;
  spec.mask.layer_sparsity = {{layers[0], 0.1}, {layers[1], 0.9}};
  const train::Dataset data = testing::random_blobs(8, 1);
  const Report r = run(g, data, data, spec);
  EXPECT_NEAR(r.layers[0].sparsity(), 0.1, 2e-3);
  EXPECT_NEAR(r.layers[1].sparsity(), 0.9, 2e-3);
  EXPECT_NEAR(r.layers[2].sparsity(), 0.5, 2e-3);  // not listed: the uniform fraction
  EXPECT_DOUBLE_EQ(r.layers[1].target, 0.9);
  // Bad input, caught by check() before any work: each names its field.
  auto message = [&](const Spec& s) {
    try {
      check(g, s);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  Spec bad = spec;
  bad.mask.layer_sparsity = {{"conv9", 0.3}};
  EXPECT_NE(message(bad).find("layer_sparsity: 'conv9'"), std::string::npos) << message(bad);
  bad.mask.layer_sparsity = {{layers[0], 1.0}};
  EXPECT_NE(message(bad).find("must be in [0, 1)"), std::string::npos) << message(bad);
  bad = spec;
  bad.ratio_rule = RatioRule::gmm;
  EXPECT_NE(message(bad).find("one or the other"), std::string::npos) << message(bad);
  Spec probes;
  probes.ratio_rule = RatioRule::sensitivity;
  probes.probe_ratios = {0.5, 1.0};
  EXPECT_NE(message(probes).find("probe_ratios: 1 must be in (0, 1)"), std::string::npos) << message(probes);
  bad = spec;
  bad.exclude = {"fc9"};
  EXPECT_NE(message(bad).find("exclude: 'fc9'"), std::string::npos) << message(bad);
}

TEST(PruneRatios, SensitivityChoiceMeetsTheTargetInEachUnit) {
  const ir::Graph g = small_cnn();
  const train::Dataset data = testing::random_blobs(96, 4);
  ir::Graph shaped = g;
  ir::infer_shapes(shaped, ops::op_table());
  const ir::Summary summary = ir::summarize(shaped, ops::op_table());
  for (BudgetTarget target : {BudgetTarget::sparsity, BudgetTarget::params, BudgetTarget::macs}) {
    Spec spec;
    spec.mask.sparsity = 0.6;
    spec.ratio_rule = RatioRule::sensitivity;
    spec.target = target;
    spec.probe_ratios = {0.5, 0.9, 0.7};
    spec.protocol = {32, 5};
    std::vector<std::string> lines;
    spec.log = [&](const std::string& l) { lines.push_back(l); };
    const Report r = run(g, data, data, spec);
    ASSERT_TRUE(r.sensitivity) << budget_target_name(target);
    const SensitivityRatios& s = *r.sensitivity;
    EXPECT_EQ(s.images, 32);
    ASSERT_EQ(s.layers.size(), r.layers.size());
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("sensitivity [", 0) == 0; }),
              static_cast<long>(3 * r.layers.size()));
    // Recompute the chosen cost from the layers as pruned, in the target's unit.
    double cost = 0, dense = 0;
    for (size_t i = 0; i < r.layers.size(); ++i) {
      const RatioProbe& p = s.layers[i];
      EXPECT_EQ(p.ratios, (std::vector<double>{0.5, 0.7, 0.9}));
      ASSERT_EQ(p.drops.size(), 3u);
      const std::set<double> allowed = {0.0, 0.5, 0.7, 0.9};
      EXPECT_TRUE(allowed.count(p.chosen)) << p.chosen;
      EXPECT_NEAR(r.layers[i].sparsity(), p.chosen, 2e-3) << p.layer;
      const double unit = static_cast<double>(target == BudgetTarget::macs ? p.macs : p.weights);
      cost += unit * (1 - r.layers[i].sparsity());
      dense += unit;
    }
    const double model_total = target == BudgetTarget::sparsity ? dense
                               : target == BudgetTarget::macs   ? static_cast<double>(summary.macs)
                                                                : static_cast<double>(summary.params);
    cost += model_total - dense;
    EXPECT_TRUE(s.met) << budget_target_name(target);
    EXPECT_LE(cost, 0.4 * model_total * (1 + 1e-3)) << budget_target_name(target);
    EXPECT_NEAR(cost, s.cost, 0.002 * model_total);
  }
}

}  // namespace
}  // namespace leancnn::compress::prune
