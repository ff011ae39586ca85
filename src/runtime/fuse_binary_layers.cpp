// Inference pass: ai.leancnn Binarize -> Conv | Gemm with binary weights (each row ±alpha, as
// BinaryWeights decodes them, with BatchNormalization folded or not) becomes one ai.leancnn
// BinaryConv, which the XNOR-popcount kernels run (kernels/binary).
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/binary_net.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::runtime {

namespace {
bool is_binarize(const ir::Node& n) { return n.domain == ir::kLeancnnDomain && n.op_type == "Binarize"; }

// A Gemm BinaryConv can run: Y = X W^T + C with a 1-D C of OC values.
bool plain_gemm(const ir::Graph& g, const ir::Node& n) {
  if (n.attrs.get_int("transA", 0) != 0 || n.attrs.get_int("transB", 0) != 1) return false;
  if (n.attrs.get_float("alpha", 1.f) != 1.f || n.attrs.get_float("beta", 1.f) != 1.f) return false;
  if (n.inputs.size() > 2 && n.inputs[2] != ir::kNone) {
    const ir::Value& c = g.value(n.inputs[2]);
    const ir::Value& w = g.value(n.inputs[1]);
    if (!c.is_initializer() || c.data.shape() != Shape{w.data.shape()[0]}) return false;
  }
  const ir::Value& x = g.value(n.inputs[0]);
  return x.shape_known && x.shape.size() == 2;
}
}  // namespace

int fuse_binary_layers(ir::Graph& g, const ir::OpTable& ops) {
  if (!ops.find(ir::kLeancnnDomain, "BinaryConv")) return 0;
  bool any = false;
  for (ir::NodeId id : g.node_ids()) any = any || is_binarize(g.node(id));
  if (!any) return 0;
  ir::infer_shapes(g, ops);  // the Gemm match reads its input's rank
  int rewrites = 0;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& layer = g.node(id);
    const bool conv = ir::is_onnx_op(layer, "Conv");
    if ((!conv && !ir::is_onnx_op(layer, "Gemm")) || layer.inputs.size() < 2 || layer.outputs.size() != 1) continue;
    const ir::Value& xv = g.value(layer.inputs[0]);
    if (xv.producer == ir::kNone || !is_binarize(g.node(xv.producer))) continue;
    const ir::Value& wv = g.value(layer.inputs[1]);
    if (!wv.is_initializer() || wv.data.dtype() != DType::f32) continue;
    if (conv && (layer.attrs.get_int("group", 1) != 1 || wv.data.shape().size() != 4)) continue;
    if (!conv && (wv.data.shape().size() != 2 || !plain_gemm(g, layer))) continue;
    std::vector<float> alpha;
    if (!ops::binary_row_scales(wv.data, alpha)) continue;

    const ir::NodeId bin_id = xv.producer;
    const ir::Node& bin = g.node(bin_id);
    std::vector<ir::ValueId> inputs = {bin.inputs[0], layer.inputs[1]};
    if (layer.inputs.size() > 2 && layer.inputs[2] != ir::kNone) inputs.push_back(layer.inputs[2]);
    ir::Attributes attrs;
    if (conv) attrs = layer.attrs;
    attrs.set("input_scale", bin.attrs.get_string("scale", "none"));
    const ir::ValueId out = layer.outputs[0], bin_out = bin.outputs[0];
    const std::string name = layer.name;
    g.remove_node(id);
    g.add_node("BinaryConv", inputs, {out}, std::move(attrs), name, ir::kLeancnnDomain);
    if (g.consumers(bin_out).empty() && !ir::is_graph_output(g, bin_out)) g.remove_node(bin_id);
    ++rewrites;
  }
  return rewrites;
}

}  // namespace leancnn::runtime
