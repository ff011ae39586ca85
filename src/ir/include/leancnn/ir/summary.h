// A torchinfo-like model summary: per node its output shape, parameters and MACs, and totals.
#pragma once
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::ir {

struct SummaryRow {
  std::string name;
  std::string op_type;
  Shape output_shape;
  int64_t params = 0;  // learnable parameters first read by this node
  int64_t macs = 0;
};

struct Summary {
  std::vector<SummaryRow> rows;  // in topological order
  int64_t params = 0;            // learnable parameters (trainable initializers)
  int64_t buffers = 0;           // other initializer elements (e.g. BN running statistics)
  int64_t param_bytes = 0;       // bytes of all initializers
  int64_t macs = 0;
  int64_t activation_elems = 0;  // sum of all node outputs (no reuse)
};

// The graph's shapes must be inferred (ir::infer_shapes).
Summary summarize(const Graph& g, const OpTable& ops);
// A fixed-width text table with totals.
std::string format_summary(const Graph& g, const Summary& s);

}  // namespace leancnn::ir
