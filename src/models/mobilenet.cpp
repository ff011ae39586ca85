// MobileNetV1 (Howard et al. 2017: depthwise-separable convolutions) and MobileNetV2
// (Sandler et al. 2018: inverted residuals with linear bottlenecks, ReLU6), with width
// multipliers. Channel counts are rounded to multiples of 8 as the reference implementations do.
#include <algorithm>

#include "leancnn/ir/builder.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

namespace {
using ir::Builder;
using ir::ValueId;

// Rounds to the nearest multiple of 8, never going below 90 % of v (torchvision's _make_divisible).
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t r = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (r < 0.9 * v) r += divisor;
  return r;
}

ValueId conv_bn_act(Builder& b, ValueId x, int64_t oc, int64_t k, int64_t stride, int64_t groups, bool relu6,
                    bool act = true) {
  ValueId y = b.batch_norm(b.conv(x, oc, k, stride, -1, groups, false), 1e-5f, 0.9f);
  if (!act) return y;
  return relu6 ? b.clip(y, 0.f, 6.f) : b.relu(y);
}
}  // namespace

ir::Graph mobilenet_v1(const ModelConfig& cfg, const ir::OpTable& ops, double width) {
  ir::Graph g;
  g.name = "mobilenet_v1";
  Builder b(g, ops, cfg.seed);
  ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  auto ch = [&](int64_t c) { return make_divisible(c * width); };
  {
    Builder::Scope s(b, "stem");
    x = conv_bn_act(b, x, ch(32), 3, 2, 1, false);
  }
  // (output channels, stride) of the 13 depthwise-separable blocks.
  const std::pair<int64_t, int64_t> blocks[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},
                                                {512, 2}, {512, 1}, {512, 1}, {512, 1}, {512, 1},
                                                {512, 1}, {1024, 2}, {1024, 1}};
  int i = 0;
  for (auto [oc, stride] : blocks) {
    Builder::Scope s(b, "block" + std::to_string(i++));
    const int64_t c = b.shape(x)[1];
    x = conv_bn_act(b, x, c, 3, stride, c, false);  // depthwise
    x = conv_bn_act(b, x, ch(oc), 1, 1, 1, false);  // pointwise
  }
  ValueId logits = b.linear(b.flatten(b.global_avg_pool(x)), cfg.classes, true, "fc");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

ir::Graph mobilenet_v2(const ModelConfig& cfg, const ir::OpTable& ops, double width) {
  ir::Graph g;
  g.name = "mobilenet_v2";
  Builder b(g, ops, cfg.seed);
  ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  {
    Builder::Scope s(b, "stem");
    x = conv_bn_act(b, x, make_divisible(32 * width), 3, 2, 1, true);
  }
  // (expansion t, output channels c, repeats n, first stride s): Sandler et al., Table 2.
  const int64_t settings[7][4] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int block = 0;
  for (const auto& st : settings) {
    const int64_t oc = make_divisible(st[1] * width);
    for (int64_t r = 0; r < st[2]; ++r) {
      Builder::Scope s(b, "block" + std::to_string(block++));
      const int64_t stride = r == 0 ? st[3] : 1;
      const int64_t ic = b.shape(x)[1], hidden = ic * st[0];
      ValueId y = x;
      if (st[0] != 1) y = conv_bn_act(b, y, hidden, 1, 1, 1, true);  // expand
      y = conv_bn_act(b, y, hidden, 3, stride, hidden, true);         // depthwise
      y = conv_bn_act(b, y, oc, 1, 1, 1, true, false);                // linear bottleneck
      x = (stride == 1 && ic == oc) ? b.add(x, y) : y;
    }
  }
  {
    Builder::Scope s(b, "head");
    x = conv_bn_act(b, x, width > 1.0 ? make_divisible(1280 * width) : 1280, 1, 1, 1, true);
  }
  x = b.dropout(b.flatten(b.global_avg_pool(x)), 0.2f);
  ValueId logits = b.linear(x, cfg.classes, true, "fc");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

}  // namespace leancnn::models
