// The zoo: published parameter and MAC counts, any input shape, argument errors.
#include <gtest/gtest.h>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::models {
namespace {

ir::Summary summary_of(const std::string& name, Shape input, int64_t classes) {
  ir::Graph g = build_model(name, {input, classes, 0}, ops::op_table());
  return ir::summarize(g, ops::op_table());
}

TEST(Zoo, ResNet20MatchesThePublishedSize) {
  // He et al. 2016 (Table 6): ResNet-20 has 0.27 M parameters; ≈41 M MACs at 3x32x32.
  ir::Summary s = summary_of("resnet20", {3, 32, 32}, 10);
  EXPECT_NEAR(static_cast<double>(s.params), 0.27e6, 0.01e6);
  EXPECT_NEAR(static_cast<double>(s.macs), 41e6, 1.5e6);
}

TEST(Zoo, DeeperResNetsGrowAsPublished) {
  EXPECT_NEAR(static_cast<double>(summary_of("resnet32", {3, 32, 32}, 10).params), 0.46e6, 0.01e6);
  EXPECT_NEAR(static_cast<double>(summary_of("resnet56", {3, 32, 32}, 10).params), 0.85e6, 0.01e6);
}

TEST(Zoo, ImageNetModelsMatchTorchvisionParameterCounts) {
  // Trainable parameters of the torchvision / Keras reference models at 1000 classes.
  EXPECT_EQ(summary_of("resnet18", {3, 224, 224}, 1000).params, 11689512);
  EXPECT_EQ(summary_of("mobilenet_v2", {3, 224, 224}, 1000).params, 3504872);
  EXPECT_EQ(summary_of("mobilenet_v1", {3, 224, 224}, 1000).params, 4231976);
  EXPECT_EQ(summary_of("shufflenet_v2_x1_0", {3, 224, 224}, 1000).params, 2278604);
  EXPECT_EQ(summary_of("shufflenet_v2_x0_5", {3, 224, 224}, 1000).params, 1366792);
  EXPECT_EQ(summary_of("squeezenet1_1", {3, 224, 224}, 1000).params, 1235496);
}

TEST(Zoo, ImageNetModelsMatchPublishedMacs) {
  // ResNet-18 1.82 G, MobileNetV2 300 M (Sandler et al. Table 4), ShuffleNetV2 1x 146 M (Ma et al.).
  EXPECT_NEAR(summary_of("resnet18", {3, 224, 224}, 1000).macs / 1e9, 1.82, 0.02);
  EXPECT_NEAR(summary_of("mobilenet_v2", {3, 224, 224}, 1000).macs / 1e6, 300, 6);
  EXPECT_NEAR(summary_of("shufflenet_v2_x1_0", {3, 224, 224}, 1000).macs / 1e6, 146, 4);
}

TEST(Zoo, EveryModelBuildsForFashionMnistShapes) {
  for (const auto& e : zoo()) {
    ir::Graph g = build_model(e.name, {{1, 28, 28}, 10, 0}, ops::op_table());
    EXPECT_EQ(g.value(g.outputs()[0]).shape, (Shape{1, 10})) << e.name;
    EXPECT_EQ(g.value(g.outputs()[0]).name, "logits");
  }
}

TEST(Zoo, ClassCountSetsTheHead) {
  ir::Graph g = build_model("lenet5", {{3, 32, 32}, 7, 0}, ops::op_table());
  EXPECT_EQ(g.value(g.outputs()[0]).shape, (Shape{1, 7}));
}

TEST(Zoo, SameSeedSameWeights) {
  ir::Graph a = build_model("lenet5", {{1, 28, 28}, 10, 5}, ops::op_table());
  ir::Graph b = build_model("lenet5", {{1, 28, 28}, 10, 5}, ops::op_table());
  const Tensor& wa = a.value(a.find_value("conv1.weight")).data;
  const Tensor& wb = b.value(b.find_value("conv1.weight")).data;
  for (int64_t i = 0; i < wa.numel(); ++i) ASSERT_EQ(wa.at(i), wb.at(i));
}

TEST(Zoo, BadArgumentsAreUsageErrors) {
  EXPECT_THROW(zoo_entry("resnet21"), Error);
  EXPECT_THROW(parse_chw("3x32"), Error);
  EXPECT_THROW(parse_chw("3x0x32"), Error);
  EXPECT_THROW(parse_chw("axbxc"), Error);
  EXPECT_EQ(parse_chw("1x28x28"), (Shape{1, 28, 28}));
  try {
    zoo_entry("nope");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("resnet20"), std::string::npos);
  }
}

}  // namespace
}  // namespace leancnn::models
