// ai.leancnn FusedInvertedResidual as one row pass (inverted_residual.h): the weights packed
// once by an inference plan's prepare (per call otherwise), activations read and written NHWC (a
// plan hands them over channels-last; NCHW ones are transposed in and out here). One kernel per
// ISA (AVX-512F first, then AVX2 + FMA). Inference only.
#include <memory>
#include <vector>

#include "conv/nhwc.h"
#include "inverted_residual.h"
#include "block_inputs.h"
#include "inverted_residual_kernels.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/fused_inverted_residual.h"

namespace leancnn::kernels {

namespace {

using inverted_residual::block_geometry;
using inverted_residual::input;

using inverted_residual::Isa;

std::string check(const ir::ForwardCtx& ctx, Isa isa) {
  std::string why = simd::float_isa_missing(isa);
  if (!why.empty()) return why;
  if (ctx.training) return "training: an inference-only op";
  const std::vector<Tensor>& in = ctx.inputs;
  if (!input(ctx, ops::kIrX) || !input(ctx, ops::kIrWd) || !input(ctx, ops::kIrWp)) return "missing X, Wd or Wp";
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].defined() && (in[i].dtype() != DType::f32 || !in[i].is_contiguous()))
      return str_cat("input ", i, " is not a contiguous f32 tensor");
  if (ctx.outputs.empty() || ctx.outputs[0].dtype() != DType::f32 || !ctx.outputs[0].is_contiguous())
    return "the output is not a contiguous f32 tensor";
  try {
    const ops::InvertedResidualGeometry g = block_geometry(ctx);
    const ops::ConvGeometry& d = g.dw;
    if (d.dil_h != 1 || d.dil_w != 1) return "a dilated depthwise (the ring holds consecutive rows)";
    if (d.kh > inverted_residual::kMaxKernelRows) return str_cat("a depthwise window of ", d.kh, " rows (at most 16)");
    const Shape y{d.n, g.oc, d.oh, d.ow};
    if (ctx.outputs[0].shape() != y) return "the output's shape disagrees with the geometry";
    const Tensor* z = input(ctx, ops::kIrZ);
    if (z && z->shape() != y) return "the residual Z is not the output's shape";
    for (const char* prefix : {"expand_", "dw_", ""}) ops::fused_epilogue(ctx.node, prefix);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::shared_ptr<inverted_residual::Packed> prepare_state(const ir::ForwardCtx& ctx, Isa isa) {
  const ops::InvertedResidualGeometry og = block_geometry(ctx);
  const ops::ConvGeometry& d = og.dw;
  auto p = std::make_shared<inverted_residual::Packed>();
  p->isa = isa;
  inverted_residual::Geometry& g = p->g;
  g.n = d.n;
  g.ih = d.ih;
  g.iw = d.iw;
  g.c = og.c;
  g.expand = og.expand;
  g.m = og.m;
  g.kh = d.kh;
  g.kw = d.kw;
  g.sh = d.stride_h;
  g.sw = d.stride_w;
  g.pad_t = d.pad_t;
  g.pad_l = d.pad_l;
  g.oh = d.oh;
  g.ow = d.ow;
  g.oc = og.oc;
  p->act_expand = ops::fused_epilogue(ctx.node, "expand_");
  p->act_dw = ops::fused_epilogue(ctx.node, "dw_");
  p->act = ops::fused_epilogue(ctx.node, "");
  const auto data = [&](int i) { const Tensor* t = input(ctx, i); return t ? t->data<float>() : nullptr; };
  inverted_residual::pack(*p, data(ops::kIrWe), data(ops::kIrBe), data(ops::kIrWd), data(ops::kIrBd),
                          data(ops::kIrWp), data(ops::kIrBp));
  return p;
}

void forward(ir::ForwardCtx& ctx, Isa isa) {
  std::shared_ptr<inverted_residual::Packed> own;
  const auto* p = static_cast<const inverted_residual::Packed*>(ctx.prepared);
  if (p) {
    const Shape& x = ctx.inputs[ops::kIrX].shape();
    LEANCNN_CHECK(x == Shape({p->g.n, p->g.c, p->g.ih, p->g.iw}), "prepared inverted residual for batch ", p->g.n,
                  " run on ", shape_str(x));
  } else {
    own = prepare_state(ctx, isa);
    p = own.get();
  }
  const inverted_residual::Geometry& g = p->g;
  const int64_t in_px = g.ih * g.iw, out_px = g.oh * g.ow;
  thread_local std::vector<float> src_t, z_t, dst_t;
  inverted_residual::Io io;
  io.src = ctx.inputs[ops::kIrX].data<float>();
  if (!(ctx.channels_last & ir::channels_last_input(ops::kIrX))) {
    float* t = inverted_residual::grown(src_t, static_cast<size_t>(g.n * g.c * in_px));
    to_nhwc(io.src, t, g.n, g.c, in_px);
    io.src = t;
  }
  if (const Tensor* z = input(ctx, ops::kIrZ)) {
    io.z = z->data<float>();
    if (!(ctx.channels_last & ir::channels_last_input(ops::kIrZ))) {
      float* t = inverted_residual::grown(z_t, static_cast<size_t>(g.n * g.oc * out_px));
      to_nhwc(io.z, t, g.n, g.oc, out_px);
      io.z = t;
    }
  }
  float* y = ctx.outputs[0].data<float>();
  const bool dst_nhwc = (ctx.channels_last & ir::channels_last_output(0)) != 0;
  io.dst = dst_nhwc ? y : inverted_residual::grown(dst_t, static_cast<size_t>(g.n * g.oc * out_px));
  if (isa == Isa::avx512)
    inverted_residual::run_avx512(*p, io);
  else
    inverted_residual::run_avx2(*p, io);
  if (!dst_nhwc) to_nchw(io.dst, y, g.n, g.oc, out_px);
}

ChannelsLast channels_last(const ir::ForwardCtx&) {
  return {ir::channels_last_input(ops::kIrX) | ir::channels_last_input(ops::kIrZ) | ir::channels_last_output(0),
          false};
}

template <Isa I>
Kernel make(const char* name) {
  Kernel k;
  k.name = name;
  k.check_forward = [](const ir::ForwardCtx& ctx) { return check(ctx, I); };
  k.forward = [](ir::ForwardCtx& ctx) { forward(ctx, I); };
  k.prepare = [](const ir::ForwardCtx& ctx) -> std::shared_ptr<const void> { return prepare_state(ctx, I); };
  k.channels_last = channels_last;
  return k;
}

}  // namespace

Kernel cpu_fused_inverted_residual_f32_avx512() {
  return make<Isa::avx512>("cpu_fused_inverted_residual_f32_avx512");
}
Kernel cpu_fused_inverted_residual_f32_avx2() { return make<Isa::avx2>("cpu_fused_inverted_residual_f32_avx2"); }

}  // namespace leancnn::kernels
