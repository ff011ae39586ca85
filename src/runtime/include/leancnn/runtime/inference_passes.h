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

// MobileNetV2's inverted residual blocks, [1x1 conv] -> depthwise conv -> 1x1 conv as FusedConv /
// Conv nodes (constant weights, each intermediate read only by the next, the residual Add and
// activations already fused), become one ai.leancnn FusedInvertedResidual node where
// leancnn/kernels/inverted_residual_rule.h says fusing pays at the graph's shapes. Runs after
// fuse_conv_epilogues; a plan runs it per input shape.
int fuse_inverted_residuals(ir::Graph& g, const ir::OpTable& ops);

// ai.leancnn Binarize -> Conv (group 1) | Gemm (transB, 1-D C) whose initializer weights are
// binary (each row ±alpha, BatchNormalization folded or not) become one ai.leancnn BinaryConv
// (docs/binarization.md), run by the XNOR-popcount kernels; a Binarize left unread is removed.
// Runs after fold_batch_norm and before fuse_conv_epilogues.
int fuse_binary_layers(ir::Graph& g, const ir::OpTable& ops);

// QDQ patterns DQ(x) -> Conv|Gemm(DQ(W s8), DQ(B s32)) [-> Relu | Clip] -> QuantizeLinear lowered
// to ai.leancnn QLinearFusedConv / QGemm (integer kernels, requantization fused; a Gemm without
// the Q gets an f32 output), DQ(a) + DQ(b) [-> Relu] -> Q to ai.leancnn QAdd (bit-exact),
// DQ(x) -> MaxPool | GlobalAveragePool [-> Flatten | Reshape] -> Q to ai.leancnn QLinearMaxPool
// (bit-exact) / QLinearGlobalAveragePool (within one unit) followed by the shape op on integers,
// DequantizeLinear nodes left unread removed (lower_qdq.cpp,
// docs/int8_runtime.md). Constant UnpackInt4 nodes are unpacked first. Runs before
// fold_constants, which would turn DQ(W) into float weights. Returns the nodes lowered.
int lower_qdq(ir::Graph& g, const ir::OpTable& ops);

}  // namespace leancnn::runtime
