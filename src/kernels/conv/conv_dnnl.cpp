// Conv (2-D, fp32) through oneDNN: convolution_forward (+bias), convolution_backward_data and
// convolution_backward_weights (+bias grad). Tensors stay NCHW / OIHW; the primitives use the
// layouts oneDNN prefers (format_tag::any), with reorders to and from ours on every call —
// weights included, since they change during training (the benchmark measures the cost) —
// except in a prepared inference plan, which packs the weights once (conv_fwd_dnnl.h).
#include <optional>

#include "conv_fwd_dnnl.h"
#include "conv_kernels.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/conv.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;
using ops::ConvGeometry;
using Layouts = ConvLayouts;

Layouts choose_layouts(const ConvGeometry& g) { return choose_conv_layouts(g, ConvUse::per_call); }

// --- forward (conv_fwd_dnnl.h, shared with FusedConv) ---
ConvGeometry geometry_of(const ir::Node& node, const std::vector<Tensor>& inputs) {
  return ops::conv_geometry(node, inputs.at(0).shape(), inputs.at(1).shape());
}

bool has_bias(const std::vector<Tensor>& inputs) { return inputs.size() > 2 && inputs[2].defined(); }

// user: where an inference plan keeps X and Y channels-last (never in training).
std::shared_ptr<const ConvForward> forward_entry(const ConvGeometry& g, bool bias, UserLayouts user = {}) {
  return conv_forward_entry(g, choose_layouts(g), bias, ConvPostOps{}, user);
}

UserLayouts user_layouts(const ir::ForwardCtx& ctx) {
  return {(ctx.channels_last & ir::channels_last_input(0)) != 0, (ctx.channels_last & ir::channels_last_output(0)) != 0,
          false};
}

// X and Y may be NHWC in inference plans, as for FusedConv.
ChannelsLast channels_last(const ir::ForwardCtx& ctx) {
  if (ctx.training || ctx.inputs.empty() || !ctx.inputs[0].defined() || ctx.inputs[0].rank() != 4) return {};
  return {ir::channels_last_input(0) | ir::channels_last_output(0), false};
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
    forward_entry(g, has_bias(ctx.inputs));
  });
}

// Inference plans only (Kernel::prepare): the primitive for the layouts of packed weights and
// the weights reordered into its layout once. Training graphs change their weights, so nothing
// is prepared for a training run.
std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) {
  if (ctx.training) return nullptr;
  const ConvGeometry g = geometry_of(ctx.node, ctx.inputs);
  try {
    return prepare_conv_forward(g, ConvPostOps{}, ctx.inputs[1], has_bias(ctx.inputs) ? ctx.inputs[2] : Tensor(),
                                user_layouts(ctx));
  } catch (const dnnl::error&) {
    return nullptr;  // no primitive for the packed layouts: runs unprepared, as checked
  }
}

// The whole batch in one primitive call. (Running it in cache-sized chunks would save the
// reorders' trips through DRAM, but multiplies the OpenMP fork/joins: tried, it measured 2.5x
// slower at batch 64 on a shared machine, where each join waits for a descheduled thread.)
// The reference saves nothing for backward (it reads inputs), so neither do we.
void forward(ir::ForwardCtx& ctx) {
  if (ctx.prepared) {
    run_prepared_conv(*static_cast<const PreparedConv*>(ctx.prepared), ctx.inputs[0], nullptr, ctx.outputs[0]);
    return;
  }
  const bool bias = has_bias(ctx.inputs);
  const ConvGeometry g = geometry_of(ctx.node, ctx.inputs);
  const auto e = forward_entry(g, bias, user_layouts(ctx));
  run_conv_forward(*e, enter(e->weights, ctx.inputs[1], Slot::weights), ctx.inputs[0], bias ? &ctx.inputs[2] : nullptr,
                   nullptr, ctx.outputs[0]);
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
    dnnl::convolution_forward::primitive_desc hint(
        conv_forward_desc(g, layouts, false, dnnl::prop_kind::forward_training), engine());
    const Md diff_src = conv_activation_md(d.src, layouts), diff_dst = conv_activation_md(d.dst, layouts);
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
    dnnl::convolution_forward::primitive_desc hint(
        conv_forward_desc(g, layouts, bias, dnnl::prop_kind::forward_training), engine());
    const Md src = conv_activation_md(d.src, layouts), diff_dst = conv_activation_md(d.dst, layouts);
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
  k.prepare = prepare;
  k.channels_last = channels_last;
  k.check_backward = check_backward;
  k.backward = backward;
  return k;
}

}  // namespace leancnn::kernels
