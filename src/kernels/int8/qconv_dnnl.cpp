// QLinearFusedConv / QLinearConv (u8 x s8 -> u8|s8) through oneDNN's int8 convolution: s32
// accumulation, the src zero point compensated inside the primitive (padding included), the s32
// bias, per-channel output scales, the fused Relu/Clip clamp and the dst zero point all in the
// primitive, rounding half to even: bit-exact with ops::qlinear_conv_forward_ref
// (tests/conformance/qconv_conformance.cpp). Activations are NCHW (reordered to the primitive's
// layout) unless the plan stores them channels-last; weights are packed once when prepared.
#include <cstring>
#include <optional>

#include "int8_kernels.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/conv.h"
#include "qdnnl_common.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;
using ops::ConvGeometry;

bool has_bias(const std::vector<Tensor>& in) { return in.size() > ops::kQBias && in[ops::kQBias].defined(); }

struct QConvEntry {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  Operand src, weights, dst;
  Md bias;
};

struct PreparedQConv {
  Shape src_shape;
  std::shared_ptr<const QConvEntry> e;
  dnnl::memory weights;
  Tensor bias;
};

struct Call {
  ConvGeometry g;
  ops::QLinearParams p;
  bool src_nhwc = false, dst_nhwc = false;
};

Call call_of(const ir::ForwardCtx& ctx) {
  Call c;
  c.g = ops::conv_geometry(ctx.node, ctx.inputs.at(ops::kQX).shape(), ctx.inputs.at(ops::kQW).shape());
  c.p = ops::qlinear_params(ctx.node, ctx.inputs, c.g.oc);
  c.src_nhwc = (ctx.channels_last & ir::channels_last_input(0)) != 0;
  c.dst_nhwc = (ctx.channels_last & ir::channels_last_output(0)) != 0;
  return c;
}

std::shared_ptr<const QConvEntry> entry(const Call& c, bool bias) {
  const ConvGeometry& g = c.g;
  Key key("qconv_u8s8");
  key << g.n << g.ic << g.ih << g.iw << g.oc << g.kh << g.kw << g.groups << g.stride_h << g.stride_w << g.dil_h
      << g.dil_w << g.pad_t << g.pad_l << g.pad_b << g.pad_r << (bias ? 1 : 0) << (c.src_nhwc ? 1 : 0)
      << (c.dst_nhwc ? 1 : 0);
  add_requant_key(key, c.p);
  return cached<QConvEntry>(key, [&] {
    const Dims src{g.n, g.ic, g.ih, g.iw}, dst{g.n, g.oc, g.oh, g.ow};
    const bool grouped = g.groups > 1;
    const Dims w = grouped ? Dims{g.groups, g.oc / g.groups, g.ic / g.groups, g.kh, g.kw} : Dims{g.oc, g.ic, g.kh, g.kw};
    // NHWC (acdb) is what oneDNN's int8 convolutions run on (its blocked layouts only add reorders).
    const Md src_prim = typed_md(src, DType::u8, Tag::nhwc), dst_prim = typed_md(dst, c.p.y_dtype, Tag::nhwc);
    const Md w_any(w, dnnl::memory::data_type::s8, Tag::any);
    const Md bias_md = typed_md({g.oc}, DType::s32, Tag::x);
    const Dims strides{g.stride_h, g.stride_w}, dil{g.dil_h - 1, g.dil_w - 1}, pl{g.pad_t, g.pad_l}, pr{g.pad_b, g.pad_r};
    const auto desc = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                             dnnl::algorithm::convolution_direct, src_prim, w_any,
                                                             bias_md, dst_prim, strides, dil, pl, pr)
                           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                             dnnl::algorithm::convolution_direct, src_prim, w_any,
                                                             dst_prim, strides, dil, pl, pr);
    dnnl::convolution_forward::primitive_desc pd(desc, requant_attr(c.p, 1), engine());
    log_impl("int8 conv forward", pd);
    return QConvEntry{pd,
                      dnnl::convolution_forward(pd),
                      input_operand(typed_md(src, DType::u8, c.src_nhwc ? Tag::nhwc : Tag::nchw), pd.src_desc()),
                      input_operand(typed_md(w, DType::s8, grouped ? Tag::goihw : Tag::oihw), pd.weights_desc()),
                      output_operand(typed_md(dst, c.p.y_dtype, c.dst_nhwc ? Tag::nhwc : Tag::nchw), pd.dst_desc()),
                      bias_md};
  });
}

dnnl::memory pack_weights(const QConvEntry& e, const Tensor& w) {
  dnnl::memory packed(e.weights.prim, engine());
  const dnnl::memory user = wrap_any(w, e.weights.user);
  if (!e.weights.reordered()) {
    std::memcpy(packed.get_data_handle(), w.raw(), w.nbytes());
  } else {
    execute(*e.weights.reorder, *e.weights.reorder_pd, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, packed}});
  }
  return packed;
}

void run(const QConvEntry& e, const dnnl::memory& weights, const Tensor& src, const Tensor* bias, const Tensor& dst) {
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_WEIGHTS, weights}};
  dnnl::memory src_m = wrap_any(src, e.src.user);
  if (e.src.reordered()) {
    dnnl::memory staged(e.src.prim, engine(), staging(Slot::src, e.src.prim.get_size()));
    execute(*e.src.reorder, *e.src.reorder_pd, {{DNNL_ARG_FROM, src_m}, {DNNL_ARG_TO, staged}});
    src_m = staged;
  }
  args.emplace(DNNL_ARG_SRC, src_m);
  const dnnl::memory dst_user = wrap_any(dst, e.dst.user);
  const dnnl::memory dst_m =
      e.dst.reordered() ? dnnl::memory(e.dst.prim, engine(), staging(Slot::dst, e.dst.prim.get_size())) : dst_user;
  args.emplace(DNNL_ARG_DST, dst_m);
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap_any(*bias, e.bias));
  execute(e.prim, e.pd, std::move(args));
  if (e.dst.reordered()) execute(*e.dst.reorder, *e.dst.reorder_pd, {{DNNL_ARG_FROM, dst_m}, {DNNL_ARG_TO, dst_user}});
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = check_u8s8(ctx);
  if (!why.empty()) return why;
  if (ctx.inputs[ops::kQX].rank() != 4) return "only 2-D (NCHW) convolutions";
  return try_build("int8 convolution forward", [&] {
    const Call c = call_of(ctx);
    if (c.p.float_output) fail(ErrorKind::bad_input, "no y_scale: an f32 output");
    entry(c, has_bias(ctx.inputs));
  });
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) {
  try {
    const Call c = call_of(ctx);
    auto p = std::make_shared<PreparedQConv>();
    p->src_shape = ctx.inputs[ops::kQX].shape();
    p->e = entry(c, has_bias(ctx.inputs));
    p->weights = pack_weights(*p->e, ctx.inputs[ops::kQW]);
    if (has_bias(ctx.inputs)) p->bias = ctx.inputs[ops::kQBias].clone();
    return p;
  } catch (const dnnl::error&) {
    return nullptr;  // runs unprepared, as checked
  }
}

void forward(ir::ForwardCtx& ctx) {
  if (ctx.prepared) {
    const auto& p = *static_cast<const PreparedQConv*>(ctx.prepared);
    LEANCNN_CHECK(ctx.inputs[ops::kQX].shape() == p.src_shape, "prepared int8 conv for input ", shape_str(p.src_shape),
                  " run on ", shape_str(ctx.inputs[ops::kQX].shape()));
    run(*p.e, p.weights, ctx.inputs[ops::kQX], p.bias.defined() ? &p.bias : nullptr, ctx.outputs[0]);
    return;
  }
  const Call c = call_of(ctx);
  const bool bias = has_bias(ctx.inputs);
  const auto e = entry(c, bias);
  const dnnl::memory w = pack_weights(*e, ctx.inputs[ops::kQW]);
  run(*e, w, ctx.inputs[ops::kQX], bias ? &ctx.inputs[ops::kQBias] : nullptr, ctx.outputs[0]);
}

ChannelsLast channels_last(const ir::ForwardCtx&) { return {ir::channels_last_input(0) | ir::channels_last_output(0), false}; }
}  // namespace

Kernel dnnl_qconv_u8s8() {
  Kernel k;
  k.name = "dnnl_qconv_u8s8";
  k.check_forward = check_forward;
  k.forward = forward;
  k.prepare = prepare;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
