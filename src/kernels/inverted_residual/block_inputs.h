// A FusedInvertedResidual call's inputs as its kernels read them (private to
// kernels/inverted_residual): an optional input slot, and the block's geometry from the shapes.
#pragma once
#include "leancnn/ir/op_schema.h"
#include "leancnn/ops/fused_inverted_residual.h"

namespace leancnn::kernels::inverted_residual {

// Input slot i, or null when the call omits it.
inline const Tensor* input(const ir::ForwardCtx& ctx, int i) {
  const size_t s = static_cast<size_t>(i);
  return ctx.inputs.size() > s && ctx.inputs[s].defined() ? &ctx.inputs[s] : nullptr;
}

// The block's shapes, checked (throws Error(bad_input) as the op's shape inference does).
inline ops::InvertedResidualGeometry block_geometry(const ir::ForwardCtx& ctx) {
  const Tensor* we = input(ctx, ops::kIrWe);
  const Shape we_shape = we ? we->shape() : Shape{};
  return ops::inverted_residual_geometry(ctx.node, ctx.inputs[ops::kIrX].shape(), we ? &we_shape : nullptr,
                                         ctx.inputs[ops::kIrWd].shape(), ctx.inputs[ops::kIrWp].shape());
}

}  // namespace leancnn::kernels::inverted_residual
