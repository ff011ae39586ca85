// CIFAR-style ResNet-20/32/56 (He et al., "Deep Residual Learning", §4.2).
#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

namespace {
using ir::Builder;
using ir::ValueId;

ValueId basic_block(Builder& b, ValueId x, int64_t channels, int64_t stride) {
  const int64_t in_channels = b.shape(x)[1];
  ValueId y = b.relu(b.batch_norm(b.conv(x, channels, 3, stride, 1, 1, false, 1, "conv1"), 1e-5f, 0.9f, "bn1"));
  y = b.batch_norm(b.conv(y, channels, 3, 1, 1, 1, false, 1, "conv2"), 1e-5f, 0.9f, "bn2");
  ValueId shortcut = x;
  if (stride != 1 || in_channels != channels) {
    // Projection shortcut (option B); ≈2.7 K more parameters than the paper's zero-padding
    // option A, and expressible with standard ONNX ops.
    Builder::Scope s(b, "downsample");
    shortcut = b.batch_norm(b.conv(x, channels, 1, stride, 0, 1, false, 1, "conv"), 1e-5f, 0.9f, "bn");
  }
  return b.relu(b.add(y, shortcut));
}
}  // namespace

ir::Graph resnet_cifar(const ModelConfig& cfg, const ir::OpTable& ops, int depth) {
  if ((depth - 2) % 6 != 0 || depth < 8) fail(ErrorKind::usage, "ResNet depth must be 6n+2 (20, 32, 56, ...), got ", depth);
  const int n = (depth - 2) / 6;
  ir::Graph g;
  g.name = "resnet" + std::to_string(depth);
  Builder b(g, ops, cfg.seed);
  ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  x = b.relu(b.batch_norm(b.conv(x, 16, 3, 1, 1, 1, false, 1, "conv1"), 1e-5f, 0.9f, "bn1"));
  const int64_t widths[3] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    Builder::Scope s(b, "layer" + std::to_string(stage + 1));
    for (int i = 0; i < n; ++i) {
      Builder::Scope blk(b, std::to_string(i));
      x = basic_block(b, x, widths[stage], (stage > 0 && i == 0) ? 2 : 1);
    }
  }
  x = b.flatten(b.global_avg_pool(x));
  ValueId logits = b.linear(x, cfg.classes, true, "fc");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

}  // namespace leancnn::models
