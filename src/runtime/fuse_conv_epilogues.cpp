// Inference pass: Conv [-> Add] [-> Relu | Clip | HardSwish] chains fused into one
// ai.leancnn FusedConv node.
#include <cmath>
#include <limits>

#include "leancnn/ir/rewrite.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::runtime {

namespace {

struct Epilogue {
  std::vector<ir::NodeId> nodes;  // the Conv first, then the Add and/or the activation
  ir::ValueId out = ir::kNone;    // the last node's output: the fused node's output
  ir::ValueId z = ir::kNone;      // the Add's other operand
  std::string activation;         // "" | "Relu" | "Clip" | "HardSwish"
  std::vector<float> activation_params;
};

// True when node `id` reads `v` in its first input slot and nowhere else.
bool reads_only_first(const ir::Node& n, ir::ValueId v) {
  if (n.inputs.empty() || n.inputs[0] != v) return false;
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (n.inputs[i] == v) return false;
  return true;
}

// An activation FusedConv can apply, reading `v`; fills the epilogue's activation fields.
bool match_activation(const ir::Graph& g, const ir::Node& n, ir::ValueId v, Epilogue& e) {
  if (n.outputs.size() != 1 || !reads_only_first(n, v)) return false;
  if (ir::is_onnx_op(n, "Relu") || ir::is_onnx_op(n, "HardSwish")) {
    e.activation = n.op_type;
    return true;
  }
  if (!ir::is_onnx_op(n, "Clip")) return false;
  // Bounds are optional inputs 1 and 2; present ones must be constant to be baked in.
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (n.inputs.size() > 1 && n.inputs[1] != ir::kNone && !ir::scalar_initializer(g, n.inputs[1], lo)) return false;
  if (n.inputs.size() > 2 && n.inputs[2] != ir::kNone && !ir::scalar_initializer(g, n.inputs[2], hi)) return false;
  if (std::isnan(lo) || std::isnan(hi)) return false;
  e.activation = "Clip";
  e.activation_params = {lo, hi};
  return true;
}

// A same-shape Add reading the conv output `y` once, whose other operand is an activation
// (not an initializer: a broadcast constant would stop matching at another batch size).
bool match_residual_add(const ir::Graph& g, const ir::Node& n, ir::ValueId y, Epilogue& e) {
  if (!ir::is_onnx_op(n, "Add") || n.inputs.size() != 2 || n.outputs.size() != 1) return false;
  if (n.inputs[0] == n.inputs[1]) return false;
  const ir::ValueId z = n.inputs[0] == y ? n.inputs[1] : n.inputs[0];
  const ir::Value& zv = g.value(z);
  const ir::Value& yv = g.value(y);
  const ir::Value& out = g.value(n.outputs[0]);
  if (zv.is_initializer() || !zv.shape_known || !yv.shape_known || !out.shape_known) return false;
  if (zv.shape != yv.shape || out.shape != yv.shape || zv.dtype != DType::f32) return false;
  e.z = z;
  return true;
}

Epilogue match(const ir::Graph& g, ir::NodeId conv_id) {
  Epilogue e;
  const ir::Node& conv = g.node(conv_id);
  e.nodes = {conv_id};
  e.out = conv.outputs[0];
  ir::NodeId next = ir::sole_consumer(g, e.out);
  if (next == ir::kNone) return e;
  if (ir::is_onnx_op(g.node(next), "Add")) {
    if (!match_residual_add(g, g.node(next), e.out, e)) return e;
    e.nodes.push_back(next);
    e.out = g.node(next).outputs[0];
    next = ir::sole_consumer(g, e.out);
    if (next == ir::kNone) return e;
  }
  if (match_activation(g, g.node(next), e.out, e)) {
    e.nodes.push_back(next);
    e.out = g.node(next).outputs[0];
  }
  return e;
}

}  // namespace

int fuse_conv_epilogues(ir::Graph& g, const ir::OpTable& ops) {
  if (!ops.find(ir::kLeancnnDomain, "FusedConv")) return 0;  // a table without the op: nothing to fuse into
  int rewrites = 0;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& conv = g.node(id);
    if (!ir::is_onnx_op(conv, "Conv") || conv.outputs.size() != 1 || conv.inputs.size() < 2) continue;
    const Epilogue e = match(g, id);
    if (e.nodes.size() < 2) continue;

    std::vector<ir::ValueId> inputs = {conv.inputs[0], conv.inputs[1]};
    const ir::ValueId bias = conv.inputs.size() > 2 ? conv.inputs[2] : ir::kNone;
    if (bias != ir::kNone || e.z != ir::kNone) inputs.push_back(bias);
    if (e.z != ir::kNone) inputs.push_back(e.z);
    ir::Attributes attrs = conv.attrs;
    if (!e.activation.empty()) attrs.set("activation", e.activation);
    if (!e.activation_params.empty()) attrs.set("activation_params", e.activation_params);
    const std::string name = conv.name;

    std::vector<ir::ValueId> released;  // Clip's bounds
    for (ir::NodeId n : e.nodes) {
      const ir::Node& node = g.node(n);
      if (ir::is_onnx_op(node, "Clip")) released.insert(released.end(), node.inputs.begin() + 1, node.inputs.end());
      g.remove_node(n);  // its outputs lose their producer; e.out gets the fused node
    }
    g.add_node("FusedConv", inputs, {e.out}, std::move(attrs), name, ir::kLeancnnDomain);
    ir::release_dead_initializers(g, released);
    ++rewrites;
  }
  return rewrites;
}

}  // namespace leancnn::runtime
