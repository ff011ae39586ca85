#include "leancnn/compress/common/layers.h"

#include "leancnn/ir/rewrite.h"

namespace leancnn::compress {

bool is_weight_layer(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 2 || n.inputs[0] == ir::kNone || n.inputs[1] == ir::kNone) return false;
  const ir::Value& w = g.value(n.inputs[1]);
  if (!w.is_initializer() || w.dtype != DType::f32 || g.value(n.inputs[0]).dtype != DType::f32) return false;
  if (ir::is_onnx_op(n, "Conv")) return w.data.rank() >= 3;
  if (!ir::is_onnx_op(n, "Gemm")) return false;
  return n.attrs.get_int("transB", 0) == 1 && n.attrs.get_int("transA", 0) == 0 && n.attrs.get_float("alpha", 1.f) == 1.f &&
         n.attrs.get_float("beta", 1.f) == 1.f && w.data.rank() == 2;
}

std::vector<ir::NodeId> weight_layers(const ir::Graph& g) {
  std::vector<ir::NodeId> out;
  for (ir::NodeId id : g.topo_order())
    if (is_weight_layer(g, g.node(id))) out.push_back(id);
  return out;
}

}  // namespace leancnn::compress
