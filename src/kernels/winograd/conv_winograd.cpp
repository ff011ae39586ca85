// Conv and ai.leancnn FusedConv as Winograd F(2x2,3x3) / F(4x4,3x3) (winograd.h): weights
// transformed and packed once by an inference plan's prepare (per call otherwise, and then only
// for calls with enough outputs to repay it: smaller ones run oneDNN's kernel), activations
// read and written NHWC (a plan hands them over channels-last; NCHW ones are transposed in and
// out here), bias, residual Z and the activation applied in the output transform. One kernel per
// ISA of the GEMMs (AVX-512F first, then AVX2 + FMA); the tile and whether to run at all come
// from the measured rule (leancnn/kernels/winograd_rule.h). Inference only.
#include <memory>
#include <vector>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/kernels/winograd_rule.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/fused_conv.h"
#include "conv/conv_kernels.h"
#include "conv/nhwc.h"
#include "winograd.h"
#include "winograd_kernels.h"

namespace leancnn::kernels {
namespace {
using ops::ConvGeometry;
using winograd::Isa;

struct Prepared {
  Shape src_shape;
  winograd::Packed packed;
};

bool isa_here(Isa isa) {
  const CpuFeatures& f = cpu_features();
  return isa == Isa::avx512 ? f.avx512f && f.avx2 && f.fma : f.avx2 && f.fma;
}

bool has_bias(const ir::ForwardCtx& ctx) { return ctx.inputs.size() > 2 && ctx.inputs[2].defined(); }
bool has_residual(const ir::ForwardCtx& ctx) { return ctx.inputs.size() > 3 && ctx.inputs[3].defined(); }

std::string check(const ir::ForwardCtx& ctx, bool fused, Isa isa) {
  if (!isa_here(isa)) return isa == Isa::avx512 ? "no AVX-512F here (CPU or LEANCNN_MAX_CPU_ISA)" : "no AVX2 + FMA here";
  if (ctx.training) return "training: the weights change every step (transformed once only in inference)";
  const std::vector<Tensor>& in = ctx.inputs;
  if (in.size() < 2 || !in[0].defined() || !in[1].defined()) return "missing X or W";
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].defined() && (in[i].dtype() != DType::f32 || !in[i].is_contiguous()))
      return str_cat("input ", i, " is not a contiguous f32 tensor");
  if (ctx.outputs.empty() || ctx.outputs[0].dtype() != DType::f32 || !ctx.outputs[0].is_contiguous())
    return "the output is not a contiguous f32 tensor";
  if (in[0].rank() != 4 || in[1].rank() != 4) return "only 2-D (NCHW) convolutions";
  try {
    const ConvGeometry g = ops::conv_geometry(ctx.node, in[0].shape(), in[1].shape());
    std::string why = winograd_geometry_check(g);
    if (!why.empty()) return why;
    if (isa == Isa::avx512 && !winograd_wide_vectors(g))
      return "8 or fewer channels fill an AVX2 vector: 16-lane vectors would run half empty (the AVX2 kernel "
             "takes the layer)";
    const Shape y{g.n, g.oc, g.oh, g.ow};
    if (ctx.outputs[0].shape() != y) return "the output's shape disagrees with the geometry";
    if (fused) {
      ops::fused_epilogue(ctx.node);
      if (has_residual(ctx) && in[3].shape() != y) return "the residual Z is not the output's shape";
    }
    if (winograd_tile(g, cpu_features().avx512f) == 0)
      return str_cat("oneDNN measured faster on this shape (", g.ic, "->", g.oc, " at ", g.oh, "x", g.ow,
                     ", winograd_rule.h)");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::shared_ptr<Prepared> prepare_state(const ir::ForwardCtx& ctx, Isa isa) {
  auto p = std::make_shared<Prepared>();
  p->src_shape = ctx.inputs[0].shape();
  winograd::Packed& k = p->packed;
  k.g = ops::conv_geometry(ctx.node, p->src_shape, ctx.inputs[1].shape());
  k.isa = isa;
  const int m = winograd_tile(k.g, cpu_features().avx512f);
  k.m = m == 2 ? 2 : 4;
  k.alpha = k.m + 2;
  winograd::pack(k, ctx.inputs[1].data<float>(), has_bias(ctx) ? ctx.inputs[2].data<float>() : nullptr);
  return p;
}

void forward(ir::ForwardCtx& ctx, bool fused, Isa isa) {
  std::shared_ptr<Prepared> own;
  const Prepared* p = static_cast<const Prepared*>(ctx.prepared);
  if (p) {
    LEANCNN_CHECK(ctx.inputs[0].shape() == p->src_shape, "prepared Winograd conv for input ", shape_str(p->src_shape),
                  " run on ", shape_str(ctx.inputs[0].shape()));
  } else {
    const ConvGeometry g = ops::conv_geometry(ctx.node, ctx.inputs[0].shape(), ctx.inputs[1].shape());
    if (g.n * g.oh * g.ow < winograd_unprepared_min_pixels()) {
      // Too few outputs to repay transforming the weights on this call (winograd_rule.h).
      static const Kernel conv = dnnl_conv_f32(), fused_conv = dnnl_fused_conv_f32();
      (fused ? fused_conv : conv).forward(ctx);
      return;
    }
    own = prepare_state(ctx, isa);
    p = own.get();
  }
  const ConvGeometry& g = p->packed.g;
  const bool src_nhwc = (ctx.channels_last & ir::channels_last_input(0)) != 0;
  const bool dst_nhwc = (ctx.channels_last & ir::channels_last_output(0)) != 0;
  const bool z_nhwc = (ctx.channels_last & ir::channels_last_input(3)) != 0;
  thread_local std::vector<float> src_t, z_t, dst_t;
  winograd::Io io;
  io.src = ctx.inputs[0].data<float>();
  io.src_stride = g.ic;
  if (!src_nhwc) {
    float* t = winograd::grown(src_t, static_cast<size_t>(g.n * g.ic * g.ih * g.iw));
    to_nhwc(io.src, t, g.n, g.ic, g.ih * g.iw);
    io.src = t;
  }
  const int64_t out_px = g.oh * g.ow;
  if (fused) {
    io.act = ops::fused_epilogue(ctx.node);
    if (has_residual(ctx)) {
      io.z = ctx.inputs[3].data<float>();
      io.z_stride = g.oc;
      if (!z_nhwc) {  // copied before any output is written: Z may share Y's storage
        float* t = winograd::grown(z_t, static_cast<size_t>(g.n * g.oc * out_px));
        to_nhwc(io.z, t, g.n, g.oc, out_px);
        io.z = t;
      }
    }
  }
  float* y = ctx.outputs[0].data<float>();
  io.dst = y;
  io.dst_stride = g.oc;
  if (!dst_nhwc) {
    io.dst = winograd::grown(dst_t, static_cast<size_t>(g.n * g.oc * out_px));
  }
  if (isa == Isa::avx512)
    winograd::run_avx512(p->packed, io);
  else
    winograd::run_avx2(p->packed, io);
  if (!dst_nhwc) to_nchw(io.dst, y, g.n, g.oc, out_px);
}

// X, Y (and FusedConv's Z) may be channels-last, the layout the transforms read and write.
ChannelsLast channels_last_conv(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_output(0), false};
}
ChannelsLast channels_last_fused(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_input(3) | ir::channels_last_output(0), false};
}

template <bool Fused, Isa I>
Kernel make(const char* name) {
  Kernel k;
  k.name = name;
  k.check_forward = [](const ir::ForwardCtx& ctx) { return check(ctx, Fused, I); };
  k.forward = [](ir::ForwardCtx& ctx) { forward(ctx, Fused, I); };
  k.prepare = [](const ir::ForwardCtx& ctx) -> std::shared_ptr<const void> { return prepare_state(ctx, I); };
  k.channels_last = Fused ? channels_last_fused : channels_last_conv;
  return k;
}
}  // namespace

Kernel cpu_conv_f32_winograd_avx512() { return make<false, Isa::avx512>("cpu_conv_f32_winograd_avx512"); }
Kernel cpu_conv_f32_winograd_avx2() { return make<false, Isa::avx2>("cpu_conv_f32_winograd_avx2"); }
Kernel cpu_fused_conv_f32_winograd_avx512() { return make<true, Isa::avx512>("cpu_fused_conv_f32_winograd_avx512"); }
Kernel cpu_fused_conv_f32_winograd_avx2() { return make<true, Isa::avx2>("cpu_fused_conv_f32_winograd_avx2"); }

}  // namespace leancnn::kernels
