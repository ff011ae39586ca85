// ImageNet-style ResNet-18 (He et al. 2016, Table 1): 7×7/2 stem + 3×3/2 max pool, four stages
// of two basic blocks (64, 128, 256, 512 channels), global average pool, fully connected.
#include "leancnn/ir/builder.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

namespace {
using ir::Builder;
using ir::ValueId;

ValueId conv_bn(Builder& b, ValueId x, int64_t oc, int64_t k, int64_t stride, const std::string& conv, const std::string& bn) {
  return b.batch_norm(b.conv(x, oc, k, stride, -1, 1, false, 1, conv), 1e-5f, 0.9f, bn);
}

ValueId basic_block(Builder& b, ValueId x, int64_t channels, int64_t stride) {
  ValueId y = b.relu(conv_bn(b, x, channels, 3, stride, "conv1", "bn1"));
  y = conv_bn(b, y, channels, 3, 1, "conv2", "bn2");
  ValueId shortcut = x;
  if (stride != 1 || b.shape(x)[1] != channels) {
    Builder::Scope s(b, "downsample");
    shortcut = conv_bn(b, x, channels, 1, stride, "conv", "bn");
  }
  return b.relu(b.add(y, shortcut));
}
}  // namespace

ir::Graph resnet18(const ModelConfig& cfg, const ir::OpTable& ops) {
  ir::Graph g;
  g.name = "resnet18";
  Builder b(g, ops, cfg.seed);
  ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  x = b.max_pool(b.relu(conv_bn(b, x, 64, 7, 2, "conv1", "bn1")), 3, 2, 1);
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage) {
    Builder::Scope s(b, "layer" + std::to_string(stage + 1));
    for (int i = 0; i < 2; ++i) {
      Builder::Scope blk(b, std::to_string(i));
      x = basic_block(b, x, widths[stage], (stage > 0 && i == 0) ? 2 : 1);
    }
  }
  ValueId logits = b.linear(b.flatten(b.global_avg_pool(x)), cfg.classes, true, "fc");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

}  // namespace leancnn::models
