// Inference clean-up passes: identity/Dropout removal and constant folding.
#include <algorithm>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::runtime {

using ir::is_graph_output;
using ir::is_onnx_op;

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
      ir::replace_uses(g, dst, src);
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
      ir::replace_uses(g, src, dst);
    }
    ir::release_dead_initializers(g, side_inputs);
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
    ir::release_dead_initializers(g, inputs);
    ir::release_dead_initializers(g, outputs);  // e.g. an unused optional output
    ++rewrites;
  }
  return rewrites;
}

}  // namespace leancnn::runtime
