// Removing units (groups.h): every tensor axis that carries them loses its entries, the
// attributes and shape constants that count channels follow; or, for the oracle, the same units
// masked to zero in a dense copy.
#include <algorithm>
#include <map>

#include "leancnn/compress/structured/groups.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::structured {

namespace {

void check_removal(const ChannelGraph& cg, const std::set<int>& removed) {
  std::vector<int64_t> per_group(cg.groups.size(), 0);
  for (int u : removed) {
    if (u < 0 || u >= static_cast<int>(cg.units.size())) fail(ErrorKind::internal, "unit ", u, " is not in the analysis");
    const Group& gr = cg.groups[static_cast<size_t>(cg.units[u].group)];
    if (!gr.removable) fail(ErrorKind::usage, "group '", gr.name, "' cannot lose channels: ", gr.why_not);
    ++per_group[static_cast<size_t>(cg.units[u].group)];
  }
  for (size_t i = 0; i < cg.groups.size(); ++i)
    if (per_group[i] > 0 && per_group[i] >= static_cast<int64_t>(cg.groups[i].units.size()))
      fail(ErrorKind::usage, "group '", cg.groups[i].name, "' would lose all of its ", cg.groups[i].units.size(),
           " channels (a layer cannot have none; use layer pruning to remove a block)");
}

// The entries of t kept along each axis (keep[a] lists indices; empty list = every index).
Tensor gather(const Tensor& t, const std::vector<std::vector<int64_t>>& keep) {
  const Shape& s = t.shape();
  const int rank = static_cast<int>(s.size());
  std::vector<std::vector<int64_t>> idx(static_cast<size_t>(rank));
  Shape out_shape(s.size());
  for (int a = 0; a < rank; ++a) {
    if (keep[a].empty() && s[a] > 0) {
      for (int64_t i = 0; i < s[a]; ++i) idx[a].push_back(i);
    } else {
      idx[a] = keep[a];
    }
    out_shape[a] = static_cast<int64_t>(idx[a].size());
  }
  Tensor out = Tensor::empty(out_shape, t.dtype());
  const size_t elem = t.nbytes() / static_cast<size_t>(std::max<int64_t>(1, t.numel()));
  std::vector<int64_t> stride(s.size(), 1);
  for (int a = rank - 2; a >= 0; --a) stride[a] = stride[a + 1] * s[a + 1];
  const auto* src = static_cast<const unsigned char*>(t.raw());
  auto* dst = static_cast<unsigned char*>(out.raw());
  const int64_t n = shape_numel(out_shape);
  std::vector<int64_t> pos(s.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (int a = 0; a < rank; ++a) off += idx[a][pos[a]] * stride[a];
    std::copy(src + off * static_cast<int64_t>(elem), src + (off + 1) * static_cast<int64_t>(elem), dst + i * static_cast<int64_t>(elem));
    for (int a = rank - 1; a >= 0; --a) {
      if (++pos[a] < out_shape[a]) break;
      pos[a] = 0;
    }
  }
  return out;
}

int64_t kept(const std::vector<int>& units, const std::set<int>& removed) {
  return std::count_if(units.begin(), units.end(), [&](int u) { return u < 0 || removed.count(u) == 0; });
}

// A fresh s64 shape/sizes initializer for input `slot` of node n (shared constants stay intact).
void set_ints(ir::Graph& g, ir::Node& n, size_t slot, const std::vector<int64_t>& values) {
  const std::string name = g.unique_value_name(g.value(n.inputs[slot]).name + "_pruned");
  n.inputs[slot] = g.add_initializer(name, Tensor::from_ints({static_cast<int64_t>(values.size())}, values, DType::s64), false);
}

std::vector<int64_t> ints_of(const Tensor& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) out[i] = t.data<int64_t>()[i];
  return out;
}

void fix_attributes(ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed) {
  const auto count = [&](ir::ValueId v) { return kept(cg.value_units[v], removed); };
  const auto tracked = [&](ir::ValueId v) { return v != ir::kNone && !cg.value_units[v].empty(); };
  for (ir::NodeId id : g.node_ids()) {
    ir::Node& n = g.node(id);
    if (ir::is_onnx_op(n, "Conv") && n.attrs.get_int("group", 1) > 1 && tracked(n.inputs[0]) && tracked(n.outputs[0]) &&
        cg.value_units[n.inputs[0]] == cg.value_units[n.outputs[0]]) {
      n.attrs.set("group", count(n.inputs[0]));  // depthwise: one group per remaining channel
    } else if (ir::is_onnx_op(n, "Split") && tracked(n.inputs[0])) {
      std::vector<int64_t> sizes;
      for (ir::ValueId v : n.outputs) sizes.push_back(count(v));
      if (n.inputs.size() >= 2 && n.inputs[1] != ir::kNone) set_ints(g, n, 1, sizes);
      else n.attrs.set("split", sizes);
    } else if (ir::is_onnx_op(n, "Reshape") && tracked(n.inputs[0]) && n.inputs.size() == 2) {
      std::vector<int64_t> shape = ints_of(g.value(n.inputs[1]).data);
      if (tracked(n.outputs[0])) {
        if (shape.size() >= 2 && shape[1] != -1) shape[1] = count(n.outputs[0]);  // flatten, or the shuffle's way back
      } else if (shape.size() == 5) {
        shape[2] = count(n.inputs[0]) / shape[1];  // the shuffle's [N, g, C/g, H, W]
      }
      set_ints(g, n, 1, shape);
    } else if (ir::is_onnx_op(n, "Reshape") && n.inputs.size() == 2 && tracked(n.outputs[0]) && !tracked(n.inputs[0])) {
      std::vector<int64_t> shape = ints_of(g.value(n.inputs[1]).data);  // the shuffle's way back to [N, C, H, W]
      if (shape.size() >= 2) shape[1] = count(n.outputs[0]);
      set_ints(g, n, 1, shape);
    }
  }
}

}  // namespace

ir::Graph remove_units(const ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed) {
  check_removal(cg, removed);
  ir::Graph out = g;
  std::map<ir::ValueId, std::vector<std::vector<int64_t>>> keep;
  for (const TensorAxis& a : cg.tensors) {
    const Tensor& t = g.value(a.value).data;
    auto& k = keep.try_emplace(a.value, std::vector<std::vector<int64_t>>(static_cast<size_t>(t.rank()))).first->second;
    std::vector<int64_t> idx;
    for (size_t i = 0; i < a.units.size(); ++i)
      if (a.units[i] < 0 || removed.count(a.units[i]) == 0) idx.push_back(static_cast<int64_t>(i));
    if (idx.size() == a.units.size()) continue;
    k[static_cast<size_t>(a.axis)] = idx;
  }
  for (auto& [v, k] : keep) {
    bool any = false;
    for (const auto& ax : k) any = any || !ax.empty();
    if (!any) continue;
    ir::Value& val = out.value(v);
    val.data = gather(g.value(v).data, k);
    val.shape = val.data.shape();
  }
  fix_attributes(out, cg, removed);
  for (ir::ValueId v = 0; v < out.num_values(); ++v)
    if (out.value(v).producer != ir::kNone) out.value(v).shape_known = false;
  ir::infer_shapes(out, ops::op_table());
  ir::verify(out, ops::op_table());
  return out;
}

ir::Graph mask_units(const ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed) {
  check_removal(cg, removed);
  ir::Graph out = ir::with_own_initializers(g);
  for (const TensorAxis& a : cg.tensors) {
    if (!a.producer) continue;
    Tensor& t = out.value(a.value).data;
    const Shape& s = t.shape();
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < a.axis; ++i) outer *= s[i];
    for (size_t i = static_cast<size_t>(a.axis) + 1; i < s.size(); ++i) inner *= s[i];
    float* p = t.data<float>();
    for (int64_t o = 0; o < outer; ++o)
      for (size_t c = 0; c < a.units.size(); ++c)
        if (a.units[c] >= 0 && removed.count(a.units[c]))
          std::fill_n(p + (o * static_cast<int64_t>(a.units.size()) + static_cast<int64_t>(c)) * inner, inner, 0.f);
  }
  return out;
}

}  // namespace leancnn::compress::structured
