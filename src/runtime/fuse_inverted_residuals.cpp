// Inference pass: MobileNetV2's inverted residual block — [1x1 conv (+ activation)] -> depthwise
// conv (+ activation) -> 1x1 conv (+ residual Add, + activation), each already one FusedConv or
// Conv node — becomes one ai.leancnn FusedInvertedResidual node, where the kernels' rule
// (leancnn/kernels/inverted_residual_rule.h) says fusing pays at the graph's shapes, and no 1x1
// conv of the block is pruned enough for the sparse kernels (which would then not see it). A
// graph with nothing to fuse is left untouched.
#include <optional>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/kernels/inverted_residual_rule.h"
#include "leancnn/kernels/sparse_rule.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/fused_inverted_residual.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::runtime {

namespace {

bool is_conv(const ir::Node& n) {
  return ir::is_onnx_op(n, "Conv") || (n.domain == ir::kLeancnnDomain && n.op_type == "FusedConv");
}

ir::ValueId input(const ir::Node& n, size_t i) { return n.inputs.size() > i ? n.inputs[i] : ir::kNone; }

// A Conv/FusedConv with constant f32 weights (and bias) whose input and weight shapes are known:
// its geometry; empty otherwise.
std::optional<ops::ConvGeometry> constant_conv(const ir::Graph& g, const ir::Node& n) {
  if (!is_conv(n) || n.outputs.size() != 1 || n.inputs.size() < 2) return std::nullopt;
  const ir::Value& x = g.value(n.inputs[0]);
  const ir::Value& w = g.value(n.inputs[1]);
  if (!x.shape_known || x.dtype != DType::f32 || x.shape.size() != 4) return std::nullopt;
  if (!w.is_initializer() || w.dtype != DType::f32) return std::nullopt;
  const ir::ValueId b = input(n, 2);
  if (b != ir::kNone && !g.value(b).is_initializer()) return std::nullopt;
  try {
    return ops::conv_geometry(n, x.shape, w.shape);
  } catch (const Error&) {
    return std::nullopt;
  }
}

bool pointwise(const ops::ConvGeometry& c) {
  return c.kh == 1 && c.kw == 1 && c.stride_h == 1 && c.stride_w == 1 && c.groups == 1 && c.pad_t == 0 &&
         c.pad_l == 0 && c.pad_b == 0 && c.pad_r == 0;
}

bool has_residual(const ir::Node& n) { return input(n, 3) != ir::kNone; }

// A pruned 1x1 conv the sparse kernels would run (its weights at or below its crossover density
// on this CPU, leancnn/kernels/sparse_rule.h): fusing its block would hide it from them.
bool runs_sparse(const ir::Graph& g, const ir::Node& n, const ops::ConvGeometry& c) {
  if (!cpu_features().avx2 || !cpu_features().fma) return false;
  const Tensor& w = g.value(n.inputs[1]).data;
  const float* p = w.data<float>();
  int64_t nonzero = 0;
  for (int64_t i = 0, count = w.numel(); i < count; ++i) nonzero += p[i] != 0.f;
  return static_cast<double>(nonzero) <= kernels::sparse_conv_crossover(c) * static_cast<double>(w.numel());
}

// The activation attributes of a FusedConv under the fused node's names for its stage.
void copy_activation(const ir::Node& from, const std::string& prefix, ir::Attributes& to) {
  to.set(prefix + "activation", from.attrs.get_string("activation", ""));
  to.set(prefix + "activation_params", from.attrs.get_floats("activation_params", {}));
}

}  // namespace

int fuse_inverted_residuals(ir::Graph& g, const ir::OpTable& ops) {
  if (!ops.find(ir::kLeancnnDomain, "FusedInvertedResidual")) return 0;
  int rewrites = 0;
  for (ir::NodeId id : g.topo_order()) {
    if (g.node(id).removed) continue;  // an expansion fused with an earlier block
    const ir::Node& dw = g.node(id);
    const std::optional<ops::ConvGeometry> dg = constant_conv(g, dw);
    if (!dg || !dg->depthwise() || has_residual(dw)) continue;
    const ir::NodeId proj_id = ir::sole_consumer(g, dw.outputs[0]);
    if (proj_id == ir::kNone) continue;
    const ir::Node& proj = g.node(proj_id);
    const std::optional<ops::ConvGeometry> pg = constant_conv(g, proj);
    if (!pg || !pointwise(*pg) || proj.inputs[0] != dw.outputs[0] || input(proj, 3) == dw.outputs[0]) continue;
    if (runs_sparse(g, proj, *pg)) continue;
    // The expansion: the depthwise input's producer when it is a 1x1 conv read by the depthwise alone.
    const ir::Value& dw_in = g.value(dw.inputs[0]);
    ir::NodeId exp_id = dw_in.producer;
    if (exp_id != ir::kNone) {
      const ir::Node& e = g.node(exp_id);
      const std::optional<ops::ConvGeometry> eg = constant_conv(g, e);
      if (!eg || !pointwise(*eg) || has_residual(e) || ir::sole_consumer(g, dw.inputs[0]) != id) exp_id = ir::kNone;
      else if (runs_sparse(g, e, *eg)) continue;  // the block without it would read E from memory anyway
    }
    const ir::Node* exp = exp_id != ir::kNone ? &g.node(exp_id) : nullptr;

    ops::InvertedResidualGeometry geo;
    geo.expand = exp != nullptr;
    geo.c = exp ? g.value(exp->inputs[0]).shape[1] : dg->ic;
    geo.m = dg->ic;
    geo.dw = *dg;
    geo.oc = pg->oc;
    if (!kernels::inverted_residual_rule(geo).empty()) continue;

    std::vector<ir::ValueId> inputs(ops::kIrSlots, ir::kNone);
    inputs[ops::kIrX] = exp ? exp->inputs[0] : dw.inputs[0];
    if (exp) {
      inputs[ops::kIrWe] = exp->inputs[1];
      inputs[ops::kIrBe] = input(*exp, 2);
    }
    inputs[ops::kIrWd] = dw.inputs[1];
    inputs[ops::kIrBd] = input(dw, 2);
    inputs[ops::kIrWp] = proj.inputs[1];
    inputs[ops::kIrBp] = input(proj, 2);
    inputs[ops::kIrZ] = input(proj, 3);
    if (inputs[ops::kIrZ] == ir::kNone) inputs.resize(ops::kIrZ);
    ir::Attributes attrs;
    for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"})
      if (dw.attrs.has(a)) attrs.set(a, dw.attrs.all().at(a));
    if (!attrs.has("group")) attrs.set("group", dg->groups);
    if (exp) copy_activation(*exp, "expand_", attrs);
    copy_activation(dw, "dw_", attrs);
    copy_activation(proj, "", attrs);
    const std::string name = exp ? exp->name : dw.name;
    const ir::ValueId out = proj.outputs[0];
    for (ir::NodeId n : {exp_id, id, proj_id})
      if (n != ir::kNone) g.remove_node(n);
    g.add_node("FusedInvertedResidual", inputs, {out}, std::move(attrs), name, ir::kLeancnnDomain);
    ++rewrites;
  }
  return rewrites;
}

}  // namespace leancnn::runtime
