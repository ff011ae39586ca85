#include "leancnn/ir/rewrite.h"

#include <algorithm>

namespace leancnn::ir {

Graph with_own_initializers(const Graph& g) {
  Graph copy = g;
  for (ValueId v : copy.initializers()) copy.value(v).data = copy.value(v).data.clone();
  return copy;
}

bool is_onnx_op(const Node& n, const char* op_type) {
  return !n.removed && (n.domain.empty() || n.domain == "ai.onnx") && n.op_type == op_type;
}

bool is_graph_output(const Graph& g, ValueId v) {
  return std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end();
}

NodeId sole_consumer(const Graph& g, ValueId v) {
  if (is_graph_output(g, v)) return kNone;
  const std::vector<NodeId> readers = g.consumers(v);
  return readers.size() == 1 ? readers[0] : kNone;
}

void replace_uses(Graph& g, ValueId from, ValueId to) { replace_uses_except(g, from, to, kNone); }

void replace_uses_except(Graph& g, ValueId from, ValueId to, NodeId except) {
  for (NodeId id : g.consumers(from)) {
    if (id == except) continue;
    for (ValueId& in : g.node(id).inputs)
      if (in == from) in = to;
  }
}

void release_dead_initializers(Graph& g, const std::vector<ValueId>& values) {
  for (ValueId v : values) {
    if (v == kNone || !g.value(v).is_initializer() || is_graph_output(g, v) || !g.consumers(v).empty()) continue;
    g.value(v).data = Tensor();
    g.value(v).trainable = false;
  }
}

bool scalar_initializer(const Graph& g, ValueId v, float& out) {
  if (v == kNone) return false;
  const Value& value = g.value(v);
  if (!value.is_initializer() || value.data.dtype() != DType::f32 || value.data.numel() != 1) return false;
  out = value.data.at(0);
  return true;
}

ValueId activated_output(const Graph& g, const Node& layer) {
  const ValueId out = layer.outputs.at(0);
  const NodeId reader = sole_consumer(g, out);
  if (reader == kNone) return out;
  const Node& act = g.node(reader);
  if (is_onnx_op(act, "Relu")) return act.outputs[0];
  if (is_onnx_op(act, "Clip")) {
    // Only constant bounds fuse into a requantization.
    for (size_t i = 1; i < act.inputs.size(); ++i)
      if (act.inputs[i] != kNone && !g.value(act.inputs[i]).is_initializer()) return out;
    return act.outputs[0];
  }
  return out;
}

}  // namespace leancnn::ir
