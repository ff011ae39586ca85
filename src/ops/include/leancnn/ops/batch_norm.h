// BatchNormalization (ONNX): attribute parsing and the [N, C, spatial] view shared by the
// reference and the fast kernels, and the reference forward/backward.
#pragma once
#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

struct BatchNormGeometry {
  int64_t n = 0, c = 0;
  int64_t spatial = 1;  // product of the dims after C (1 for a rank-2 [N, C] input)
  float epsilon = 1e-5f;
  float momentum = 0.9f;  // running = running * momentum + batch * (1 - momentum)
  int64_t per_channel() const { return n * spatial; }  // values each channel's statistics cover
};

// Reads epsilon (>= 0) and momentum (in [0, 1]) and views src (rank >= 2: N, C, D1, ...) as
// [N, C, spatial]. training_mode is accepted for ONNX compatibility but ignored: the run mode
// comes from ForwardCtx::training. Throws Error(bad_input) on invalid attributes or shapes.
BatchNormGeometry batch_norm_geometry(const ir::Node& node, const Shape& src);

// Inference: normalises with input_mean / input_var. Training (ctx.training): normalises with
// the batch mean and biased batch variance, and updates the running statistics in place in
// ctx.inputs[3] (mean) and ctx.inputs[4] (var, updated with the UNBIASED batch variance, as
// PyTorch does). Saves {mean[C], invstd[C]} of the batch (invstd = 1 / sqrt(var + epsilon)).
void batch_norm_forward_ref(ir::ForwardCtx& ctx);
// Training-mode gradients of X, scale and B from the saved batch mean and invstd.
void batch_norm_backward_ref(ir::BackwardCtx& ctx);

}  // namespace leancnn::ops
