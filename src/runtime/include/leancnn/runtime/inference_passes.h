// Graph rewrites for inference (the plan runs them in this order; quantization and the other
// compressions reuse them). Each leaves a valid graph with the same outputs (names and values,
// up to fp32 rounding) and returns how many rewrites it made. Trainable flags are cleared on
// initializers they rewrite.
#pragma once
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::runtime {

// Dropout (inference: identity) and Identity nodes removed, their consumers rewired; a graph
// output produced by one keeps its name.
int drop_identities(ir::Graph& g, const ir::OpTable& ops);

// Nodes whose inputs are all initializers (or constants) evaluated once with their reference
// and replaced by initializers.
int fold_constants(ir::Graph& g, const ir::OpTable& ops);

// BatchNormalization whose input is produced by a Conv (or a Gemm with transB and a 2-D
// output) read by nothing else: scale/shift folded into the weights and bias (in double),
// the BN node removed. W' = W * s[oc], b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps).
int fold_batch_norm(ir::Graph& g, const ir::OpTable& ops);

// Conv [-> Add(other) ] [-> Relu | Clip | HardSwish] chains, each intermediate read only by the
// next, become one ai.leancnn FusedConv node (docs/ops.md): y = act(conv(X, W) + B + Z).
int fuse_conv_epilogues(ir::Graph& g, const ir::OpTable& ops);

}  // namespace leancnn::runtime
