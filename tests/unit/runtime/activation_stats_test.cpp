// Activation density: exact on a hand-made case, below 1 after ReLUs in a real model.
#include <gtest/gtest.h>

#include "leancnn/ir/builder.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/activation_stats.h"

namespace leancnn::runtime {
namespace {

TEST(ActivationStats, CountsNonZerosOfConvInputs) {
  ir::Graph g;
  ir::Builder b(g, ops::op_table(), 1);
  ir::ValueId x = b.input("x", {1, 1, 2, 2});
  ir::ValueId r = b.relu(x);
  b.output(b.conv(r, 1, 1, 1, 0, 1, false, 1, "c"));
  // ReLU of {-1, 2, 0, 3} leaves 2 non-zeros of 4.
  auto d = measure_input_density(g, ops::op_table(), Tensor::from_floats({1, 1, 2, 2}, {-1, 2, 0, 3}));
  ASSERT_EQ(d.count("c"), 1u);
  EXPECT_DOUBLE_EQ(d["c"], 0.5);
}

TEST(ActivationStats, ReluLayersOfAModelAreSparse) {
  ir::Graph g = models::build_model("resnet20", {{1, 28, 28}, 10, 2}, ops::op_table());
  Rng rng(3);
  Tensor images = Tensor::empty({4, 1, 28, 28});
  rng.fill_uniform(images, 0.f, 1.f);
  auto d = measure_input_density(g, ops::op_table(), images);
  EXPECT_EQ(d.size(), 22u);  // 21 convs + fc
  EXPECT_DOUBLE_EQ(d["conv1"], 1.0);  // raw pixels in (0, 1)
  EXPECT_LT(d["layer2.0.conv1"], 0.9);  // after ReLU
  EXPECT_GT(d["layer2.0.conv1"], 0.1);
}

}  // namespace
}  // namespace leancnn::runtime
