// Conv and ai.leancnn FusedConv as the direct convolution over channels-last activations
// (direct.h): weights packed once by an inference plan's prepare (per call otherwise, a copy of
// the weights), activations read and written NHWC (conv/nhwc_conv.h), bias, residual Z and the
// activation applied at the store. One kernel per ISA (AVX-512F first, then AVX2 + FMA); which
// layers they take comes from the measured rule (leancnn/kernels/direct_conv_rule.h). Inference only.
#include <memory>

#include "conv/nhwc_conv.h"
#include "direct.h"
#include "direct_kernels.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/kernels/direct_conv_rule.h"

namespace leancnn::kernels {
namespace {
using direct::Isa;

struct Prepared {
  Shape src_shape;
  direct::Packed packed;
};

std::string check(const ir::ForwardCtx& ctx, bool fused, Isa isa) {
  std::string why = simd::float_isa_missing(isa);
  if (!why.empty()) return why;
  if (ctx.training) return "training: an inference kernel (its backward is oneDNN's)";
  ops::ConvGeometry g;
  why = nhwc_conv_tensors_check(ctx, fused, &g);
  if (!why.empty()) return why;
  why = direct_conv_geometry_check(g);
  if (!why.empty()) return why;
  if (!direct_conv_takes(g, cpu_features().avx512f))
    return str_cat("oneDNN measured faster on this shape (", g.ic, "->", g.oc, " ", g.kh, "x", g.kw, " stride ",
                   g.stride_h, " at ", g.oh, "x", g.ow, ", direct_conv_rule.h)");
  return "";
}

std::shared_ptr<Prepared> prepare_state(const ir::ForwardCtx& ctx, Isa isa) {
  auto p = std::make_shared<Prepared>();
  p->src_shape = ctx.inputs[0].shape();
  direct::Packed& k = p->packed;
  k.g = ops::conv_geometry(ctx.node, p->src_shape, ctx.inputs[1].shape());
  k.isa = isa;
  direct::pack(k, ctx.inputs[1].data<float>(), conv_has_bias(ctx) ? ctx.inputs[2].data<float>() : nullptr);
  return p;
}

void forward(ir::ForwardCtx& ctx, bool fused, Isa isa) {
  std::shared_ptr<Prepared> own;
  const Prepared* p = static_cast<const Prepared*>(ctx.prepared);
  if (p) {
    LEANCNN_CHECK(ctx.inputs[0].shape() == p->src_shape, "prepared direct conv for input ", shape_str(p->src_shape),
                  " run on ", shape_str(ctx.inputs[0].shape()));
  } else {
    own = prepare_state(ctx, isa);
    p = own.get();
  }
  run_nhwc_conv(ctx, p->packed.g, fused, [&](const NhwcIo& io) {
    if (isa == Isa::avx512)
      direct::run_avx512(p->packed, io);
    else
      direct::run_avx2(p->packed, io);
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

Kernel cpu_conv_f32_direct_avx512() { return make<false, Isa::avx512>("cpu_conv_f32_direct_avx512"); }
Kernel cpu_conv_f32_direct_avx2() { return make<false, Isa::avx2>("cpu_conv_f32_direct_avx2"); }
Kernel cpu_fused_conv_f32_direct_avx512() { return make<true, Isa::avx512>("cpu_fused_conv_f32_direct_avx512"); }
Kernel cpu_fused_conv_f32_direct_avx2() { return make<true, Isa::avx2>("cpu_fused_conv_f32_direct_avx2"); }

}  // namespace leancnn::kernels
