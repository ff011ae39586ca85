// The layers every compression family works on: a Conv, or a Gemm in the contract's form
// (weights [N, K] read transposed, alpha = beta = 1, no transA), whose weight is an f32
// initializer and whose input 0 is f32.
#pragma once
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"

namespace leancnn::compress {

bool is_weight_layer(const ir::Graph& g, const ir::Node& n);

// The weight layers' node ids, in topological order.
std::vector<ir::NodeId> weight_layers(const ir::Graph& g);

}  // namespace leancnn::compress
