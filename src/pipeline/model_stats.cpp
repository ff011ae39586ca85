// Parameters, non-zeros, MACs and bit-widths of float and QDQ graphs (model_stats.h).
#include "leancnn/pipeline/model_stats.h"

#include <algorithm>
#include <set>
#include <vector>

#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::pipeline {

namespace {

// Where a learnable slot's value is stored: the initializer, and how to read it.
struct Source {
  ir::ValueId value = ir::kNone;
  bool int4 = false;    // packed 4-bit behind ai.leancnn::UnpackInt4
  int64_t count = 0;    // logical elements
};

Source trace(const ir::Graph& g, ir::ValueId v) {
  for (int hops = 0; hops < 4 && v != ir::kNone; ++hops) {
    const ir::Value& val = g.value(v);
    if (val.is_initializer()) return {v, false, val.data.numel()};
    if (val.producer == ir::kNone) return {};
    const ir::Node& p = g.node(val.producer);
    if (p.op_type == "DequantizeLinear" && !p.inputs.empty()) {
      v = p.inputs[0];
    } else if (p.op_type == "UnpackInt4" && !p.inputs.empty()) {
      const ir::Value& packed = g.value(p.inputs[0]);
      if (!packed.is_initializer()) return {};
      int64_t n = 1;
      for (int64_t d : p.attrs.get_ints("shape", {})) n *= d;
      return {p.inputs[0], true, n};
    } else {
      return {};
    }
  }
  return {};
}

int64_t count_nonzero(const ir::Graph& g, const Source& s) {
  const Tensor& t = g.value(s.value).data;
  const int64_t n = t.numel();
  int64_t nz = 0;
  if (s.int4) {
    std::vector<int8_t> vals(static_cast<size_t>(s.count));
    ops::unpack_int4(t.data<uint8_t>(), s.count, vals.data());
    return std::count_if(vals.begin(), vals.end(), [](int8_t x) { return x != 0; });
  }
  switch (t.dtype()) {
    case DType::f32: { const float* p = t.data<float>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0.f; break; }
    case DType::s8: { const int8_t* p = t.data<int8_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::u8: { const uint8_t* p = t.data<uint8_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::s32: { const int32_t* p = t.data<int32_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::s64: { const int64_t* p = t.data<int64_t>(); for (int64_t i = 0; i < n; ++i) nz += p[i] != 0; break; }
    case DType::b1: nz = n; break;  // ±1: never zero
  }
  return nz;
}

int bits_of(const ir::Graph& g, const Source& s) {
  if (s.value == ir::kNone) return 32;
  if (s.int4) return 4;
  switch (g.value(s.value).data.dtype()) {
    case DType::s8: case DType::u8: return 8;
    case DType::b1: return 1;
    default: return 32;
  }
}

// 8 when v is DequantizeLinear of an 8-bit tensor, else 32.
int input_bits(const ir::Graph& g, ir::ValueId v) {
  if (v == ir::kNone || g.value(v).producer == ir::kNone) return 32;
  const ir::Node& p = g.node(g.value(v).producer);
  if (p.op_type != "DequantizeLinear" || p.inputs.empty()) return 32;
  const DType t = g.value(p.inputs[0]).dtype;
  return t == DType::u8 || t == DType::s8 ? 8 : 32;
}

}  // namespace

ModelStats model_stats(const ir::Graph& g) {
  const ir::OpTable& table = ops::op_table();
  ModelStats st;
  const ir::Summary summary = ir::summarize(g, table);
  st.macs = summary.macs;
  std::map<std::string, int64_t> layer_macs;
  for (const ir::SummaryRow& r : summary.rows) layer_macs[r.name] += r.macs;

  std::set<ir::ValueId> counted;
  int widest_w = 0, widest_x = 0;
  int64_t removed_macs = 0;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") st.quantized = true;
    const ir::OpSchema* schema = table.find(n.domain, n.op_type);
    if (!schema) continue;
    for (int slot : schema->trainable_inputs) {
      if (slot >= static_cast<int>(n.inputs.size()) || n.inputs[slot] == ir::kNone) continue;
      const Source s = trace(g, n.inputs[slot]);
      if (s.value == ir::kNone || !counted.insert(s.value).second) continue;
      st.params += s.count;
      st.nonzero_params += count_nonzero(g, s);
    }
    if ((n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "FusedConv") && n.inputs.size() >= 2) {
      const Source w = trace(g, n.inputs[1]);
      LayerBits lb;
      lb.weight_bits = bits_of(g, w);
      lb.input_bits = input_bits(g, n.inputs[0]);
      if (w.value != ir::kNone && w.count > 0)
        lb.weight_density = static_cast<double>(count_nonzero(g, w)) / static_cast<double>(w.count);
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
