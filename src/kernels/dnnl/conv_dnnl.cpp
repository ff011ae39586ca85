// Conv (2-D, fp32) through oneDNN: convolution_forward (+bias), convolution_backward_data and
// convolution_backward_weights (+bias grad). Tensors stay NCHW / OIHW; the primitives use the
// layouts oneDNN prefers (format_tag::any), with reorders to and from ours on every call —
// weights included, since they change during training (the benchmark measures the cost).
#include <cstdlib>
#include <cstring>
#include <optional>

#include "dnnl_common.h"
#include "dnnl_kernels.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/conv.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;
using ops::ConvGeometry;

// How the primitives see the activations: in oneDNN's preferred (blocked) layouts behind
// reorders, or directly in NCHW. Weights always use format_tag::any (behind a reorder when
// oneDNN's choice is not OIHW).
enum class Layouts { blocked, plain };

// LEANCNN_DNNL_CONV_LAYOUT=plain|blocked overrides the choice below (for benchmarking).
Layouts layout_override(Layouts def) {
  static const char* env = std::getenv("LEANCNN_DNNL_CONV_LAYOUT");
  if (!env) return def;
  if (std::strcmp(env, "plain") == 0) return Layouts::plain;
  if (std::strcmp(env, "blocked") == 0) return Layouts::blocked;
  return def;
}

// Measured (bench/conv_dnnl_bench BM_ConvForwardLayerKinds, batch 1, 1 thread, CPU time, each
// policy forced with LEANCNN_DNNL_CONV_LAYOUT): oneDNN's direct kernels in their own layouts
// (NHWC on AVX-512, nChw8c on AVX2) beat its NCHW im2col + GEMM path even after the reorders:
// 1.2x on a 3->16 first layer, 3.7x on ResNet-18's 7x7 stem, 2.3x on a 16->16 3x3, 6x on a
// depthwise 3x3. Two kinds do better on NCHW as it is, with no reorders at all: 1x1 stride-1
// unpadded convs (a plain GEMM over NCHW; 2.7x on 64->256 at 56x56), and layers whose weights
// outweigh their activations (late layers on small images; 1.4x on 512->512 3x3 at 7x7), where
// reordering the weights on every call costs more than the direct kernel saves.
Layouts choose_layouts(const ConvGeometry& g) {
  if (g.depthwise()) return layout_override(Layouts::blocked);
  const bool pointwise = g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_t == 0 &&
                         g.pad_l == 0 && g.pad_b == 0 && g.pad_r == 0;
  const int64_t weights = g.oc * (g.ic / g.groups) * g.kh * g.kw;
  const int64_t activations = g.n * (g.ic * g.ih * g.iw + g.oc * g.oh * g.ow);
  const bool weights_heavy = weights > activations;
  return layout_override(pointwise || weights_heavy ? Layouts::plain : Layouts::blocked);
}

struct ConvDims {
  Dims src, weights, dst, bias, strides, dilates, pad_l, pad_r;
  Tag weights_tag;
};

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

Key conv_key(const char* kind, const ConvGeometry& g, Layouts layouts, bool bias) {
  Key k(kind);
  k << g.n << g.ic << g.ih << g.iw << g.oc << g.kh << g.kw << g.groups << g.stride_h << g.stride_w << g.dil_h
    << g.dil_w << g.pad_t << g.pad_l << g.pad_b << g.pad_r << static_cast<int64_t>(layouts) << (bias ? 1 : 0);
  return k;
}

Md activation_md(const Dims& dims, Layouts layouts) {
  return layouts == Layouts::blocked ? any_md(dims) : f32_md(dims, Tag::nchw);
}

dnnl::convolution_forward::desc forward_desc(const ConvGeometry& g, Layouts layouts, bool bias,
                                             dnnl::prop_kind prop) {
  const ConvDims d = conv_dims(g);
  const Md src = activation_md(d.src, layouts), dst = activation_md(d.dst, layouts), weights = any_md(d.weights);
  if (bias)
    return {prop, dnnl::algorithm::convolution_direct, src, weights, f32_md(d.bias, Tag::x), dst,
            d.strides, d.dilates, d.pad_l, d.pad_r};
  return {prop, dnnl::algorithm::convolution_direct, src, weights, dst, d.strides, d.dilates, d.pad_l, d.pad_r};
}

// --- forward ---
struct ConvForward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  Operand src, weights, dst;
  Md bias;
};

ConvGeometry geometry_of(const ir::Node& node, const std::vector<Tensor>& inputs) {
  return ops::conv_geometry(node, inputs.at(0).shape(), inputs.at(1).shape());
}

bool has_bias(const std::vector<Tensor>& inputs) { return inputs.size() > 2 && inputs[2].defined(); }

std::shared_ptr<const ConvForward> forward_entry(const ConvGeometry& g, Layouts layouts, bool bias) {
  return cached<ConvForward>(conv_key("conv_fwd", g, layouts, bias), [&] {
    const ConvDims d = conv_dims(g);
    dnnl::convolution_forward::primitive_desc pd(forward_desc(g, layouts, bias, dnnl::prop_kind::forward_inference),
                                                 user_scratchpad_attr(), engine());
    log_impl("conv forward", pd);
    return ConvForward{pd,
                       dnnl::convolution_forward(pd),
                       input_operand(f32_md(d.src, Tag::nchw), pd.src_desc()),
                       input_operand(f32_md(d.weights, d.weights_tag), pd.weights_desc()),
                       output_operand(f32_md(d.dst, Tag::nchw), pd.dst_desc()),
                       f32_md(d.bias, Tag::x)};
  });
}

std::string common_checks(const std::vector<Tensor>& inputs) {
  if (inputs.size() < 2 || !inputs[0].defined() || !inputs[1].defined()) return "missing X or W";
  std::string why = check_f32(inputs, "input");
  if (!why.empty()) return why;
  if (inputs[0].rank() != 4) return str_cat("input X is ", inputs[0].rank(), "-D: only 2-D (NCHW) convolutions");
  return "";
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.outputs, "output");
  if (!why.empty()) return why;
  return try_build("convolution forward", [&] {
    const ConvGeometry g = geometry_of(ctx.node, ctx.inputs);
    if (ctx.outputs.at(0).shape() != Shape{g.n, g.oc, g.oh, g.ow})
      fail(ErrorKind::internal, "output shape ", shape_str(ctx.outputs[0].shape()), " disagrees with the geometry");
    forward_entry(g, choose_layouts(g), has_bias(ctx.inputs));
  });
}

// The whole batch in one primitive call. (Running it in cache-sized chunks would save the
// reorders' trips through DRAM, but multiplies the OpenMP fork/joins: tried, it measured 2.5x
// slower at batch 64 on a shared machine, where each join waits for a descheduled thread.)
void forward(ir::ForwardCtx& ctx) {
  const bool bias = has_bias(ctx.inputs);
  const ConvGeometry g = geometry_of(ctx.node, ctx.inputs);
  const auto e = forward_entry(g, choose_layouts(g), bias);
  const Tensor& dst = ctx.outputs[0];
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, enter(e->src, ctx.inputs[0], Slot::src)},
                                             {DNNL_ARG_WEIGHTS, enter(e->weights, ctx.inputs[1], Slot::weights)}};
  dnnl::memory dst_m = output_buffer(e->dst, dst, Slot::dst);
  args.emplace(DNNL_ARG_DST, dst_m);
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap(ctx.inputs[2], e->bias));
  execute(e->prim, e->pd, std::move(args));
  leave(e->dst, dst_m, dst);
  // The reference saves nothing for backward (it reads inputs), so neither do we.
}

// --- backward data ---
struct ConvBackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  Operand diff_dst, weights, diff_src;
};

std::shared_ptr<const ConvBackwardData> backward_data_entry(const ConvGeometry& g, Layouts layouts) {
  return cached<ConvBackwardData>(conv_key("conv_bwd_data", g, layouts, false), [&] {
    const ConvDims d = conv_dims(g);
    dnnl::convolution_forward::primitive_desc hint(forward_desc(g, layouts, false, dnnl::prop_kind::forward_training),
                                                   engine());
    const Md diff_src = activation_md(d.src, layouts), diff_dst = activation_md(d.dst, layouts);
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, diff_src, any_md(d.weights),
                                               diff_dst, d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad_attr(), engine(), hint);
    log_impl("conv backward data", pd);
    return ConvBackwardData{pd, dnnl::convolution_backward_data(pd),
                            input_operand(f32_md(d.dst, Tag::nchw), pd.diff_dst_desc()),
                            input_operand(f32_md(d.weights, d.weights_tag), pd.weights_desc()),
                            output_operand(f32_md(d.src, Tag::nchw), pd.diff_src_desc())};
  });
}

// --- backward weights (+ bias) ---
struct ConvBackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  Operand src, diff_dst, diff_weights;
  Md diff_bias;
};

std::shared_ptr<const ConvBackwardWeights> backward_weights_entry(const ConvGeometry& g, Layouts layouts,
                                                                  bool bias) {
  return cached<ConvBackwardWeights>(conv_key("conv_bwd_weights", g, layouts, bias), [&] {
    const ConvDims d = conv_dims(g);
    dnnl::convolution_forward::primitive_desc hint(forward_desc(g, layouts, bias, dnnl::prop_kind::forward_training),
                                                   engine());
    const Md src = activation_md(d.src, layouts), diff_dst = activation_md(d.dst, layouts);
    const Md diff_bias = f32_md(d.bias, Tag::x);
    auto desc = bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src,
                                                                any_md(d.weights), diff_bias, diff_dst, d.strides,
                                                                d.dilates, d.pad_l, d.pad_r)
                     : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src,
                                                                any_md(d.weights), diff_dst, d.strides, d.dilates,
                                                                d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad_attr(), engine(), hint);
    log_impl("conv backward weights", pd);
    return ConvBackwardWeights{pd,
                               dnnl::convolution_backward_weights(pd),
                               input_operand(f32_md(d.src, Tag::nchw), pd.src_desc()),
                               input_operand(f32_md(d.dst, Tag::nchw), pd.diff_dst_desc()),
                               output_operand(f32_md(d.weights, d.weights_tag), pd.diff_weights_desc()),
                               diff_bias};
  });
}

bool wants(const ir::BackwardCtx& ctx, size_t i) { return ctx.d_inputs.size() > i && ctx.d_inputs[i].defined(); }

std::string check_backward(const ir::BackwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.d_outputs, "d_output");
  if (why.empty()) why = check_f32(ctx.d_inputs, "d_input");
  if (!why.empty()) return why;
  return try_build("convolution backward", [&] {
    const ConvGeometry g = geometry_of(ctx.node, ctx.inputs);
    const Layouts layouts = choose_layouts(g);
    if (wants(ctx, 0)) backward_data_entry(g, layouts);
    if (wants(ctx, 1) || wants(ctx, 2)) backward_weights_entry(g, layouts, wants(ctx, 2));
  });
}

void backward(ir::BackwardCtx& ctx) {
  const ConvGeometry g = geometry_of(ctx.node, ctx.inputs);
  const Layouts layouts = choose_layouts(g);
  const Tensor& d_dst = ctx.d_outputs[0];
  // d_dst in the backward-data layout, reused by backward-weights when it wants the same one.
  std::optional<dnnl::memory> diff_dst_data;
  if (wants(ctx, 0)) {
    const auto e = backward_data_entry(g, layouts);
    const Tensor& d_src = ctx.d_inputs[0];
    dnnl::memory diff_src = output_buffer(e->diff_src, d_src, Slot::diff_src);
    diff_dst_data = enter(e->diff_dst, d_dst, Slot::diff_dst);
    execute(e->prim, e->pd,
            {{DNNL_ARG_DIFF_DST, *diff_dst_data},
             {DNNL_ARG_WEIGHTS, enter(e->weights, ctx.inputs[1], Slot::weights)},
             {DNNL_ARG_DIFF_SRC, diff_src}});
    leave(e->diff_src, diff_src, d_src);
  }
  if (wants(ctx, 1) || wants(ctx, 2)) {
    const bool bias = wants(ctx, 2);
    const auto e = backward_weights_entry(g, layouts, bias);
    // Without a d_weights to fill (only d_bias wanted), the primitive writes a staging buffer.
    const bool keep_weights = wants(ctx, 1);
    dnnl::memory diff_weights =
        keep_weights ? output_buffer(e->diff_weights, ctx.d_inputs[1], Slot::diff_weights)
                     : dnnl::memory(e->diff_weights.prim, engine(),
                                    staging(Slot::diff_weights, e->diff_weights.prim.get_size()));
    const dnnl::memory diff_dst = diff_dst_data && diff_dst_data->get_desc() == e->diff_dst.prim
                                      ? *diff_dst_data
                                      : enter(e->diff_dst, d_dst, Slot::diff_dst);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, enter(e->src, ctx.inputs[0], Slot::src)},
                                               {DNNL_ARG_DIFF_DST, diff_dst},
                                               {DNNL_ARG_DIFF_WEIGHTS, diff_weights}};
    if (bias) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(ctx.d_inputs[2], e->diff_bias));
    execute(e->prim, e->pd, std::move(args));
    if (keep_weights) leave(e->diff_weights, diff_weights, ctx.d_inputs[1]);
  }
}
}  // namespace

Kernel dnnl_conv_f32() {
  Kernel k;
  k.name = "dnnl_conv_f32";
  k.check_forward = check_forward;
  k.forward = forward;
  k.check_backward = check_backward;
  k.backward = backward;
  return k;
}

}  // namespace leancnn::kernels
