// Import-time graph passes: a zero Pad folded into the pads of the Conv or pool that reads it,
// and the graph rebuilt without what the rewriting left unused.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/sparse_storage.h"
#include "onnx_import.h"

namespace leancnn::io::onnx_detail {

namespace {
// The [top, left, bottom, right] spatial pads of a Pad node when it pads a 4-D tensor on H
// and W only, by amounts >= 0, with a constant value; `value` receives it. False otherwise.
bool spatial_pads(const ir::Graph& g, const ir::Node& pad, std::vector<int64_t>* hw, float* value) {
  if (pad.attrs.get_string("mode", "constant") != "constant" || pad.inputs.size() < 2) return false;
  const ir::Value& data = g.value(pad.inputs[0]);
  const ir::Value& pads = g.value(pad.inputs[1]);
  if (data.shape.size() != 4 || data.dtype != DType::f32 || !pads.is_initializer() || pads.dtype != DType::s64 ||
      pads.data.numel() != 8)
    return false;
  const int64_t* p = pads.data.data<int64_t>();  // [n, c, h, w] begins, then ends
  if (p[0] || p[1] || p[4] || p[5]) return false;
  for (int i = 0; i < 8; ++i)
    if (p[i] < 0) return false;
  *hw = {p[2], p[3], p[6], p[7]};
  *value = 0.f;
  if (pad.inputs.size() > 2 && pad.inputs[2] != ir::kNone) {
    const ir::Value& v = g.value(pad.inputs[2]);
    if (!v.is_initializer() || v.dtype != DType::f32 || v.data.numel() != 1) return false;
    *value = v.data.data<float>()[0];
  }
  return true;
}

// Whether padding the input with `value` before `reader` equals adding the pads to reader's
// own: Conv pads with zeros; AveragePool with count_include_pad counts zeros; MaxPool's pads
// are -inf. Pools in ceil mode are left alone (the dropped last window depends on where the
// padding is).
bool absorbs(const ir::Node& reader, float value) {
  if (!reader.domain.empty() || reader.attrs.get_string("auto_pad", "NOTSET") != "NOTSET") return false;
  if (reader.op_type == "Conv") return value == 0.f;
  if (reader.attrs.get_int("ceil_mode", 0) != 0) return false;
  if (reader.op_type == "AveragePool") return value == 0.f && reader.attrs.get_int("count_include_pad", 0) == 1;
  if (reader.op_type == "MaxPool") return std::isinf(value) && value < 0;
  return false;
}
}  // namespace

void fold_sparse_storage(ir::Graph& g, std::set<ir::ValueId>& maybe_unused) {
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (n.op_type != "SparseToDense" || n.domain != ir::kLeancnnDomain || n.inputs.size() != 2 || n.outputs.size() != 1)
      continue;
    if (!g.value(n.inputs[0]).is_initializer() || !g.value(n.inputs[1]).is_initializer()) continue;
    const ir::Value& mask = g.value(n.inputs[0]);
    const ir::Value& values = g.value(n.inputs[1]);
    Tensor dense;
    try {
      if (!n.attrs.has("shape")) fail(ErrorKind::bad_input, "needs the attribute 'shape' (the dense dims)");
      const Shape shape = n.attrs.get_ints("shape", {});
      for (int64_t d : shape)
        if (d < 0) fail(ErrorKind::bad_input, "attribute 'shape' has a negative dim ", d);
      if (mask.dtype != DType::u8 || values.data.rank() != 1)
        fail(ErrorKind::bad_input, "needs a u8 mask and 1-D values");
      if (values.dtype != DType::f32 && values.dtype != DType::s8 && values.dtype != DType::u8)
        fail(ErrorKind::bad_input, "values must be f32, s8 or u8, got ", dtype_name(values.dtype));
      dense = Tensor::empty(shape, values.dtype);
      ops::sparse_decode(mask.data, values.data, dense);
    } catch (Error& e) {
      e.add_context(n.label());
      throw;
    }
    const ir::ValueId out = n.outputs[0];
    maybe_unused.insert(n.inputs[0]);
    maybe_unused.insert(n.inputs[1]);
    g.remove_node(id);
    ir::Value& v = g.value(out);
    v.shape = dense.shape();
    v.dtype = dense.dtype();
    v.shape_known = true;
    v.data = dense;
  }
}

void fold_pads(ir::Graph& g, std::set<ir::ValueId>& maybe_unused) {
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& pad = g.node(id);
    if (pad.op_type != "Pad" || !pad.domain.empty() || pad.outputs.size() != 1) continue;
    std::vector<int64_t> hw;
    float value;
    if (!spatial_pads(g, pad, &hw, &value)) continue;
    const ir::ValueId out = pad.outputs[0];
    const ir::NodeId only = ir::sole_consumer(g, out);
    if (only == ir::kNone) continue;
    ir::Node& reader = g.node(only);
    if (reader.inputs.empty() || reader.inputs[0] != out || !absorbs(reader, value)) continue;
    if (std::count(reader.inputs.begin(), reader.inputs.end(), out) != 1) continue;
    std::vector<int64_t> pads = reader.attrs.get_ints("pads", {0, 0, 0, 0});
    if (pads.size() != 4) continue;
    for (int i = 0; i < 4; ++i) pads[i] += hw[i];
    reader.attrs.set("pads", pads);
    reader.inputs[0] = pad.inputs[0];
    for (size_t i = 1; i < pad.inputs.size(); ++i)
      if (pad.inputs[i] != ir::kNone) maybe_unused.insert(pad.inputs[i]);
    g.remove_node(id);
  }
}

ir::Graph drop_unused(ir::Graph g, const std::set<ir::ValueId>& maybe_unused) {
  std::vector<bool> read(g.num_values(), false), live_out(g.num_values(), false);
  bool removed_nodes = false;
  for (int id = 0; id < g.num_node_slots(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.removed) {
      removed_nodes = true;
      continue;
    }
    for (ir::ValueId v : n.inputs)
      if (v != ir::kNone) read[v] = true;
    for (ir::ValueId v : n.outputs) live_out[v] = true;
  }
  for (ir::ValueId v : g.outputs()) read[v] = true;
  for (ir::ValueId v : g.inputs()) read[v] = true;
  std::vector<bool> keep(g.num_values(), true);
  bool any_dropped = false;
  for (ir::ValueId v = 0; v < g.num_values(); ++v) {
    const ir::Value& val = g.value(v);
    if (val.is_initializer())
      keep[v] = read[v] || !maybe_unused.count(v);
    else
      keep[v] = read[v] || live_out[v];
    any_dropped = any_dropped || !keep[v];
  }
  if (!any_dropped && !removed_nodes) return g;

  ir::Graph out;
  out.name = g.name;
  std::vector<ir::ValueId> map(g.num_values(), ir::kNone);
  const std::set<ir::ValueId> inputs(g.inputs().begin(), g.inputs().end());
  for (ir::ValueId v = 0; v < g.num_values(); ++v) {
    if (!keep[v]) continue;
    const ir::Value& val = g.value(v);
    if (inputs.count(v))
      map[v] = out.add_input(val.name, val.shape, val.dtype);
    else if (val.is_initializer())
      map[v] = out.add_initializer(val.name, val.data, val.trainable);
    else
      map[v] = out.add_value(val.name);
  }
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    std::vector<ir::ValueId> in, res;
    for (ir::ValueId v : n.inputs) in.push_back(v == ir::kNone ? ir::kNone : map[v]);
    for (ir::ValueId v : n.outputs) res.push_back(map[v]);
    out.add_node(n.op_type, in, res, n.attrs, n.name, n.domain);
  }
  for (ir::ValueId v : g.outputs()) out.mark_output(map[v]);
  return out;
}

}  // namespace leancnn::io::onnx_detail
