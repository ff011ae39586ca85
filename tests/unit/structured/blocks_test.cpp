// Layer (block) pruning: identity residual blocks are found on ResNet-20 and MobileNetV2, and
// removing one equals the dense model with that block's branch silenced (its last BN at γ = β = 0),
// with fewer MACs; the layer criterion reaches a MAC target by removing blocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "leancnn/compress/structured/blocks.h"
#include "leancnn/compress/structured/structured.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"

namespace leancnn::compress::structured {
namespace {

Tensor run(ir::Graph g, const Tensor& x) {
  runtime::Executor exec(g, ops::op_table());
  return exec.forward({{g.value(g.inputs()[0]).name, x}}).at(0);
}

TEST(StructuredBlocks, RemovingABlockEqualsSilencingItsBranch) {
  const std::vector<std::tuple<std::string, Shape, int>> cases = {{"resnet20", {1, 28, 28}, 7}, {"mobilenet_v2", {3, 32, 32}, 10}};
  for (const auto& [name, input, count] : cases) {
    ir::Graph g = models::build_model(name, {.input = input, .classes = 10, .seed = 4}, ops::op_table());
    const std::vector<ResidualBlock> blocks = residual_blocks(g);
    ASSERT_EQ(static_cast<int>(blocks.size()), count) << name;  // identity blocks only (no projection shortcut)
    Tensor x = Tensor::empty({2, input[0], input[1], input[2]});
    Rng(5).fill_uniform(x, 0.f, 1.f);
    std::set<int> every;
    for (int b = 0; b < count; ++b) every.insert(b);
    // One block, the last, and all of them (consecutive blocks: a removed block's shortcut is a removed block's output).
    for (const std::set<int>& which : {std::set<int>{0}, std::set<int>{count - 1}, every}) {
      const int b = *which.begin();
      const ir::Graph pruned = remove_blocks(g, blocks, which);
      EXPECT_LT(ir::summarize(pruned, ops::op_table()).macs, ir::summarize(g, ops::op_table()).macs);
      ir::Graph silenced = ir::with_own_initializers(g);
      for (int s : which) {
        const ir::Node& last = silenced.node(blocks[static_cast<size_t>(s)].branch.back());
        ASSERT_EQ(last.op_type, "BatchNormalization") << name;
        silenced.value(last.inputs[1]).data.zero();
        silenced.value(last.inputs[2]).data.zero();
      }
      const Tensor a = run(silenced, x), c = run(pruned, x);
      float diff = 0;
      for (int64_t i = 0; i < a.numel(); ++i) diff = std::max(diff, std::fabs(a.data<float>()[i] - c.data<float>()[i]));
      EXPECT_LE(diff, 1e-4f) << name << " block " << b;
    }
  }
}

TEST(StructuredBlocks, LayerCriterionRemovesBlocksToTheTarget) {
  const ir::Graph g = models::build_model("resnet56", {.input = {1, 28, 28}, .classes = 10, .seed = 4}, ops::op_table());
  train::Dataset data;
  data.images = Tensor::empty({16, 1, 28, 28}, DType::u8);
  data.labels = Tensor::zeros({16}, DType::s64);
  Rng rng(1);
  for (int64_t i = 0; i < data.images.numel(); ++i) data.images.data<uint8_t>()[i] = static_cast<uint8_t>(rng.below(256));
  Spec spec;
  spec.criterion = Criterion::layer;
  spec.target = 0.3;
  spec.calibration_images = 8;
  const Report r = run(g, data, data, spec);
  EXPECT_LE(static_cast<double>(r.macs_after), 0.7 * static_cast<double>(r.macs_before));
  EXPECT_GE(r.removed_blocks.size(), 5u);
  const auto gone = std::count_if(r.layers.begin(), r.layers.end(), [](const LayerChannels& l) { return l.out_after == 0; });
  EXPECT_EQ(static_cast<size_t>(gone), 2 * r.removed_blocks.size());  // two convs per basic block
  // More than every identity block holds is refused before any work.
  spec.target = 0.95;
  EXPECT_THROW(check(g, spec, 16), Error);
}

}  // namespace
}  // namespace leancnn::compress::structured
