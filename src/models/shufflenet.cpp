// ShuffleNetV2 (Ma et al. 2018) at 0.5× and 1×: channel split, a branch of 1×1 → 3×3
// depthwise → 1×1 convolutions, concatenation and channel shuffle (Reshape-Transpose-Reshape).
#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

namespace {
using ir::Builder;
using ir::ValueId;

ValueId conv_bn(Builder& b, ValueId x, int64_t oc, int64_t k, int64_t stride, int64_t groups, bool relu) {
  ValueId y = b.batch_norm(b.conv(x, oc, k, stride, -1, groups, false), 1e-5f, 0.9f);
  return relu ? b.relu(y) : y;
}

// Interleaves the channels of two groups: [N, 2, C/2, H, W] -> transpose -> [N, C, H, W].
ValueId channel_shuffle(Builder& b, ValueId x) {
  const Shape s = b.shape(x);
  ValueId y = b.reshape(x, {0, 2, s[1] / 2, s[2], s[3]});
  y = b.transpose(y, {0, 2, 1, 3, 4});
  return b.reshape(y, {0, s[1], s[2], s[3]});
}

ValueId branch(Builder& b, ValueId x, int64_t oc, int64_t stride) {
  ValueId y = conv_bn(b, x, oc, 1, 1, 1, true);
  y = conv_bn(b, y, oc, 3, stride, oc, false);
  return conv_bn(b, y, oc, 1, 1, 1, true);
}

ValueId unit(Builder& b, ValueId x, int64_t oc, int64_t stride) {
  const int64_t half = oc / 2;
  ValueId y;
  if (stride == 1) {
    const int64_t c = b.shape(x)[1];
    std::vector<ValueId> parts = b.split(x, {c / 2, c - c / 2}, 1);
    Builder::Scope s(b, "branch2");
    y = b.concat({parts[0], branch(b, parts[1], half, 1)}, 1);
  } else {
    const int64_t ic = b.shape(x)[1];
    ValueId left;
    {
      Builder::Scope s(b, "branch1");
      left = conv_bn(b, x, ic, 3, stride, ic, false);
      left = conv_bn(b, left, half, 1, 1, 1, true);
    }
    Builder::Scope s(b, "branch2");
    y = b.concat({left, branch(b, x, half, stride)}, 1);
  }
  return channel_shuffle(b, y);
}
}  // namespace

ir::Graph shufflenet_v2(const ModelConfig& cfg, const ir::OpTable& ops, double width) {
  std::vector<int64_t> ch;
  if (width == 0.5)
    ch = {24, 48, 96, 192, 1024};
  else if (width == 1.0)
    ch = {24, 116, 232, 464, 1024};
  else
    fail(ErrorKind::usage, "ShuffleNetV2 width must be 0.5 or 1.0");
  ir::Graph g;
  g.name = width == 0.5 ? "shufflenet_v2_x0_5" : "shufflenet_v2_x1_0";
  Builder b(g, ops, cfg.seed);
  ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  {
    Builder::Scope s(b, "conv1");
    x = conv_bn(b, x, ch[0], 3, 2, 1, true);
  }
  if (b.shape(x)[2] >= 3) x = b.max_pool(x, 3, 2, 1);
  const int repeats[3] = {4, 8, 4};
  for (int stage = 0; stage < 3; ++stage) {
    Builder::Scope s(b, "stage" + std::to_string(stage + 2));
    for (int i = 0; i < repeats[stage]; ++i) {
      Builder::Scope u(b, std::to_string(i));
      x = unit(b, x, ch[stage + 1], i == 0 ? 2 : 1);
    }
  }
  {
    Builder::Scope s(b, "conv5");
    x = conv_bn(b, x, ch[4], 1, 1, 1, true);
  }
  ValueId logits = b.linear(b.flatten(b.global_avg_pool(x)), cfg.classes, true, "fc");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

}  // namespace leancnn::models
