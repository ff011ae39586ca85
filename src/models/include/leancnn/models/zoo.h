// The model zoo: every model is built for any input shape (C×H×W) and class count, from a
// seed, as an ir::Graph with one input "input" [1, C, H, W] and one output "logits" [1, K]
// (the batch dim is 1 in the graph; executors accept any batch).
#pragma once
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::models {

struct ModelConfig {
  Shape input = {3, 32, 32};  // C, H, W
  int64_t classes = 10;
  uint64_t seed = 0;
};

struct ZooEntry {
  std::string name;         // e.g. "resnet20"
  std::string description;  // one line for --help and `leancnn info --list`
  ir::Graph (*build)(const ModelConfig&, const ir::OpTable&);
};

// Every model, in display order.
const std::vector<ZooEntry>& zoo();
// Throws Error(usage) listing the known names when absent.
const ZooEntry& zoo_entry(const std::string& name);
// Builds, infers shapes and verifies.
ir::Graph build_model(const std::string& name, const ModelConfig& cfg, const ir::OpTable& ops);

// "3x32x32" -> {3, 32, 32}; throws Error(usage) on anything else.
Shape parse_chw(const std::string& text);

}  // namespace leancnn::models
