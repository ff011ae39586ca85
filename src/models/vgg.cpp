// A small VGG (Simonyan & Zisserman 2015 style, with BN) for 28×28 / 32×32 inputs:
// three stages of two 3×3 conv-BN-ReLU layers (32, 64, 128 channels) with 2×2 max pools,
// then global average pooling and one fully connected layer.
#include "leancnn/ir/builder.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

ir::Graph vgg_small(const ModelConfig& cfg, const ir::OpTable& ops) {
  ir::Graph g;
  g.name = "vgg_small";
  ir::Builder b(g, ops, cfg.seed);
  ir::ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  const int64_t widths[3] = {32, 64, 128};
  for (int stage = 0; stage < 3; ++stage) {
    ir::Builder::Scope s(b, "stage" + std::to_string(stage + 1));
    for (int i = 0; i < 2; ++i) x = b.relu(b.batch_norm(b.conv(x, widths[stage], 3)));
    if (b.shape(x)[2] >= 2) x = b.max_pool(x, 2, 2);
  }
  ir::ValueId logits = b.linear(b.flatten(b.global_avg_pool(x)), cfg.classes, true, "fc");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

}  // namespace leancnn::models
