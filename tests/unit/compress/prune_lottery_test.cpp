// The lottery schedule: the mask comes from the trained weights, the survivors are rewound (to
// given weights, or to the trainer's own checkpoint at rewind_epoch, whose run the retraining
// continues), and the retraining holds the mask.
#include <gtest/gtest.h>

#include <filesystem>

#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "random_images.h"

namespace leancnn::compress::prune {
namespace {

namespace fs = std::filesystem;

ir::Graph small_cnn(uint64_t seed) {
  return models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = seed}, ops::op_table());
}

train::TrainOptions options(const std::string& dir, int64_t epochs) {
  train::TrainOptions o;
  o.epochs = epochs;
  o.batch = 16;
  o.optimizer.lr = 0.05f;
  o.progress = 0;
  o.out_dir = (fs::temp_directory_path() / dir).string();
  fs::remove_all(o.out_dir);
  return o;
}

std::vector<WeightView> weights_of(const ir::Graph& g) {
  std::vector<WeightView> v;
  for (ir::NodeId id : weight_layers(g)) {
    const ir::Node& n = g.node(id);
    v.push_back({n.name, g.value(n.inputs[1]).name, g.value(n.inputs[1]).data});
  }
  return v;
}

// Rewinding to given weights: with a learning rate too small to move anything, the retrained
// ticket is the rewind weights wherever the trained model's magnitude mask keeps a weight, and
// zero elsewhere.
TEST(PruneLottery, SurvivorsAreRewoundToTheGivenWeights) {
  const ir::Graph trained = small_cnn(1), early = small_cnn(2);
  const train::Dataset data = testing::random_blobs(32, 1);
  Spec spec;
  spec.schedule = Schedule::lottery;
  spec.rounds = 1;
  spec.mask.sparsity = 0.7;
  spec.mask.scope = Scope::global;
  spec.rewind_epoch = 1;
  spec.rewind_from = early;
  spec.finetune = options("leancnn_lottery_given", 1);
  spec.finetune.optimizer.lr = 1e-30f;
  spec.finetune.optimizer.momentum = 0.f;
  spec.finetune.optimizer.weight_decay = 0.f;
  const Report r = run(trained, data, data, spec);
  fs::remove_all(spec.finetune.out_dir);
  ASSERT_EQ(r.finetune.size(), 1u);  // no dense training: the input is the trained model
  const std::vector<LayerMask> expected = magnitude_masks(weights_of(trained), spec.mask);
  const std::vector<WeightView> got = weights_of(r.graph), rewind = weights_of(early);
  ASSERT_EQ(got.size(), expected.size());
  int64_t kept = 0;
  for (size_t l = 0; l < got.size(); ++l)
    for (int64_t i = 0; i < got[l].value.numel(); ++i) {
      const float w = got[l].value.data<float>()[i];
      if (expected[l].keep[static_cast<size_t>(i)]) {
        ASSERT_NEAR(w, rewind[l].value.data<float>()[i], 1e-6) << got[l].layer << " " << i;
        ++kept;
      } else {
        ASSERT_EQ(w, 0.f) << got[l].layer << " " << i;
      }
    }
  EXPECT_NEAR(r.sparsity, 0.7, 1e-3);
  EXPECT_GT(kept, 0);
}

// Training from the initialisation with a rewind point: the mask is the magnitude mask of the
// dense model trained by the same options (the trainer is deterministic), and the retraining
// continues the dense run's schedule at the epoch after the rewind point.
TEST(PruneLottery, SelfTrainedRewindsToTheCheckpointAndContinuesItsSchedule) {
  const ir::Graph init = small_cnn(3);
  const train::Dataset data = testing::random_blobs(48, 2);
  Spec spec;
  spec.schedule = Schedule::lottery;
  spec.rounds = 1;
  spec.mask.sparsity = 0.6;
  spec.rewind_epoch = 1;
  spec.finetune = options("leancnn_lottery_self", 3);
  const Report r = run(init, data, data, spec);
  fs::remove_all(spec.finetune.out_dir);
  ASSERT_EQ(r.finetune.size(), 2u);
  ASSERT_EQ(r.finetune[0].epochs.size(), 3u);  // the dense run: epochs 1..3
  ASSERT_EQ(r.finetune[1].epochs.size(), 2u);  // the retraining: epochs 2..3
  EXPECT_EQ(r.finetune[1].epochs[0].epoch, 2);
  EXPECT_DOUBLE_EQ(r.finetune[1].epochs[0].lr, r.finetune[0].epochs[1].lr);
  EXPECT_DOUBLE_EQ(r.finetune[1].epochs[1].lr, r.finetune[0].epochs[2].lr);

  ir::Graph dense = ir::with_own_initializers(init);
  train::TrainOptions o = options("leancnn_lottery_dense", 3);
  train::train_model(dense, ops::op_table(), data, data, o);
  fs::remove_all(o.out_dir);
  const std::vector<LayerMask> expected = magnitude_masks(weights_of(dense), spec.mask);
  const std::vector<WeightView> got = weights_of(r.graph);
  for (size_t l = 0; l < got.size(); ++l)
    for (int64_t i = 0; i < got[l].value.numel(); ++i)
      if (!expected[l].keep[static_cast<size_t>(i)]) {
        ASSERT_EQ(got[l].value.data<float>()[i], 0.f) << got[l].layer;
      }
  EXPECT_NEAR(r.sparsity, 0.6, 1e-3);
  EXPECT_EQ(init.value(init.find_value(got[0].weight)).data.data<float>()[0],
            small_cnn(3).value(init.find_value(got[0].weight)).data.data<float>()[0])
      << "the input model is left as it was";
}

TEST(PruneLottery, RoundsPruneFurtherFromEpochZero) {
  const ir::Graph init = small_cnn(4);
  const train::Dataset data = testing::random_blobs(32, 3);
  Spec spec;
  spec.schedule = Schedule::lottery;
  spec.rounds = 2;
  spec.mask.sparsity = 0.75;
  spec.finetune = options("leancnn_lottery_rounds", 1);
  std::vector<std::string> lines;
  spec.log = [&](const std::string& l) { lines.push_back(l); };
  const Report r = run(init, data, data, spec);
  fs::remove_all(spec.finetune.out_dir);
  EXPECT_EQ(r.finetune.size(), 3u);  // dense + 2 rounds
  EXPECT_NEAR(r.sparsity, 0.75, 1e-3);
  bool half = false;
  for (const std::string& l : lines) half |= l.find("round 1/2, sparsity 0.500") != std::string::npos;
  EXPECT_TRUE(half) << "round 1 of 2 removes 1 - 0.25^(1/2) = 0.5";
}

TEST(PruneLottery, RejectsInconsistentRewinding) {
  const ir::Graph g = small_cnn(5);
  Spec spec;
  spec.schedule = Schedule::lottery;
  spec.finetune = options("leancnn_lottery_bad", 2);
  spec.rewind_epoch = 2;  // not before the end of training
  EXPECT_THROW(check(g, spec), Error);
  spec.rewind_epoch = 1;
  EXPECT_NO_THROW(check(g, spec));
  Spec other = spec;
  other.schedule = Schedule::one_shot;
  other.rewind_from = g;
  EXPECT_THROW(check(g, other), Error);
  spec.rewind_from = models::build_model("small_cnn", {.input = {1, 32, 32}, .classes = 10, .seed = 5}, ops::op_table());
  try {
    check(g, spec);
    FAIL() << "rewind weights of another shape should be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("rewind weights"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace leancnn::compress::prune
