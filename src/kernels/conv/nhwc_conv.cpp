// The channels-last convolution kernels' shared checks and NHWC views (nhwc_conv.h).
#include "conv/nhwc_conv.h"

#include "conv/nhwc.h"
#include "leancnn/core/error.h"

namespace leancnn::kernels {

bool conv_has_bias(const ir::ForwardCtx& ctx) { return ctx.inputs.size() > 2 && ctx.inputs[2].defined(); }
bool conv_has_residual(const ir::ForwardCtx& ctx) { return ctx.inputs.size() > 3 && ctx.inputs[3].defined(); }

std::string nhwc_conv_tensors_check(const ir::ForwardCtx& ctx, bool fused, ops::ConvGeometry* g) {
  const std::vector<Tensor>& in = ctx.inputs;
  if (in.size() < 2 || !in[0].defined() || !in[1].defined()) return "missing X or W";
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].defined() && (in[i].dtype() != DType::f32 || !in[i].is_contiguous()))
      return str_cat("input ", i, " is not a contiguous f32 tensor");
  if (ctx.outputs.empty() || ctx.outputs[0].dtype() != DType::f32 || !ctx.outputs[0].is_contiguous())
    return "the output is not a contiguous f32 tensor";
  if (in[0].rank() != 4 || in[1].rank() != 4) return "only 2-D (NCHW) convolutions";
  try {
    *g = ops::conv_geometry(ctx.node, in[0].shape(), in[1].shape());
    const Shape y{g->n, g->oc, g->oh, g->ow};
    if (ctx.outputs[0].shape() != y) return "the output's shape disagrees with the geometry";
    if (fused) {
      ops::fused_epilogue(ctx.node);
      if (conv_has_residual(ctx) && in[3].shape() != y) return "the residual Z is not the output's shape";
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void run_nhwc_conv(ir::ForwardCtx& ctx, const ops::ConvGeometry& g, bool fused,
                   const std::function<void(const NhwcIo&)>& run) {
  const bool src_nhwc = (ctx.channels_last & ir::channels_last_input(0)) != 0;
  const bool dst_nhwc = (ctx.channels_last & ir::channels_last_output(0)) != 0;
  const bool z_nhwc = (ctx.channels_last & ir::channels_last_input(3)) != 0;
  thread_local std::vector<float> src_t, z_t, dst_t;
  NhwcIo io;
  io.src = ctx.inputs[0].data<float>();
  io.src_stride = g.ic;
  if (!src_nhwc) {
    float* t = grown(src_t, static_cast<size_t>(g.n * g.ic * g.ih * g.iw));
    to_nhwc(io.src, t, g.n, g.ic, g.ih * g.iw);
    io.src = t;
  }
  const int64_t out_px = g.oh * g.ow;
  if (fused) {
    io.act = ops::fused_epilogue(ctx.node);
    if (conv_has_residual(ctx)) {
      io.z = ctx.inputs[3].data<float>();
      io.z_stride = g.oc;
      if (!z_nhwc) {  // copied before any output is written: Z may share Y's storage
        float* t = grown(z_t, static_cast<size_t>(g.n * g.oc * out_px));
        to_nhwc(io.z, t, g.n, g.oc, out_px);
        io.z = t;
      }
    }
  }
  float* y = ctx.outputs[0].data<float>();
  io.dst = dst_nhwc ? y : grown(dst_t, static_cast<size_t>(g.n * g.oc * out_px));
  io.dst_stride = g.oc;
  run(io);
  if (!dst_nhwc) to_nchw(io.dst, y, g.n, g.oc, out_px);
}

ChannelsLast channels_last_nhwc_conv(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_output(0), false};
}
ChannelsLast channels_last_nhwc_fused_conv(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_input(3) | ir::channels_last_output(0), false};
}

}  // namespace leancnn::kernels
