// Conv and ai.leancnn FusedConv as Winograd F(2x2,3x3) / F(4x4,3x3) (winograd.h): weights
// transformed and packed once by an inference plan's prepare (per call otherwise, and then only
// for calls with enough outputs to repay it: smaller ones run oneDNN's kernel), activations
// read and written NHWC (a plan hands them over channels-last; NCHW ones are transposed in and
// out by conv/nhwc_conv.h), bias, residual Z and the activation applied in the output transform. One kernel per
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
#include "conv/nhwc_conv.h"
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

std::string check(const ir::ForwardCtx& ctx, bool fused, Isa isa) {
  std::string why = simd::float_isa_missing(isa);
  if (!why.empty()) return why;
  if (ctx.training) return "training: the weights change every step (transformed once only in inference)";
  ConvGeometry g;
  why = nhwc_conv_tensors_check(ctx, fused, &g);
  if (!why.empty()) return why;
  why = winograd_geometry_check(g);
  if (!why.empty()) return why;
  if (isa == Isa::avx512 && !winograd_wide_vectors(g))
    return "8 or fewer channels fill an AVX2 vector: 16-lane vectors would run half empty (the AVX2 kernel "
           "takes the layer)";
  if (winograd_tile(g, cpu_features().avx512f) == 0)
    return str_cat("oneDNN measured faster on this shape (", g.ic, "->", g.oc, " at ", g.oh, "x", g.ow,
                   ", winograd_rule.h)");
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
  winograd::pack(k, ctx.inputs[1].data<float>(), conv_has_bias(ctx) ? ctx.inputs[2].data<float>() : nullptr);
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
  run_nhwc_conv(ctx, p->packed.g, fused, [&](const NhwcIo& io) {
    if (isa == Isa::avx512)
      winograd::run_avx512(p->packed, io);
    else
      winograd::run_avx2(p->packed, io);
  });
}

template <bool Fused, Isa I>
Kernel make(const char* name) {
  Kernel k;
  k.name = name;
  k.check_forward = [](const ir::ForwardCtx& ctx) { return check(ctx, Fused, I); };
  k.forward = [](ir::ForwardCtx& ctx) { forward(ctx, Fused, I); };
  k.prepare = [](const ir::ForwardCtx& ctx) -> std::shared_ptr<const void> { return prepare_state(ctx, I); };
  k.channels_last = Fused ? channels_last_nhwc_fused_conv : channels_last_nhwc_conv;
  return k;
}
}  // namespace

Kernel cpu_conv_f32_winograd_avx512() { return make<false, Isa::avx512>("cpu_conv_f32_winograd_avx512"); }
Kernel cpu_conv_f32_winograd_avx2() { return make<false, Isa::avx2>("cpu_conv_f32_winograd_avx2"); }
Kernel cpu_fused_conv_f32_winograd_avx512() { return make<true, Isa::avx512>("cpu_fused_conv_f32_winograd_avx512"); }
Kernel cpu_fused_conv_f32_winograd_avx2() { return make<true, Isa::avx2>("cpu_fused_conv_f32_winograd_avx2"); }

}  // namespace leancnn::kernels
