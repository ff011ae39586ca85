// Whole-graph passes that need the op table: shape inference and the verifier.
#pragma once
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::ir {

// The inferred output types of one node from its inputs' current types.
std::vector<TensorType> infer_node(const Graph& g, const OpTable& ops, const Node& n);

// Infers the shape and dtype of every value produced by a live node, in topological order.
// Throws Error(bad_input) with the node as context when an op rejects its inputs.
void infer_shapes(Graph& g, const OpTable& ops);

// Checks that the graph is well formed and throws Error(bad_input) on the first problem:
// dangling values (read but never produced), cycles, unknown ops or attributes, wrong arity,
// values produced twice, and stored shapes that disagree with shape inference.
void verify(const Graph& g, const OpTable& ops);

}  // namespace leancnn::ir
