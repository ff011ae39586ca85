// Graph-rewriting helpers: the one home for the small predicates and edits every pass (the
// runtime's inference passes, the compression families, the ONNX import clean-ups) needs.
#pragma once
#include <vector>

#include "leancnn/ir/graph.h"

namespace leancnn::ir {

// A copy of g whose initializers own their storage. Copying a Graph shares initializer tensors
// (Tensor is a handle), so a pass that edits or trains weights in place starts from this copy to
// leave its input untouched.
Graph with_own_initializers(const Graph& g);

// A live ONNX-domain node ("" or "ai.onnx") of this op type.
bool is_onnx_op(const Node& n, const char* op_type);

bool is_graph_output(const Graph& g, ValueId v);

// The one live node reading v, or kNone when v is a graph output or has no or several readers.
NodeId sole_consumer(const Graph& g, ValueId v);

// Every live node's input slot reading `from` reads `to` instead (graph outputs are unchanged).
void replace_uses(Graph& g, ValueId from, ValueId to);
// The same for every reader but `except` (e.g. the node just inserted after `from`).
void replace_uses_except(Graph& g, ValueId from, ValueId to, NodeId except);

// Drops the data of each initializer in `values` that no live node reads and that is not a
// graph output (what a rewrite left behind), so it is not exported or kept alive.
void release_dead_initializers(Graph& g, const std::vector<ValueId>& values);

// A scalar-like (one element) f32 initializer's value; false when v is absent or not one.
bool scalar_initializer(const Graph& g, ValueId v, float& out);

// The value an activation fused after `layer` writes: the output of the Relu, or of the Clip
// with constant (initializer or omitted) bounds, that is the only reader of the layer's output;
// else (a graph output, several readers, any other op) the layer's own output.
ValueId activated_output(const Graph& g, const Node& layer);

}  // namespace leancnn::ir
