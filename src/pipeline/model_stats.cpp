// Parameters, non-zeros, MACs and bit-widths of float and QDQ graphs (model_stats.h), read from
// the storage facts the op schemas give (ir/storage.h): no format is decoded here.
#include "leancnn/pipeline/model_stats.h"

#include <algorithm>
#include <map>

#include "leancnn/ir/storage.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::pipeline {

ModelStats model_stats(const ir::Graph& g) {
  const ir::OpTable& table = ops::op_table();
  ModelStats st;
  const ir::Summary summary = ir::summarize(g, table);
  st.macs = summary.macs;
  std::map<std::string, int64_t> layer_macs;
  for (const ir::SummaryRow& r : summary.rows) layer_macs[r.name] += r.macs;

  std::map<ir::ValueId, int64_t> nonzero_of;  // each stored tensor's non-zeros, counted once
  int widest_w = 0, widest_x = 0;
  int64_t removed_macs = 0;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") st.quantized = true;
    const ir::OpSchema* schema = table.find(n.domain, n.op_type);
    if (!schema) continue;
    for (int slot : schema->trainable_inputs) {
      if (slot >= static_cast<int>(n.inputs.size()) || n.inputs[slot] == ir::kNone) continue;
      const ir::StoredTensor s = ir::stored_tensor(g, table, n.inputs[slot]);
      if (!s.defined() || nonzero_of.count(s.value)) continue;
      st.params += s.count;
      st.nonzero_params += nonzero_of[s.value] = ir::stored_nonzero(g, s);
    }
    if ((n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "FusedConv") && n.inputs.size() >= 2) {
      const ir::StoredTensor w = ir::stored_tensor(g, table, n.inputs[1]);
      LayerBits lb;
      lb.weight_bits = w.defined() ? w.bits : 32;
      lb.input_bits = ir::value_bits(g, table, n.inputs[0]);
      if (w.defined() && w.count > 0) {
        auto nz = nonzero_of.find(w.value);
        const int64_t nonzero = nz != nonzero_of.end() ? nz->second : ir::stored_nonzero(g, w);
        lb.weight_density = static_cast<double>(nonzero) / static_cast<double>(w.count);
      }
      widest_w = std::max(widest_w, lb.weight_bits);
      widest_x = std::max(widest_x, lb.input_bits);
      removed_macs += static_cast<int64_t>(static_cast<double>(layer_macs[n.name]) * (1.0 - lb.weight_density));
      st.layers[n.name] = lb;
    }
  }
  if (widest_w > 0) st.weight_bits = widest_w;
  if (widest_x > 0) st.activation_bits = widest_x;
  st.effective_macs = st.macs - removed_macs;
  return st;
}

}  // namespace leancnn::pipeline
