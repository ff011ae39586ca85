// FusedConv (ai.leancnn, fp32) through oneDNN: one convolution_forward (forward_inference) whose
// post-ops do the epilogue: bias in the primitive, the residual Z by a `sum` post-op (Z is
// placed in dst first: reordered into the primitive's dst buffer when that is blocked, copied
// into Y when it is plain NCHW, and used as it is when the plan put Y over Z's storage), then
// Relu / Clip / HardSwish as an eltwise post-op. Prepared (inference plans): primitive built
// and weights packed once. The shared convolution code is conv_fwd_dnnl.h.
#include <algorithm>

#include "conv_fwd_dnnl.h"
#include "conv_kernels.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/fused_conv.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;
using ops::ConvGeometry;

bool has_bias(const std::vector<Tensor>& inputs) { return inputs.size() > 2 && inputs[2].defined(); }
bool has_residual(const std::vector<Tensor>& inputs) { return inputs.size() > 3 && inputs[3].defined(); }

// The node's epilogue as oneDNN post-ops (activation formulas: eltwise_relu with alpha 0 is
// max(x, 0); eltwise_clip is min(max(x, alpha), beta), as ONNX Clip; eltwise_hardswish is
// x * relu6(x + 3) / 6, ONNX HardSwish).
ConvPostOps post_ops_of(const ir::Node& node, bool residual) {
  const ops::FusedEpilogue e = ops::fused_epilogue(node);
  ConvPostOps p;
  p.sum = residual;
  switch (e.activation) {
    case ops::FusedActivation::none:
      break;
    case ops::FusedActivation::relu:
      p.eltwise = dnnl::algorithm::eltwise_relu;
      break;
    case ops::FusedActivation::clip:
      // oneDNN refuses alpha > beta; ONNX then gives max everywhere, which clip(max, max) is.
      p.eltwise = dnnl::algorithm::eltwise_clip;
      p.alpha = std::min(e.clip_min, e.clip_max);
      p.beta = e.clip_max;
      break;
    case ops::FusedActivation::hard_swish:
      p.eltwise = dnnl::algorithm::eltwise_hardswish;
      break;
  }
  return p;
}

ConvGeometry geometry_of(const ir::ForwardCtx& ctx) {
  return ops::conv_geometry(ctx.node, ctx.inputs.at(0).shape(), ctx.inputs.at(1).shape());
}

// The layouts a plan keeps X, Z and Y in (NCHW outside plans).
UserLayouts user_layouts(const ir::ForwardCtx& ctx) {
  return {(ctx.channels_last & ir::channels_last_input(0)) != 0, (ctx.channels_last & ir::channels_last_output(0)) != 0,
          (ctx.channels_last & ir::channels_last_input(3)) != 0};
}

// The cached primitive of an unprepared call.
std::shared_ptr<const ConvForward> per_call_entry(const ir::ForwardCtx& ctx, const ConvGeometry& g) {
  return conv_forward_entry(g, choose_conv_layouts(g, ConvUse::fused_per_call), has_bias(ctx.inputs),
                            post_ops_of(ctx.node, has_residual(ctx.inputs)), user_layouts(ctx));
}

// X, Z and Y may be NHWC: the primitive's own layouts sit behind reorders either way.
ChannelsLast channels_last(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.empty() || !ctx.inputs[0].defined() || ctx.inputs[0].rank() != 4) return {};
  return {ir::channels_last_input(0) | ir::channels_last_input(3) | ir::channels_last_output(0), false};
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  const std::vector<Tensor>& in = ctx.inputs;
  if (in.size() < 2 || !in[0].defined() || !in[1].defined()) return "missing X or W";
  std::string why = check_f32(in, "input");
  if (why.empty()) why = check_f32(ctx.outputs, "output");
  if (!why.empty()) return why;
  if (in[0].rank() != 4) return str_cat("input X is ", in[0].rank(), "-D: only 2-D (NCHW) convolutions");
  return try_build("convolution forward with these post-ops", [&] {
    const ConvGeometry g = geometry_of(ctx);
    const Shape y{g.n, g.oc, g.oh, g.ow};
    if (ctx.outputs.at(0).shape() != y)
      fail(ErrorKind::internal, "output shape ", shape_str(ctx.outputs[0].shape()), " disagrees with the geometry");
    if (has_residual(in) && in[3].shape() != y)
      fail(ErrorKind::bad_input, "residual Z ", shape_str(in[3].shape()), " is not the output's shape ", shape_str(y));
    per_call_entry(ctx, g);
  });
}

// Packed weights and the primitive, for this input shape (FusedConv is inference-only, so
// its weights and bias are the plan's constants). Whether a residual comes is read from the
// node: at prepare time Z need not be allocated yet.
std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) {
  const ConvGeometry g = geometry_of(ctx);
  const bool residual = ctx.node.inputs.size() > 3 && ctx.node.inputs[3] != ir::kNone;
  try {
    return prepare_conv_forward(g, post_ops_of(ctx.node, residual), ctx.inputs[1],
                                has_bias(ctx.inputs) ? ctx.inputs[2] : Tensor(), user_layouts(ctx));
  } catch (const dnnl::error&) {
    return nullptr;  // no primitive for the packed layouts: runs unprepared, as checked
  }
}

// Saves nothing: FusedConv has no backward.
void forward(ir::ForwardCtx& ctx) {
  const Tensor* residual = has_residual(ctx.inputs) ? &ctx.inputs[3] : nullptr;
  if (ctx.prepared) {
    run_prepared_conv(*static_cast<const PreparedConv*>(ctx.prepared), ctx.inputs[0], residual, ctx.outputs[0]);
    return;
  }
  const ConvGeometry g = geometry_of(ctx);
  const bool bias = has_bias(ctx.inputs);
  const auto e = per_call_entry(ctx, g);
  run_conv_forward(*e, enter(e->weights, ctx.inputs[1], Slot::weights), ctx.inputs[0],
                   bias ? &ctx.inputs[2] : nullptr, residual, ctx.outputs[0]);
}
}  // namespace

Kernel dnnl_fused_conv_f32() {
  Kernel k;
  k.name = "dnnl_fused_conv_f32";
  k.check_forward = check_forward;
  k.forward = forward;
  k.prepare = prepare;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
