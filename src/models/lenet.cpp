// LeNet-style CNNs: LeNet-5 with ReLU and max pooling (LeCun et al. 1998, modernised as commonly
// trained today), and small_cnn, the wider two-conv CNN of the Keras MNIST example (~4 MMAC at
// 28x28), the "small CNN" of the benchmarks.
#include "leancnn/ir/builder.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

ir::Graph lenet5(const ModelConfig& cfg, const ir::OpTable& ops) {
  ir::Graph g;
  g.name = "lenet5";
  ir::Builder b(g, ops, cfg.seed);
  ir::ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  x = b.max_pool(b.relu(b.conv(x, 6, 5, 1, 2, 1, true, 1, "conv1")), 2, 2);
  x = b.max_pool(b.relu(b.conv(x, 16, 5, 1, 0, 1, true, 1, "conv2")), 2, 2);
  x = b.flatten(x);
  x = b.relu(b.linear(x, 120, true, "fc1"));
  x = b.relu(b.linear(x, 84, true, "fc2"));
  ir::ValueId logits = b.linear(x, cfg.classes, true, "fc3");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

ir::Graph small_cnn(const ModelConfig& cfg, const ir::OpTable& ops) {
  ir::Graph g;
  g.name = "small_cnn";
  ir::Builder b(g, ops, cfg.seed);
  ir::ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  x = b.max_pool(b.relu(b.conv(x, 32, 3, 1, 1, 1, true, 1, "conv1")), 2, 2);
  x = b.max_pool(b.relu(b.conv(x, 64, 3, 1, 1, 1, true, 1, "conv2")), 2, 2);
  x = b.flatten(x);
  x = b.relu(b.linear(x, 128, true, "fc1"));
  ir::ValueId logits = b.linear(x, cfg.classes, true, "fc2");
  g.rename_value(logits, "logits");
  b.output(logits);
  return g;
}

}  // namespace leancnn::models
