// The TT-matrix / TR-matrix layer as a chain of standard ONNX ops (docs/decomposition.md):
// Reshape, Transpose and Gemm (no Einsum), so that leancnn's runtime and trainer and ONNX
// Runtime all run it. Private to compress/decompose.
#pragma once
#include <string>
#include <vector>

#include "leancnn/compress/decompose/methods.h"
#include "leancnn/compress/decompose/tensor_train.h"
#include "leancnn/ir/graph.h"

namespace leancnn::compress::decompose {

// MACs per image and parameters (cores + bias) of the chain at these ranks (tensor_train.h's
// convention: TT d - 1 ranks, TR d ranks).
LayerCost tt_chain_cost(const TtModes& modes, const std::vector<int64_t>& ranks, bool ring, bool bias);

// Adds the chain src [B, K] -> dst [B, N] (+ bias [N] when given) holding the cores (trainable
// initializers); returns its nodes in order (the last writes dst).
std::vector<ir::NodeId> add_tt_chain(ir::Graph& g, ir::ValueId src, ir::ValueId dst, ir::ValueId bias,
                                     const TensorTrain& t, const TtModes& modes, const std::string& base);

}  // namespace leancnn::compress::decompose
