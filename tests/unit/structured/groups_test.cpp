// Structured pruning's dependency groups on every zoo model: removing units leaves a valid,
// smaller graph (fewer parameters and MACs) that computes exactly what the dense model computes
// with the same channels masked to zero (the oracle), on random weights and BN statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "leancnn/compress/structured/groups.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "structured_fixtures.h"

namespace leancnn::compress::structured {
namespace {

ir::Graph randomized(const std::string& name, const Shape& input) {
  ir::Graph g = models::build_model(name, {.input = input, .classes = 10, .seed = 1}, ops::op_table());
  testing::randomize_batch_norms(g);
  return g;
}

Tensor run(ir::Graph g, const Tensor& x) {
  runtime::Executor exec(g, ops::op_table());
  return exec.forward({{g.value(g.inputs()[0]).name, x}}).at(0);
}


struct ZooCase {
  std::string name;
  Shape input;
};

class StructuredZoo : public ::testing::TestWithParam<ZooCase> {};

TEST_P(StructuredZoo, RemovedChannelsEqualTheDenseModelMasked) {
  const ZooCase& c = GetParam();
  const ir::Graph g = randomized(c.name, c.input);
  const ChannelGraph cg = analyze(g);
  ASSERT_FALSE(cg.groups.empty());
  const size_t removable = std::count_if(cg.groups.begin(), cg.groups.end(), [](const Group& gr) { return gr.removable; });
  EXPECT_GE(removable, 1u) << c.name;
  // The classifier's outputs are never removable.
  const int cls = cg.group_of_layer(g.node(g.value(g.outputs()[0]).producer).name);
  if (cls >= 0) {
    EXPECT_FALSE(cg.groups[static_cast<size_t>(cls)].removable);
  }
  Tensor x = Tensor::empty({2, c.input[0], c.input[1], c.input[2]});
  Rng(3).fill_uniform(x, 0.f, 1.f);
  const ir::Summary dense = ir::summarize(g, ops::op_table());
  for (double ratio : {0.3, 0.5}) {
    const std::set<int> removed = testing::first_units(cg, ratio);
    ASSERT_FALSE(removed.empty());
    const ir::Graph pruned = remove_units(g, cg, removed);
    const ir::Summary s = ir::summarize(pruned, ops::op_table());
    EXPECT_LT(s.params, dense.params) << c.name << " at " << ratio;
    EXPECT_LT(s.macs, dense.macs) << c.name << " at " << ratio;
    const Tensor a = run(mask_units(g, cg, removed), x), b = run(pruned, x);
    ASSERT_EQ(a.shape(), b.shape());
    float scale = 0, diff = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      scale = std::max(scale, std::fabs(a.data<float>()[i]));
      diff = std::max(diff, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
    }
    EXPECT_LE(diff, 1e-4f * std::max(1.f, scale)) << c.name << " at " << ratio;
    // And the masked channels matter: the dense model's output differs from the masked one.
    const Tensor d = run(g, x);
    float moved = 0;
    for (int64_t i = 0; i < a.numel(); ++i) moved = std::max(moved, std::fabs(a.data<float>()[i] - d.data<float>()[i]));
    EXPECT_GT(moved, 0.f) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, StructuredZoo,
                         ::testing::Values(ZooCase{"resnet20", {1, 28, 28}}, ZooCase{"resnet56", {1, 28, 28}},
                                           ZooCase{"resnet18", {3, 32, 32}}, ZooCase{"vgg_small", {1, 28, 28}},
                                           ZooCase{"lenet5", {1, 28, 28}}, ZooCase{"small_cnn", {1, 28, 28}},
                                           ZooCase{"mobilenet_v1_0_5", {3, 32, 32}}, ZooCase{"mobilenet_v2", {3, 32, 32}},
                                           ZooCase{"shufflenet_v2_x0_5", {3, 64, 64}}, ZooCase{"squeezenet1_1", {3, 64, 64}}),
                         [](const ::testing::TestParamInfo<ZooCase>& i) { return i.param.name; });

TEST(StructuredGroups, ResidualStreamIsOneGroupAcrossTheStage) {
  const ir::Graph g = randomized("resnet20", {1, 28, 28});
  const ChannelGraph cg = analyze(g);
  // Stage 1: the stem conv and the second conv of each of the 3 blocks write one residual stream.
  bool found = false;
  for (const Group& gr : cg.groups)
    if (gr.sources.size() == 4 && gr.units.size() == 16) found = gr.removable;
  EXPECT_TRUE(found);
  // ResNet-20: 9 block-internal groups + 3 residual streams + the classifier.
  EXPECT_EQ(cg.groups.size(), 13u);
}

TEST(StructuredGroups, RemovingEveryUnitOfAGroupOrABlockedOneIsAUsageError) {
  const ir::Graph g = randomized("small_cnn", {1, 28, 28});
  const ChannelGraph cg = analyze(g);
  const Group& first = cg.groups.front();
  ASSERT_TRUE(first.removable);
  const std::set<int> all(first.units.begin(), first.units.end());
  try {
    remove_units(g, cg, all);
    FAIL() << "removing a whole group must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("would lose all"), std::string::npos) << e.what();
  }
  const Group& last = cg.groups.back();  // the classifier
  ASSERT_FALSE(last.removable);
  EXPECT_THROW(remove_units(g, cg, {last.units.front()}), Error);
}

}  // namespace
}  // namespace leancnn::compress::structured
