// Gemm (ONNX): Y = alpha * A' * B' + beta * C. Geometry from attributes, and the reference
// forward/backward that every fast gemm kernel is tested against.
#pragma once
#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

struct GemmGeometry {
  int64_t m = 0, n = 0, k = 0;  // A' is [M, K], B' is [K, N], Y is [M, N]
  bool trans_a = false;         // A is stored [K, M] when true, else [M, K]
  bool trans_b = false;         // B is stored [N, K] when true, else [K, N]
  float alpha = 1.f, beta = 1.f;
  int64_t macs() const { return m * n * k; }
};

// Resolves the attributes (alpha, beta, transA, transB) against the shapes of A and B, which
// must be 2-D with agreeing inner dimensions; throws Error(bad_input) otherwise.
GemmGeometry gemm_geometry(const ir::Node& node, const Shape& a, const Shape& b);

// Throws Error(bad_input) unless C's shape is unidirectionally broadcastable to [M, N]
// (rank <= 2, each dim equal to the target's or 1).
void check_gemm_bias_shape(const GemmGeometry& g, const Shape& c);

// Saves nothing for backward.
void gemm_forward_ref(ir::ForwardCtx& ctx);
void gemm_backward_ref(ir::BackwardCtx& ctx);

}  // namespace leancnn::ops
