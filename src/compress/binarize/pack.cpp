// Packing a trained binarized graph (binarize.h pack_binary): FakeBinarize evaluated into
// ±alpha rows, BatchNormalization folded (rows stay ±alpha), then each binarized weight stored as
// ai.leancnn BinaryWeights(packed bits, alpha) in the format of leancnn/ops/binary_net.h.
#include <cmath>
#include <map>
#include <set>

#include "leancnn/compress/binarize/binarize.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/binary_net.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::compress::binarize {

namespace {
bool is_fake_binarize(const ir::Node& n) { return n.domain == ir::kLeancnnDomain && n.op_type == "FakeBinarize"; }

// Per-row alpha of a binary (bits 1: every value ±alpha) or ternary (bits 2: 0 or ±alpha) tensor.
std::vector<float> row_alpha(const Tensor& w, int bits, const std::string& what) {
  const int64_t rows = w.shape()[0], inner = rows == 0 ? 0 : w.numel() / rows;
  const float* p = w.data<float>();
  std::vector<float> alpha(static_cast<size_t>(rows), 0.f);
  for (int64_t r = 0; r < rows; ++r) {
    float a = 0.f;
    for (int64_t i = 0; i < inner; ++i) a = std::fmax(a, std::fabs(p[r * inner + i]));
    for (int64_t i = 0; i < inner; ++i) {
      const float v = std::fabs(p[r * inner + i]);
      if (v != a && !(bits == 2 && v == 0.f))
        fail(ErrorKind::bad_input, "binarize: weights '", what, "' row ", r, " hold magnitudes ", a, " and ", v,
             bits == 1 ? " (a binary row is all ±alpha)" : " (a ternary row is 0 or ±alpha)");
    }
    alpha[static_cast<size_t>(r)] = a;
  }
  return alpha;
}
}  // namespace

ir::Graph pack_binary(const ir::Graph& trained) {
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = ir::with_own_initializers(trained);
  const ir::OpSchema& fb = *ops.find(ir::kLeancnnDomain, "FakeBinarize");
  // 1. FakeBinarize(latent) -> its inference output as an initializer; remember the layers.
  std::map<std::string, int> layer_bits;  // layer node name -> 1 or 2
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node node = g.node(id);  // a copy: adding values may reallocate
    if (!is_fake_binarize(node)) continue;
    const ir::Value& w = g.value(node.inputs[0]);
    if (!w.is_initializer())
      fail(ErrorKind::bad_input, "binarize: FakeBinarize ", node.label(), " reads '", w.name, "', which is not an initializer");
    ir::ForwardCtx ctx{node, {w.data}, {Tensor::empty(w.data.shape())}};
    fb.forward(ctx);
    const int bits = ops::binarize_method_bits(ops::parse_binarize_method(node.attrs.get_string("method", "sign")));
    const ir::ValueId out = node.outputs[0];
    const ir::ValueId latent = node.inputs[0];
    for (ir::NodeId reader : g.consumers(out)) layer_bits[g.node(reader).name] = bits;
    const ir::ValueId fixed = g.add_initializer(g.unique_value_name(g.value(latent).name + ".binary"), ctx.outputs[0], false);
    g.remove_node(id);
    ir::replace_uses(g, out, fixed);
    ir::release_dead_initializers(g, {latent});
  }
  for (ir::ValueId v : g.initializers()) g.value(v).trainable = false;
  ir::infer_shapes(g, ops);
  // 2. BatchNormalization into the rows: W * s[oc] keeps every row ±alpha' (0 stays 0).
  runtime::fold_batch_norm(g, ops);
  // 3. Each binarized layer's weights packed.
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node layer = g.node(id);
    auto it = layer_bits.find(layer.name);
    if (it == layer_bits.end() || layer.inputs.size() < 2) continue;
    const ir::Value& wv = g.value(layer.inputs[1]);
    if (!wv.is_initializer()) continue;
    const Tensor w = wv.data.is_contiguous() ? wv.data : wv.data.clone();
    const int bits = it->second;
    const std::vector<float> alpha = row_alpha(w, bits, wv.name);
    const std::vector<uint8_t> packed =
        bits == 1 ? ops::pack_signs(w.data<float>(), w.numel()) : ops::pack_ternary(w.data<float>(), w.numel());
    Tensor pt = Tensor::empty({static_cast<int64_t>(packed.size())}, DType::u8);
    std::copy(packed.begin(), packed.end(), pt.data<uint8_t>());
    const std::string base = wv.name;
    const ir::ValueId old_w = layer.inputs[1];
    const ir::ValueId pv = g.add_initializer(g.unique_value_name(base + ".bits"), pt, false);
    const ir::ValueId av = g.add_initializer(g.unique_value_name(base + ".alpha"),
                                             Tensor::from_floats({static_cast<int64_t>(alpha.size())}, alpha), false);
    const ir::ValueId decoded = g.add_value(g.unique_value_name(base + ".decoded"));
    ir::Attributes a;
    a.set("shape", w.shape());
    a.set("bits", int64_t{bits});
    g.add_node("BinaryWeights", {pv, av}, {decoded}, a, g.unique_value_name(base + ".unpack"), ir::kLeancnnDomain);
    g.node(id).inputs[1] = decoded;
    ir::release_dead_initializers(g, {old_w});
  }
  ir::infer_shapes(g, ops);
  ir::verify(g, ops);
  return g;
}

}  // namespace leancnn::compress::binarize
