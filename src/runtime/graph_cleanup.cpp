// Inference clean-up passes: identity/Dropout removal and constant folding, and the editing
// helpers the other inference passes share.
#include <algorithm>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/runtime/inference_passes.h"
#include "pass_util.h"

namespace leancnn::runtime {

namespace detail {

bool is_onnx_op(const ir::Node& n, const char* op_type) {
  return !n.removed && (n.domain.empty() || n.domain == "ai.onnx") && n.op_type == op_type;
}

bool is_graph_output(const ir::Graph& g, ir::ValueId v) {
  return std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end();
}

ir::NodeId sole_consumer(const ir::Graph& g, ir::ValueId v) {
  if (is_graph_output(g, v)) return ir::kNone;
  const std::vector<ir::NodeId> readers = g.consumers(v);
  return readers.size() == 1 ? readers[0] : ir::kNone;
}

void replace_uses(ir::Graph& g, ir::ValueId from, ir::ValueId to) {
  for (ir::NodeId id : g.node_ids())
    for (ir::ValueId& in : g.node(id).inputs)
      if (in == from) in = to;
}

void release_dead_initializers(ir::Graph& g, const std::vector<ir::ValueId>& values) {
  for (ir::ValueId v : values) {
    if (v == ir::kNone || !g.value(v).is_initializer() || is_graph_output(g, v) || !g.consumers(v).empty()) continue;
    g.value(v).data = Tensor();
    g.value(v).trainable = false;
  }
}

bool scalar_initializer(const ir::Graph& g, ir::ValueId v, float& out) {
  if (v == ir::kNone) return false;
  const ir::Value& value = g.value(v);
  if (!value.is_initializer() || value.data.dtype() != DType::f32 || value.data.numel() != 1) return false;
  out = value.data.at(0);
  return true;
}

}  // namespace detail

using detail::is_graph_output;
using detail::is_onnx_op;

int drop_identities(ir::Graph& g, const ir::OpTable&) {
  int rewrites = 0;
  for (ir::NodeId id : g.topo_order()) {
    ir::Node& n = g.node(id);
    const bool dropout = is_onnx_op(n, "Dropout");
    if (!dropout && !is_onnx_op(n, "Identity")) continue;
    if (n.inputs.empty() || n.inputs[0] == ir::kNone || n.outputs.empty()) continue;
    // Dropout's optional mask output must be unused: nothing could produce it any more.
    bool mask_used = false;
    for (size_t i = 1; i < n.outputs.size(); ++i)
      mask_used = mask_used || is_graph_output(g, n.outputs[i]) || !g.consumers(n.outputs[i]).empty();
    if (mask_used) continue;
    const ir::ValueId src = n.inputs[0];
    const ir::ValueId dst = n.outputs[0];
    const std::vector<ir::ValueId> side_inputs(n.inputs.begin() + 1, n.inputs.end());
    if (!is_graph_output(g, dst)) {
      g.remove_node(id);
      detail::replace_uses(g, dst, src);
    } else {
      // The graph output keeps its name: src's producer now writes dst and src's readers read
      // dst. Not possible when src is a graph input, an initializer or a graph output itself.
      const ir::NodeId producer = g.value(src).producer;
      if (producer == ir::kNone || is_graph_output(g, src)) continue;
      g.remove_node(id);
      for (ir::ValueId& out : g.node(producer).outputs)
        if (out == src) out = dst;
      g.value(dst).producer = producer;
      g.value(src).producer = ir::kNone;
      detail::replace_uses(g, src, dst);
    }
    detail::release_dead_initializers(g, side_inputs);
    ++rewrites;
  }
  return rewrites;
}

int fold_constants(ir::Graph& g, const ir::OpTable& ops) {
  int rewrites = 0;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    const ir::OpSchema* schema = ops.find(n.domain, n.op_type);
    if (!schema || !schema->forward) continue;
    bool constant = true;
    for (ir::ValueId v : n.inputs) constant = constant && (v == ir::kNone || g.value(v).is_initializer());
    if (!constant) continue;

    const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
    ir::ForwardCtx ctx{n, {}, {}};
    for (ir::ValueId v : n.inputs) ctx.inputs.push_back(v == ir::kNone ? Tensor() : g.value(v).data);
    for (size_t i = 0; i < n.outputs.size(); ++i) ctx.outputs.push_back(Tensor::empty(types.at(i).shape, types[i].dtype));
    try {
      schema->forward(ctx);
    } catch (Error& e) {
      e.add_context(n.label());
      throw;
    }
    const std::vector<ir::ValueId> inputs = n.inputs;
    const std::vector<ir::ValueId> outputs = n.outputs;
    g.remove_node(id);
    for (size_t i = 0; i < outputs.size(); ++i) {
      ir::Value& v = g.value(outputs[i]);
      v.data = ctx.outputs[i];
      v.shape = types[i].shape;
      v.dtype = types[i].dtype;
      v.shape_known = true;
      v.trainable = false;
    }
    detail::release_dead_initializers(g, inputs);
    detail::release_dead_initializers(g, outputs);  // e.g. an unused optional output
    ++rewrites;
  }
  return rewrites;
}

}  // namespace leancnn::runtime
