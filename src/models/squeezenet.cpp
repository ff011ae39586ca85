// SqueezeNet 1.1 (Iandola et al. 2016, and the v1.1 revision): fire modules (1×1 squeeze,
// then parallel 1×1 and 3×3 expands concatenated), conv classifier, global average pool.
#include "leancnn/ir/builder.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

namespace {
using ir::Builder;
using ir::ValueId;

ValueId fire(Builder& b, ValueId x, int64_t squeeze, int64_t expand) {
  ValueId s = b.relu(b.conv(x, squeeze, 1, 1, 0, 1, true, 1, "squeeze"));
  ValueId e1 = b.relu(b.conv(s, expand, 1, 1, 0, 1, true, 1, "expand1x1"));
  ValueId e3 = b.relu(b.conv(s, expand, 3, 1, 1, 1, true, 1, "expand3x3"));
  return b.concat({e1, e3}, 1);
}
}  // namespace

ir::Graph squeezenet1_1(const ModelConfig& cfg, const ir::OpTable& ops) {
  ir::Graph g;
  g.name = "squeezenet1_1";
  Builder b(g, ops, cfg.seed);
  ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  x = b.relu(b.conv(x, 64, 3, 2, 0, 1, true, 1, "conv1"));
  // 3×3/2 max pools with ceil_mode, as the reference model; skipped once the map is smaller
  // than the window (small inputs such as 28×28).
  auto pool = [&](ValueId v) { return b.shape(v)[2] >= 3 ? b.max_pool(v, 3, 2, 0, true) : v; };
  x = pool(x);
  const int64_t fires[8][2] = {{16, 64}, {16, 64}, {32, 128}, {32, 128}, {48, 192}, {48, 192}, {64, 256}, {64, 256}};
  for (int i = 0; i < 8; ++i) {
    Builder::Scope s(b, "fire" + std::to_string(i + 2));
    x = fire(b, x, fires[i][0], fires[i][1]);
    if (i == 1 || i == 3) x = pool(x);
  }
  x = b.dropout(x, 0.5f);
  x = b.relu(b.conv(x, cfg.classes, 1, 1, 0, 1, true, 1, "classifier"));
  ValueId logits = b.flatten(b.global_avg_pool(x));
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

}  // namespace leancnn::models
