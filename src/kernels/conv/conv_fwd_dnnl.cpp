// oneDNN convolution forward shared by the Conv and FusedConv kernels: descriptors, layout
// policy, cached primitives with post-ops, prepared (packed-weights) state and the run.
#include "conv_fwd_dnnl.h"

#include <cstdlib>
#include <cstring>

#include "leancnn/core/error.h"

namespace leancnn::kernels::dnnl_glue {
using ops::ConvGeometry;

namespace {
// LEANCNN_DNNL_CONV_LAYOUT=plain|blocked|channel|nhwc, or `def` when unset or anything else.
ConvLayouts parse_override(const char* env, ConvLayouts def) {
  if (!env) return def;
  if (std::strcmp(env, "plain") == 0) return ConvLayouts::plain;
  if (std::strcmp(env, "blocked") == 0) return ConvLayouts::blocked;
  if (std::strcmp(env, "channel") == 0) return ConvLayouts::channel_blocked;
  if (std::strcmp(env, "nhwc") == 0) return ConvLayouts::channels_last;
  return def;
}

// nChw16c where oneDNN runs AVX-512 code, else nChw8c (AVX2's vector width).
Tag channel_blocked_tag() {
  static const Tag tag = [] {
    engine();  // applies leancnn's ISA cap first: the effective ISA is fixed at its first query
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto avx512_core = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
    return (isa & avx512_core) == avx512_core ? Tag::nChw16c : Tag::nChw8c;
  }();
  return tag;
}

bool is_pointwise(const ConvGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_t == 0 && g.pad_l == 0 &&
         g.pad_b == 0 && g.pad_r == 0;
}
}  // namespace

// Per call (bench/conv_dnnl_bench BM_ConvForwardLayerKinds, batch 1, 1 thread, CPU time, each
// policy forced with LEANCNN_DNNL_CONV_LAYOUT): oneDNN's direct kernels in their own layouts
// beat its NCHW im2col + GEMM path even after the reorders: 1.2x on a 3->16 first layer, 3.7x
// on ResNet-18's 7x7 stem, 2.3x on a 16->16 3x3, 6x on a depthwise 3x3. Two kinds do better on
// NCHW as it is, with no reorders at all: 1x1 stride-1 unpadded convs (a plain GEMM over NCHW;
// 2.7x on 64->256 at 56x56), and layers whose weights outweigh their activations (late layers
// on small images; 1.4x on 512->512 3x3 at 7x7), where reordering the weights on every call
// costs more than the direct kernel saves.
// Prepared (packed weights; bench/fused_conv_bench, batch 1, 1 thread, prepared plain vs
// blocked, the variants interleaved): the weights-heavy reason is gone, and the direct kernels
// win on every 3x3 (1.5-1.9x on ResNet-18's four, 512@7 included). 1x1 stride-1 convs stay
// plain (a GEMM, no reorders: 1.4-2.9x faster on MobileNetV2's at 14x14 to 112x112) except on
// the smallest images, where the GEMM's few columns hurt: blocked is 1.13-1.2x faster on its
// four 7x7 ones (equal with a residual, which costs blocked one more reorder).
// Depthwise, for inference: nChw16c (jit_dw) beats the NHWC (brdgmm_dw) that format_tag::any
// picks, through cheaper reorders: 0.46 vs 0.80 ms for MobileNetV2's 96@112 stride 2, 0.33
// vs 0.46 for 32@112, 0.08 vs 0.17 for 576@14 (1 thread, reorders included); NCHW (GEMM) is
// 10-20x slower. (The Conv kernel's per-call policy, which its backward shares, is unchanged.)
// A plan's first convolution reads the NCHW graph input and writes NHWC: channels-last there too
// (the input reordered to NHWC, no reorder of the output) beat the blocked kernel with a reorder
// each way, on 3-channel stems where the input is small: MobileNetV2's 3->32 3x3/2 0.47 -> 0.26
// ms, ResNet-18's 7x7/2 1.55-1.60 -> 1.33-1.38 ms (`leancnn bench --profile`, Zen 3, 2 threads).
ConvLayouts choose_conv_layouts(const ConvGeometry& g, ConvUse use, UserLayouts user) {
  if (use == ConvUse::prepared && user.dst_nhwc)
    return parse_override(std::getenv("LEANCNN_DNNL_CONV_LAYOUT"), ConvLayouts::channels_last);
  if (use == ConvUse::prepared) {
    const bool small_image = g.oh * g.ow < 100;
    const ConvLayouts def = g.depthwise()                    ? ConvLayouts::channel_blocked
                            : is_pointwise(g) && !small_image ? ConvLayouts::plain
                                                             : ConvLayouts::blocked;
    return parse_override(std::getenv("LEANCNN_DNNL_CONV_LAYOUT"), def);
  }
  static const char* env = std::getenv("LEANCNN_DNNL_CONV_LAYOUT");
  if (g.depthwise())
    return parse_override(env, use == ConvUse::fused_per_call ? ConvLayouts::channel_blocked : ConvLayouts::blocked);
  const int64_t weights = g.oc * (g.ic / g.groups) * g.kh * g.kw;
  const int64_t activations = g.n * (g.ic * g.ih * g.iw + g.oc * g.oh * g.ow);
  const bool weights_heavy = weights > activations;
  return parse_override(env, is_pointwise(g) || weights_heavy ? ConvLayouts::plain : ConvLayouts::blocked);
}

ConvDims conv_dims(const ConvGeometry& g) {
  ConvDims d;
  d.src = {g.n, g.ic, g.ih, g.iw};
  d.dst = {g.n, g.oc, g.oh, g.ow};
  d.bias = {g.oc};
  if (g.groups == 1) {
    d.weights = {g.oc, g.ic, g.kh, g.kw};
    d.weights_tag = Tag::oihw;
  } else {
    d.weights = {g.groups, g.oc / g.groups, g.ic / g.groups, g.kh, g.kw};
    d.weights_tag = Tag::goihw;
  }
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dil_h - 1, g.dil_w - 1};  // oneDNN counts the gaps: ONNX dilation 1 = oneDNN 0
  d.pad_l = {g.pad_t, g.pad_l};
  d.pad_r = {g.pad_b, g.pad_r};
  return d;
}

Key conv_key(const char* kind, const ConvGeometry& g, ConvLayouts layouts, bool bias) {
  Key k(kind);
  k << g.n << g.ic << g.ih << g.iw << g.oc << g.kh << g.kw << g.groups << g.stride_h << g.stride_w << g.dil_h
    << g.dil_w << g.pad_t << g.pad_l << g.pad_b << g.pad_r << static_cast<int64_t>(layouts) << (bias ? 1 : 0);
  return k;
}

Md conv_activation_md(const Dims& dims, ConvLayouts layouts) {
  switch (layouts) {
    case ConvLayouts::blocked:
      return any_md(dims);
    case ConvLayouts::channel_blocked:
      return f32_md(dims, channel_blocked_tag());
    case ConvLayouts::channels_last:
      return f32_md(dims, Tag::acdb);
    case ConvLayouts::plain:
      break;
  }
  return f32_md(dims, Tag::nchw);
}

dnnl::convolution_forward::desc conv_forward_desc(const ConvGeometry& g, ConvLayouts layouts, bool bias,
                                                  dnnl::prop_kind prop) {
  const ConvDims d = conv_dims(g);
  const Md src = conv_activation_md(d.src, layouts), dst = conv_activation_md(d.dst, layouts);
  const Md weights = any_md(d.weights);
  if (bias)
    return {prop, dnnl::algorithm::convolution_direct, src, weights, f32_md(d.bias, Tag::x), dst,
            d.strides, d.dilates, d.pad_l, d.pad_r};
  return {prop, dnnl::algorithm::convolution_direct, src, weights, dst, d.strides, d.dilates, d.pad_l, d.pad_r};
}

std::shared_ptr<const ConvForward> conv_forward_entry(const ConvGeometry& g, ConvLayouts layouts, bool bias,
                                                      const ConvPostOps& post_ops, UserLayouts user) {
  Key key = conv_key("conv_fwd", g, layouts, bias);
  key << (post_ops.sum ? 1 : 0) << static_cast<int64_t>(post_ops.eltwise) << post_ops.alpha << post_ops.beta
      << (user.src_nhwc ? 1 : 0) << (user.dst_nhwc ? 1 : 0) << (user.residual_nhwc ? 1 : 0);
  return cached<ConvForward>(key, [&] {
    const ConvDims d = conv_dims(g);
    const bool has_eltwise = post_ops.eltwise != dnnl::algorithm::undef;
    const bool eltwise_inside = has_eltwise && layouts != ConvLayouts::plain;
    // A sum post-op adds what dst holds, so the residual is first copied there: a whole extra
    // pass over Z (3.2 MB for 16 channels at 224x224). Where Z and Y are both channels-last, a
    // binary add reads Z where it lies instead (the same one f32 addition per element).
    // Tucker-2's last 1x1 of ResNet-20 at 1x224x224, 16 channels out, with Z: 0.84-0.95 ms with
    // the copy against 0.33-0.44 without Z (`leancnn bench --profile`, Zen 3, 2 threads).
    const bool binary = post_ops.sum && layouts == ConvLayouts::channels_last && user.dst_nhwc && user.residual_nhwc;
    dnnl::primitive_attr attr = user_scratchpad_attr();
    if (post_ops.sum || eltwise_inside) {
      dnnl::post_ops ops;
      if (binary)
        ops.append_binary(dnnl::algorithm::binary_add, f32_md(d.dst, Tag::acdb));
      else if (post_ops.sum)
        ops.append_sum(1.f);
      if (eltwise_inside) ops.append_eltwise(1.f, post_ops.eltwise, post_ops.alpha, post_ops.beta);
      attr.set_post_ops(ops);
    }
    dnnl::convolution_forward::primitive_desc pd(
        conv_forward_desc(g, layouts, bias, dnnl::prop_kind::forward_inference), attr, engine());
    log_impl("conv forward", pd);
    const Md dst_user = f32_md(d.dst, user.dst_nhwc ? Tag::acdb : Tag::nchw);
    const Md residual_user = f32_md(d.dst, user.residual_nhwc ? Tag::acdb : Tag::nchw);
    ConvForward e{pd,
                  dnnl::convolution_forward(pd),
                  input_operand(f32_md(d.src, user.src_nhwc ? Tag::acdb : Tag::nchw), pd.src_desc()),
                  input_operand(f32_md(d.weights, d.weights_tag), pd.weights_desc()),
                  output_operand(dst_user, pd.dst_desc()),
                  post_ops.sum && !binary ? input_operand(residual_user, pd.dst_desc()) : Operand{residual_user, residual_user, {}, {}},
                  binary,
                  f32_md(d.bias, Tag::x),
                  post_ops,
                  std::nullopt,
                  std::nullopt};
    if (has_eltwise && !eltwise_inside) {
      e.eltwise_pd.emplace(dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, post_ops.eltwise,
                                                       dst_user, post_ops.alpha, post_ops.beta),
                           user_scratchpad_attr(), engine());
      e.eltwise.emplace(*e.eltwise_pd);
      log_impl("conv forward activation", *e.eltwise_pd);
    }
    return e;
  });
}

std::shared_ptr<const PreparedConv> prepare_conv_forward(const ConvGeometry& g, const ConvPostOps& post_ops,
                                                         const Tensor& weights, const Tensor& bias,
                                                         UserLayouts user) {
  auto p = std::make_shared<PreparedConv>();
  p->src_shape = {g.n, g.ic, g.ih, g.iw};
  // One input channel is the same bytes NCHW and NHWC: describing it channels-last lets an
  // NHWC-out plan keep oneDNN's channels-last kernel with no reorders. ResNet-20's 1->16 stem on
  // 28x28 (NCHW in, NHWC out) took 15-25 us in `leancnn bench --profile` (blocked layouts, a
  // reorder each way) against 7.6-8 us NHWC both sides (bench/direct_conv_bench r20_stem dnnl).
  if (g.ic == 1) user.src_nhwc = true;
  p->fwd = conv_forward_entry(g, choose_conv_layouts(g, ConvUse::prepared, user), bias.defined(), post_ops, user);
  p->weights = pack(weights, p->fwd->weights.user, p->fwd->weights.prim);
  if (bias.defined()) p->bias = bias.clone();
  return p;
}

void run_conv_forward(const ConvForward& e, const dnnl::memory& weights, const Tensor& src, const Tensor* bias,
                      const Tensor* residual, const Tensor& dst) {
  LEANCNN_CHECK(e.post_ops.sum == (residual != nullptr), "conv forward: a residual goes with a sum post-op");
  // Every memory object is held under the entry (dnnl_common.h): none is created per call.
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, enter(e.src, src, Slot::src, &e, DNNL_ARG_SRC)},
                                             {DNNL_ARG_WEIGHTS, weights}};
  dnnl::memory dst_m = output_buffer(e.dst, dst, Slot::dst, &e, DNNL_ARG_DST);
  // The sum post-op adds the residual already in the primitive's dst buffer (dst itself, or
  // staging when dst is reordered): reorder it there, or copy it when it is already in the
  // primitive's layout (nothing to do when the residual is that buffer). The residual and dst
  // may be in different layouts (a plan keeps either channels-last or not).
  if (residual && e.residual_binary) {
    // Z read by the post-op as it is; only when Y is Z's own storage (a plan that reuses it)
    // is Z copied aside first, the primitive not promising to read it before it writes Y.
    void* z = residual->raw();
    if (z == dst.raw()) {
      void* aside = staging(Slot::extra, residual->nbytes());
      std::memcpy(aside, z, residual->nbytes());
      z = aside;
    }
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, held(&e, DNNL_ARG_SRC_1, e.residual.user, z));
  } else if (residual) {
    if (e.residual.reordered()) {
      execute(*e.residual.reorder, *e.residual.reorder_pd,
              {{DNNL_ARG_FROM, wrap_held(&e, DNNL_ARG_SRC_1, *residual, e.residual.user)}, {DNNL_ARG_TO, dst_m}});
    } else if (residual->raw() != dst_m.get_data_handle()) {
      std::memmove(dst_m.get_data_handle(), residual->raw(), residual->nbytes());
    }
  }
  args.emplace(DNNL_ARG_DST, dst_m);
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap_held(&e, DNNL_ARG_BIAS, *bias, e.bias));
  execute(e.prim, e.pd, std::move(args));
  leave(e.dst, dst_m, dst, &e, DNNL_ARG_DST);
  if (e.eltwise) {
    const dnnl::memory y = wrap_held(&e, DNNL_ARG_DST_1, dst, e.eltwise_pd->dst_desc());
    execute(*e.eltwise, *e.eltwise_pd, {{DNNL_ARG_SRC, y}, {DNNL_ARG_DST, y}});
  }
}

void run_prepared_conv(const PreparedConv& p, const Tensor& src, const Tensor* residual, const Tensor& dst) {
  LEANCNN_CHECK(src.shape() == p.src_shape, "prepared conv for input ", shape_str(p.src_shape), " run on ",
                shape_str(src.shape()));
  run_conv_forward(*p.fwd, p.weights, src, p.bias.defined() ? &p.bias : nullptr, residual, dst);
}

}  // namespace leancnn::kernels::dnnl_glue
