// Weight pruning: magnitude masks (layer-wise, global, N:M) against brute-force expectations,
// exclusions, and the schedules through the trainer holding pruned weights at exactly zero.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/error.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "random_images.h"

namespace leancnn::compress::prune {
namespace {

Tensor random_weight(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_uniform(t, -1.f, 1.f);
  return t;
}

int64_t zeros(const Tensor& t) {
  return std::count(t.data<float>(), t.data<float>() + t.numel(), 0.f);
}

TEST(PruneMask, LayerWisePrunesTheSmallestFractionOfEachLayer) {
  const std::vector<WeightView> w = {{"a", "a_w", random_weight({8, 4, 3, 3}, 1)}, {"b", "b_w", random_weight({10, 32}, 2)}};
  const std::vector<Tensor> before = {w[0].value.clone(), w[1].value.clone()};
  const std::vector<LayerMask> m = magnitude_masks(w, {.sparsity = 0.7, .scope = Scope::layer});
  ASSERT_EQ(m.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    const int64_t n = before[l].numel(), pruned = n - m[l].kept;
    EXPECT_EQ(pruned, std::llround(0.7 * n));
    // Every pruned |w| is at most every kept |w|.
    float max_pruned = 0, min_kept = 1e9f;
    for (int64_t i = 0; i < n; ++i) {
      const float a = std::fabs(before[l].data<float>()[i]);
      if (m[l].keep[static_cast<size_t>(i)]) min_kept = std::min(min_kept, a);
      else max_pruned = std::max(max_pruned, a);
    }
    EXPECT_LE(max_pruned, min_kept) << "layer " << l;
  }
  apply_masks(w, m);
  EXPECT_EQ(zeros(w[0].value), 288 - m[0].kept);
  EXPECT_EQ(zeros(w[1].value), 320 - m[1].kept);
  EXPECT_NEAR(mask_sparsity(m), 0.7, 1e-2);
}

TEST(PruneMask, GlobalUsesOneThresholdAcrossLayers) {
  // Layer b's weights are 10x smaller: a global threshold prunes it far more than layer a.
  Tensor small = random_weight({16, 16}, 4);
  for (int64_t i = 0; i < small.numel(); ++i) small.data<float>()[i] *= 0.1f;
  const std::vector<WeightView> w = {{"a", "a_w", random_weight({16, 16}, 3)}, {"b", "b_w", small}};
  const std::vector<LayerMask> m = magnitude_masks(w, {.sparsity = 0.5, .scope = Scope::global});
  EXPECT_EQ(512 - m[0].kept - m[1].kept, 256);
  EXPECT_LT(m[1].kept, m[0].kept / 4);
  float max_pruned = 0, min_kept = 1e9f;
  for (size_t l = 0; l < 2; ++l)
    for (int64_t i = 0; i < 256; ++i) {
      const float a = std::fabs(w[l].value.data<float>()[i]);
      if (m[l].keep[static_cast<size_t>(i)]) min_kept = std::min(min_kept, a);
      else max_pruned = std::max(max_pruned, a);
    }
  EXPECT_LE(max_pruned, min_kept);
}

TEST(PruneMask, TwoOfFourKeepsTheTwoLargestOfEveryGroupOfInputChannels) {
  // [oc 3, ic 10, 2x2]: groups of 4 input channels per (oc, tap), and a short last group of 2.
  const Tensor t = random_weight({3, 10, 2, 2}, 5);
  const std::vector<WeightView> w = {{"c", "c_w", t}};
  const std::vector<LayerMask> m = magnitude_masks(w, {.pattern = Pattern::n_of_m, .n = 2, .m = 4});
  ASSERT_EQ(m[0].skipped, "");
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t tap = 0; tap < 4; ++tap)
      for (int64_t c0 = 0; c0 < 10; c0 += 4) {
        const int64_t len = std::min<int64_t>(4, 10 - c0);
        std::vector<std::pair<float, bool>> group;
        for (int64_t c = c0; c < c0 + len; ++c) {
          const int64_t i = (o * 10 + c) * 4 + tap;
          group.push_back({std::fabs(t.data<float>()[i]), m[0].keep[static_cast<size_t>(i)] != 0});
        }
        const int64_t kept = std::count_if(group.begin(), group.end(), [](auto& g) { return g.second; });
        EXPECT_EQ(kept, std::min<int64_t>(2, len));
        for (auto& a : group)
          for (auto& b : group)
            if (a.second && !b.second) {
              EXPECT_GE(a.first, b.first);
            }
      }
  // A layer with fewer input channels than M stays dense, and says why.
  const std::vector<LayerMask> d = magnitude_masks({{"first", "f_w", random_weight({8, 1, 3, 3}, 6)}},
                                                   {.pattern = Pattern::n_of_m, .n = 2, .m = 4});
  EXPECT_EQ(d[0].kept, 72);
  EXPECT_NE(d[0].skipped.find("fewer than M"), std::string::npos);
}

TEST(PruneMask, RejectsBadOptions) {
  const std::vector<WeightView> w = {{"a", "a_w", random_weight({4, 4}, 7)}};
  EXPECT_THROW(magnitude_masks(w, {.sparsity = 1.0}), Error);
  EXPECT_THROW(magnitude_masks(w, {.sparsity = -0.1}), Error);
  EXPECT_THROW(magnitude_masks(w, {.pattern = Pattern::n_of_m, .n = 4, .m = 4}), Error);
  EXPECT_THROW(parse_scope("everywhere"), Error);
  EXPECT_THROW(parse_schedule("sometimes"), Error);
}

ir::Graph small_cnn() {
  return models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
}

double model_sparsity(const ir::Graph& g) {
  int64_t n = 0, z = 0;
  for (ir::NodeId id : weight_layers(g)) {
    const Tensor& w = g.value(g.node(id).inputs[1]).data;
    n += w.numel();
    z += zeros(w);
  }
  return static_cast<double>(z) / static_cast<double>(n);
}

TEST(Prune, OneShotWithoutFineTuningAndExclusions) {
  const ir::Graph g = small_cnn();
  const std::vector<ir::NodeId> layers = weight_layers(g);
  Spec spec;
  spec.mask.sparsity = 0.8;
  spec.exclude = {g.node(layers.back()).name};
  spec.keep_first = true;
  const train::Dataset data = testing::random_blobs(8, 1);
  const Report r = run(g, data, data, spec);
  ASSERT_EQ(r.layers.size(), layers.size());
  EXPECT_EQ(r.layers.front().skipped, "first layer kept dense");
  EXPECT_EQ(r.layers.back().skipped, "excluded");
  EXPECT_EQ(r.layers.front().kept, r.layers.front().weights);
  for (size_t i = 1; i + 1 < r.layers.size(); ++i) EXPECT_NEAR(r.layers[i].sparsity(), 0.8, 1e-3) << r.layers[i].layer;
  EXPECT_NEAR(model_sparsity(r.graph), r.sparsity, 1e-9);
  EXPECT_TRUE(r.finetune.empty());
  spec.exclude = {"no_such_layer"};
  EXPECT_THROW(run(g, data, data, spec), Error);
}

train::TrainOptions short_finetune(const std::string& dir) {
  train::TrainOptions o;
  o.epochs = 2;
  o.batch = 16;
  o.optimizer.lr = 0.05f;
  o.progress = 0;
  o.out_dir = (std::filesystem::temp_directory_path() / dir).string();
  std::filesystem::remove_all(o.out_dir);
  return o;
}

// After fine-tuning, the pruned weights are still exactly zero (the mask is held after every
// step) and the kept ones have moved.
TEST(Prune, FineTuningHoldsTheMask) {
  const ir::Graph g = small_cnn();
  const train::Dataset data = testing::random_blobs(64, 2);
  Spec prune_only;
  prune_only.mask.sparsity = 0.6;
  prune_only.mask.scope = Scope::global;
  const Report pruned = run(g, data, data, prune_only);
  Spec spec = prune_only;
  spec.finetune = short_finetune("leancnn_prune_test_oneshot");
  const Report tuned = run(g, data, data, spec);
  std::filesystem::remove_all(spec.finetune.out_dir);
  ASSERT_EQ(tuned.finetune.size(), 1u);
  EXPECT_EQ(tuned.finetune[0].epochs.size(), 2u);
  EXPECT_NEAR(tuned.sparsity, 0.6, 1e-3);
  int64_t moved = 0;
  for (ir::NodeId id : weight_layers(tuned.graph)) {
    const Tensor& after = tuned.graph.value(tuned.graph.node(id).inputs[1]).data;
    const Tensor& before = pruned.graph.value(pruned.graph.node(id).inputs[1]).data;
    for (int64_t i = 0; i < after.numel(); ++i) {
      if (before.data<float>()[i] == 0.f) {
        ASSERT_EQ(after.data<float>()[i], 0.f) << "a pruned weight came back";
      }
      moved += after.data<float>()[i] != before.data<float>()[i];
    }
  }
  EXPECT_GT(moved, 0) << "fine-tuning should move the kept weights";
  // The input model is left as it was (regression: copies of a Graph share initializer storage).
  EXPECT_EQ(model_sparsity(g), 0.0);
}

TEST(Prune, IterativeAndGradualReachTheTarget) {
  const ir::Graph g = small_cnn();
  const train::Dataset data = testing::random_blobs(48, 3);
  Spec it;
  it.mask.sparsity = 0.75;
  it.schedule = Schedule::iterative;
  it.rounds = 2;
  it.finetune = short_finetune("leancnn_prune_test_iterative");
  it.finetune.epochs = 1;
  std::vector<std::string> lines;
  it.log = [&](const std::string& l) { lines.push_back(l); };
  const Report ri = run(g, data, data, it);
  std::filesystem::remove_all(it.finetune.out_dir);
  EXPECT_EQ(ri.finetune.size(), 2u);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("sparsity 0.500"), std::string::npos) << lines[0];  // 1 - 0.25^(1/2)
  EXPECT_NEAR(ri.sparsity, 0.75, 1e-3);
  EXPECT_NEAR(model_sparsity(ri.graph), 0.75, 1e-3);

  Spec gr;
  gr.mask.sparsity = 0.5;
  gr.schedule = Schedule::gradual;
  gr.interval = 2;
  gr.ramp = 0.5;
  gr.finetune = short_finetune("leancnn_prune_test_gradual");  // 2 epochs x 3 steps: ramp over 3
  const Report rg = run(g, data, data, gr);
  std::filesystem::remove_all(gr.finetune.out_dir);
  EXPECT_NEAR(rg.sparsity, 0.5, 1e-3);
  EXPECT_NEAR(model_sparsity(rg.graph), 0.5, 1e-3);
  Spec bad = gr;
  bad.finetune.epochs = 0;
  EXPECT_THROW(run(g, data, data, bad), Error);
}

}  // namespace
}  // namespace leancnn::compress::prune
