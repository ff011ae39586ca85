// Small graph-editing helpers shared by the inference passes (private to the runtime).
#pragma once
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"

namespace leancnn::runtime::detail {

// An ONNX-domain node ("" or "ai.onnx") of this op type.
bool is_onnx_op(const ir::Node& n, const char* op_type);

bool is_graph_output(const ir::Graph& g, ir::ValueId v);

// The one live node reading v, or kNone when v is a graph output or has no or several readers.
ir::NodeId sole_consumer(const ir::Graph& g, ir::ValueId v);

// Every live node's input slot reading `from` reads `to` instead.
void replace_uses(ir::Graph& g, ir::ValueId from, ir::ValueId to);

// Drops the data of each initializer in `values` that no live node reads and that is not a
// graph output (what a rewrite left behind), so it is not exported or kept alive.
void release_dead_initializers(ir::Graph& g, const std::vector<ir::ValueId>& values);

// A scalar-like (one element) f32 initializer's value; false when v is absent or not one.
bool scalar_initializer(const ir::Graph& g, ir::ValueId v, float& out);

}  // namespace leancnn::runtime::detail
