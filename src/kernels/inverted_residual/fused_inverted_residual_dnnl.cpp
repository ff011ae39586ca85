// ai.leancnn FusedInvertedResidual as the three convolutions it stands for, each through
// oneDNN's FusedConv kernel (dnnl_fused_conv_f32: packed weights and a primitive per stage when
// prepared), the expanded and depthwise activations in per-thread scratch, channels-last. It runs
// the nodes the row-pass kernels decline (a dilated depthwise, a window taller than 16 rows, a CPU
// without AVX2: a node from a file; plans fuse only what the row pass takes). Inference only.
#include <memory>
#include <vector>

#include "conv/conv_kernels.h"
#include "block_inputs.h"
#include "inverted_residual_kernels.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/fused_inverted_residual.h"

namespace leancnn::kernels {

namespace {

using inverted_residual::block_geometry;
using inverted_residual::input;

// The block's stages as FusedConv nodes (their attributes; inputs only mark which are present)
// and the shapes between them.
struct Stages {
  ir::Node expand, dw, project;
  Shape e, d;  // the depthwise's input and output (NCHW shapes; stored channels-last)
};

ir::Node stage_node(const ir::Node& block, const std::string& prefix, int inputs, bool residual) {
  ir::Node n;
  n.op_type = "FusedConv";
  n.domain = ir::kLeancnnDomain;
  n.name = block.name + "/" + (prefix.empty() ? "project" : prefix.substr(0, prefix.size() - 1));
  n.inputs.assign(static_cast<size_t>(inputs), 0);
  if (residual) n.inputs.push_back(0);
  n.attrs.set("activation", block.attrs.get_string(prefix + "activation", ""));
  n.attrs.set("activation_params", block.attrs.get_floats(prefix + "activation_params", {}));
  return n;
}

Stages stages(const ir::ForwardCtx& ctx) {
  const ops::InvertedResidualGeometry g = block_geometry(ctx);
  Stages s;
  const bool residual = input(ctx, ops::kIrZ) != nullptr;
  s.expand = stage_node(ctx.node, "expand_", 3, false);
  s.dw = stage_node(ctx.node, "dw_", 3, false);
  for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"})
    if (ctx.node.attrs.has(a)) s.dw.attrs.set(a, ctx.node.attrs.all().at(a));
  s.project = stage_node(ctx.node, "", 3, residual);
  s.e = {g.dw.n, g.m, g.dw.ih, g.dw.iw};
  s.d = {g.dw.n, g.m, g.dw.oh, g.dw.ow};
  return s;
}

const Kernel& conv() {
  static const Kernel k = dnnl_fused_conv_f32();
  return k;
}

// One stage's context: x (and z) in, y out, weights and bias from the block's slots.
ir::ForwardCtx stage_ctx(const ir::ForwardCtx& block, const ir::Node& node, const Tensor& x, int w, int b,
                         const Tensor* z, const Tensor& y, uint32_t channels_last) {
  ir::ForwardCtx c{node, {x, block.inputs[static_cast<size_t>(w)], input(block, b) ? *input(block, b) : Tensor()}, {y}};
  if (z) c.inputs.push_back(*z);
  c.channels_last = channels_last;
  return c;
}

struct Prepared {
  Stages s;
  std::shared_ptr<const void> expand, dw, project;  // the stages' prepared oneDNN states
};

// The channels-last bits of each stage: E and D always; X, Z and Y as the plan stores them.
uint32_t expand_bits(uint32_t block) {
  return (block & ir::channels_last_input(ops::kIrX) ? ir::channels_last_input(0) : 0u) | ir::channels_last_output(0);
}
uint32_t dw_bits(bool expand, uint32_t block) {
  return expand ? ir::channels_last_input(0) | ir::channels_last_output(0) : expand_bits(block);
}
uint32_t project_bits(uint32_t block) {
  return ir::channels_last_input(0) | (block & ir::channels_last_input(ops::kIrZ) ? ir::channels_last_input(3) : 0u) |
         (block & ir::channels_last_output(0) ? ir::channels_last_output(0) : 0u);
}

std::string check(const ir::ForwardCtx& ctx) {
  if (ctx.training) return "training: an inference-only op";
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (ctx.inputs[i].defined() && (ctx.inputs[i].dtype() != DType::f32 || !ctx.inputs[i].is_contiguous()))
      return str_cat("input ", i, " is not a contiguous f32 tensor");
  if (!input(ctx, ops::kIrX) || !input(ctx, ops::kIrWd) || !input(ctx, ops::kIrWp)) return "missing X, Wd or Wp";
  try {
    block_geometry(ctx);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Scratch for E and D, per thread, grown as needed (a plan's runs reuse it).
Tensor scratch(const Shape& shape, int which) {
  thread_local Tensor buf[2];
  const int64_t n = shape_numel(shape);
  if (!buf[which].defined() || buf[which].numel() < n) buf[which] = Tensor::empty({n});
  return buf[which].view_at(0, shape, DType::f32);
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) {
  auto p = std::make_shared<Prepared>();
  p->s = stages(ctx);
  const Tensor e = Tensor::empty(p->s.e), d = Tensor::empty(p->s.d);
  const bool expand = input(ctx, ops::kIrWe) != nullptr;
  if (expand)
    p->expand = conv().prepare(stage_ctx(ctx, p->s.expand, ctx.inputs[ops::kIrX], ops::kIrWe, ops::kIrBe, nullptr, e,
                                         expand_bits(ctx.channels_last)));
  p->dw = conv().prepare(stage_ctx(ctx, p->s.dw, expand ? e : ctx.inputs[ops::kIrX], ops::kIrWd, ops::kIrBd, nullptr,
                                   d, dw_bits(expand, ctx.channels_last)));
  const Tensor* z = input(ctx, ops::kIrZ);
  p->project = conv().prepare(stage_ctx(ctx, p->s.project, d, ops::kIrWp, ops::kIrBp, z, ctx.outputs[0],
                                        project_bits(ctx.channels_last)));
  return p;
}

void forward(ir::ForwardCtx& ctx) {
  std::shared_ptr<Prepared> own;
  const auto* p = static_cast<const Prepared*>(ctx.prepared);
  if (!p) {  // unprepared: the stages run unprepared too
    own = std::make_shared<Prepared>();
    own->s = stages(ctx);
    p = own.get();
  }
  const bool expand = input(ctx, ops::kIrWe) != nullptr;
  const Tensor d = scratch(p->s.d, 1);
  Tensor dw_in = ctx.inputs[ops::kIrX];
  if (expand) {
    dw_in = scratch(p->s.e, 0);
    ir::ForwardCtx c = stage_ctx(ctx, p->s.expand, ctx.inputs[ops::kIrX], ops::kIrWe, ops::kIrBe, nullptr, dw_in,
                                 expand_bits(ctx.channels_last));
    c.prepared = p->expand.get();
    conv().forward(c);
  }
  ir::ForwardCtx c = stage_ctx(ctx, p->s.dw, dw_in, ops::kIrWd, ops::kIrBd, nullptr, d, dw_bits(expand, ctx.channels_last));
  c.prepared = p->dw.get();
  conv().forward(c);
  ir::ForwardCtx pc = stage_ctx(ctx, p->s.project, d, ops::kIrWp, ops::kIrBp, input(ctx, ops::kIrZ), ctx.outputs[0],
                                project_bits(ctx.channels_last));
  pc.prepared = p->project.get();
  conv().forward(pc);
}

ChannelsLast channels_last(const ir::ForwardCtx&) {
  return {ir::channels_last_input(ops::kIrX) | ir::channels_last_input(ops::kIrZ) | ir::channels_last_output(0),
          false};
}

}  // namespace

Kernel dnnl_fused_inverted_residual_f32() {
  Kernel k;
  k.name = "dnnl_fused_inverted_residual_f32";
  k.check_forward = check;
  k.forward = forward;
  k.prepare = prepare;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
