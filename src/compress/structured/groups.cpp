// The channel dependency analysis (groups.h): slots, their unions op by op, units and groups.
#include <algorithm>
#include <map>
#include <numeric>

#include "leancnn/compress/common/layers.h"
#include "leancnn/compress/structured/groups.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"

namespace leancnn::compress::structured {

namespace {

struct SlotRecord {
  std::vector<std::pair<ir::NodeId, int64_t>> sources, consumers, norms;
};

class Analysis {
 public:
  explicit Analysis(const ir::Graph& g) : g_(g), chan_(static_cast<size_t>(g.num_values())) {}

  ChannelGraph run();

 private:
  int fresh(bool blocked) {
    parent_.push_back(static_cast<int>(parent_.size()));
    blocked_.push_back(blocked);
    return parent_.back();
  }
  int find(int s) {
    while (parent_[s] != s) s = parent_[s] = parent_[parent_[s]];
    return s;
  }
  void unite(int a, int b) {
    a = find(a), b = find(b);
    if (a == b) return;
    parent_[b] = a;
    blocked_[a] = blocked_[a] || blocked_[b];
  }
  void block(int s) { blocked_[find(s)] = true; }
  void block_value(ir::ValueId v) {
    if (v != ir::kNone)
      for (int s : chan_[v]) block(s);
  }
  std::vector<int> fresh_channels(int64_t n, bool blocked) {
    std::vector<int> out(static_cast<size_t>(n));
    for (int& s : out) s = fresh(blocked);
    return out;
  }
  bool has_channels(ir::ValueId v) const { return v != ir::kNone && !chan_[v].empty(); }
  // A value with a channel dim (rank >= 2, f32, not an initializer).
  bool channel_value(ir::ValueId v) const {
    const ir::Value& x = g_.value(v);
    return !x.is_initializer() && x.shape_known && x.shape.size() >= 2 && x.dtype == DType::f32;
  }
  void unknown(const ir::Node& n) {
    for (ir::ValueId v : n.inputs) block_value(v);
    for (ir::ValueId v : n.outputs)
      if (channel_value(v)) chan_[v] = fresh_channels(g_.value(v).shape[1], true);
  }
  void axis(ir::ValueId v, int ax, std::vector<int> slots, bool producer, const ir::Node& n) {
    if (v == ir::kNone || !g_.value(v).is_initializer()) return;
    axes_.push_back({v, ax, std::move(slots), producer, n.name});
  }
  void weight_layer(const ir::Node& n);
  bool passthrough(const ir::Node& n) const;
  bool shuffle(const ir::Node& n);
  void node(const ir::Node& n);

  const ir::Graph& g_;
  std::vector<std::vector<int>> chan_;
  std::vector<int> parent_;
  std::vector<bool> blocked_;
  std::map<int, SlotRecord> records_;  // by slot (resolved to roots at the end)
  std::vector<TensorAxis> axes_;       // units hold slots until the end
  std::vector<ir::NodeId> skip_;       // nodes a recognised pattern already handled
};

bool Analysis::passthrough(const ir::Node& n) const {
  static const char* kOps[] = {"Relu", "LeakyRelu", "HardSwish", "Tanh", "MaxPool", "AveragePool", "GlobalAveragePool",
                               "GlobalMaxPool", "Dropout", "Identity"};
  for (const char* op : kOps)
    if (ir::is_onnx_op(n, op)) return true;
  if (ir::is_onnx_op(n, "Clip")) {  // zero-preserving bounds only: a removed (zero) channel stays zero
    float lo = -1, hi = 1;
    if (n.inputs.size() > 1 && n.inputs[1] != ir::kNone && !ir::scalar_initializer(g_, n.inputs[1], lo)) return false;
    if (n.inputs.size() > 2 && n.inputs[2] != ir::kNone && !ir::scalar_initializer(g_, n.inputs[2], hi)) return false;
    return lo <= 0.f && hi >= 0.f;
  }
  return false;
}

void Analysis::weight_layer(const ir::Node& n) {
  const ir::Value& w = g_.value(n.inputs[1]);
  const ir::ValueId bias = n.inputs.size() > 2 ? n.inputs[2] : ir::kNone;
  const ir::ValueId x = n.inputs[0], y = n.outputs[0];
  const int64_t oc = w.data.dim(0);
  const bool gemm = ir::is_onnx_op(n, "Gemm");
  const int64_t group = gemm ? 1 : n.attrs.get_int("group", 1);
  const std::vector<int>& in = chan_[x];
  if (group == 1) {
    std::vector<int> out = fresh_channels(oc, false);
    for (int64_t c = 0; c < oc; ++c) records_[out[c]].sources.push_back({n.id, c});
    if (static_cast<int64_t>(in.size()) == w.data.dim(1)) {
      for (size_t c = 0; c < in.size(); ++c) records_[in[c]].consumers.push_back({n.id, static_cast<int64_t>(c)});
      axis(n.inputs[1], 1, in, false, n);
    } else {
      block_value(x);  // input channels the analysis cannot map
    }
    axis(n.inputs[1], 0, out, true, n);
    axis(bias, 0, out, true, n);
    chan_[y] = out;
    return;
  }
  const int64_t ic = static_cast<int64_t>(in.size());
  if (group == ic && oc == ic && w.data.dim(1) == 1) {  // depthwise, multiplier 1: output c is input c
    axis(n.inputs[1], 0, in, true, n);
    axis(bias, 0, in, true, n);
    chan_[y] = in;
    return;
  }
  block_value(x);  // grouped convolutions keep their channels (the groups' sizes would change)
  chan_[y] = fresh_channels(oc, true);
}

// ShuffleNet's channel shuffle: Reshape [N, C, H, W] -> [N, g, C/g, H, W], Transpose
// [0, 2, 1, 3, 4], Reshape back to [N, C, H, W]. Output channel j*g + i is input i*(C/g) + j; the
// reshape stays valid only when channel j goes from every one of the g parts at once.
bool Analysis::shuffle(const ir::Node& n) {
  if (!ir::is_onnx_op(n, "Reshape") || !has_channels(n.inputs[0])) return false;
  const ir::Value& x = g_.value(n.inputs[0]);
  const ir::Value& r1 = g_.value(n.outputs[0]);
  if (x.shape.size() != 4 || !r1.shape_known || r1.shape.size() != 5) return false;
  const int64_t c = x.shape[1], parts = r1.shape[1];
  if (r1.shape[2] * parts != c || r1.shape[3] != x.shape[2] || r1.shape[4] != x.shape[3]) return false;
  const ir::NodeId t_id = ir::sole_consumer(g_, n.outputs[0]);
  if (t_id == ir::kNone) return false;
  const ir::Node& t = g_.node(t_id);
  if (!ir::is_onnx_op(t, "Transpose") || t.attrs.get_ints("perm", {}) != std::vector<int64_t>{0, 2, 1, 3, 4}) return false;
  const ir::NodeId r2_id = ir::sole_consumer(g_, t.outputs[0]);
  if (r2_id == ir::kNone) return false;
  const ir::Node& r2 = g_.node(r2_id);
  const ir::Value& y = g_.value(r2.outputs[0]);
  if (!ir::is_onnx_op(r2, "Reshape") || !y.shape_known || y.shape != x.shape) return false;
  for (ir::ValueId s : {n.inputs[1], r2.inputs[1]})
    if (s == ir::kNone || !g_.value(s).is_initializer()) return false;
  const std::vector<int>& in = chan_[n.inputs[0]];
  const int64_t per = c / parts;
  std::vector<int> out(static_cast<size_t>(c));
  for (int64_t j = 0; j < per; ++j)
    for (int64_t i = 0; i < parts; ++i) {
      unite(in[j], in[i * per + j]);
      out[j * parts + i] = in[i * per + j];
    }
  chan_[r2.outputs[0]] = out;
  skip_.push_back(t_id);
  skip_.push_back(r2_id);
  return true;
}

void Analysis::node(const ir::Node& n) {
  if (std::find(skip_.begin(), skip_.end(), n.id) != skip_.end()) return;
  const auto in0 = [&] { return n.inputs.empty() ? ir::kNone : n.inputs[0]; };
  if (is_weight_layer(g_, n) && has_channels(in0())) return weight_layer(n);
  if (ir::is_onnx_op(n, "BatchNormalization") && has_channels(in0())) {
    const std::vector<int>& in = chan_[in0()];
    bool ok = true;
    for (size_t i = 1; i < 5 && i < n.inputs.size(); ++i)
      ok = ok && g_.value(n.inputs[i]).is_initializer() && g_.value(n.inputs[i]).data.numel() == static_cast<int64_t>(in.size());
    if (!ok || n.inputs.size() != 5) return unknown(n);
    for (size_t c = 0; c < in.size(); ++c) records_[in[c]].norms.push_back({n.id, static_cast<int64_t>(c)});
    for (size_t i = 1; i < 5; ++i) axis(n.inputs[i], 0, in, i <= 2, n);
    chan_[n.outputs[0]] = in;
    for (size_t i = 1; i < n.outputs.size(); ++i) block_value(n.outputs[i]);
    return;
  }
  if (passthrough(n) && has_channels(in0()) && n.outputs.size() >= 1) {
    chan_[n.outputs[0]] = chan_[in0()];
    return;
  }
  if ((ir::is_onnx_op(n, "Add") || ir::is_onnx_op(n, "Sum") || ir::is_onnx_op(n, "Sub") || ir::is_onnx_op(n, "Mul")) &&
      n.inputs.size() >= 2) {
    bool same = true;
    for (ir::ValueId v : n.inputs)
      same = same && has_channels(v) && g_.value(v).shape == g_.value(n.outputs[0]).shape;
    if (!same) return unknown(n);
    const std::vector<int>& a = chan_[n.inputs[0]];
    for (size_t i = 1; i < n.inputs.size(); ++i)
      for (size_t c = 0; c < a.size(); ++c) unite(a[c], chan_[n.inputs[i]][c]);
    chan_[n.outputs[0]] = a;
    return;
  }
  if (ir::is_onnx_op(n, "Concat") && n.attrs.get_int("axis", 0) == 1) {
    std::vector<int> out;
    for (ir::ValueId v : n.inputs) {
      if (!has_channels(v)) return unknown(n);
      out.insert(out.end(), chan_[v].begin(), chan_[v].end());
    }
    chan_[n.outputs[0]] = out;
    return;
  }
  if (ir::is_onnx_op(n, "Split") && n.attrs.get_int("axis", 0) == 1 && has_channels(in0()) &&
      (n.inputs.size() < 2 || n.inputs[1] == ir::kNone || g_.value(n.inputs[1]).is_initializer()) &&
      (n.inputs.size() >= 2 || n.attrs.has("split"))) {
    const std::vector<int>& in = chan_[in0()];
    size_t at = 0;
    for (ir::ValueId v : n.outputs) {
      const size_t c = static_cast<size_t>(g_.value(v).shape[1]);
      chan_[v].assign(in.begin() + static_cast<std::ptrdiff_t>(at), in.begin() + static_cast<std::ptrdiff_t>(at + c));
      at += c;
    }
    return;
  }
  if (shuffle(n)) return;
  const bool flatten = ir::is_onnx_op(n, "Flatten") && n.attrs.get_int("axis", 1) == 1;
  const bool reshape_2d = ir::is_onnx_op(n, "Reshape") && g_.value(n.outputs[0]).shape_known &&
                          g_.value(n.outputs[0]).shape.size() == 2 && n.inputs.size() == 2 &&
                          g_.value(n.inputs[1]).is_initializer();
  if ((flatten || reshape_2d) && has_channels(in0()) && g_.value(in0()).shape.size() >= 2) {
    const ir::Value& x = g_.value(in0());
    const int64_t spatial = shape_numel(x.shape) / (x.shape[0] * x.shape[1]);
    const std::vector<int>& in = chan_[in0()];
    std::vector<int> out;
    for (int s : in) out.insert(out.end(), static_cast<size_t>(spatial), s);
    chan_[n.outputs[0]] = out;
    return;
  }
  unknown(n);
}

ChannelGraph Analysis::run() {
  for (ir::ValueId v : g_.inputs())
    if (channel_value(v)) chan_[v] = fresh_channels(g_.value(v).shape[1], true);
  for (ir::NodeId id : g_.topo_order()) node(g_.node(id));
  for (ir::ValueId v : g_.outputs()) block_value(v);

  // Units: one per root that some producer writes; blocked roots map to -1.
  ChannelGraph cg;
  std::map<int, int> unit_of_root;
  std::map<int, SlotRecord> by_root;
  for (auto& [slot, rec] : records_) {
    SlotRecord& r = by_root[find(slot)];
    r.sources.insert(r.sources.end(), rec.sources.begin(), rec.sources.end());
    r.consumers.insert(r.consumers.end(), rec.consumers.begin(), rec.consumers.end());
    r.norms.insert(r.norms.end(), rec.norms.begin(), rec.norms.end());
  }
  for (auto& [root, rec] : by_root) {
    if (rec.sources.empty()) continue;  // channels of the input, never a unit
    unit_of_root[root] = static_cast<int>(cg.units.size());
    Unit u;
    u.sources = rec.sources;
    u.consumers = rec.consumers;
    u.norms = rec.norms;
    cg.units.push_back(u);
  }
  const auto unit = [&](int slot) {
    const int root = find(slot);
    const auto it = unit_of_root.find(root);
    return it == unit_of_root.end() ? -1 : it->second;
  };
  // Groups: units with the same source layers, ordered by their first source.
  std::vector<ir::NodeId> order = g_.topo_order();
  const auto pos = [&](ir::NodeId id) { return std::find(order.begin(), order.end(), id) - order.begin(); };
  std::map<std::vector<ir::NodeId>, int> group_of_key;
  std::vector<std::pair<std::ptrdiff_t, std::vector<int>>> buckets;
  std::vector<std::vector<ir::NodeId>> keys;
  std::vector<bool> blocked_group;
  for (auto& [root, idx] : unit_of_root) {
    std::vector<ir::NodeId> key;
    for (auto& [node, c] : cg.units[idx].sources) key.push_back(node);
    std::sort(key.begin(), key.end(), [&](ir::NodeId a, ir::NodeId b) { return pos(a) < pos(b); });
    key.erase(std::unique(key.begin(), key.end()), key.end());
    auto [it, inserted] = group_of_key.emplace(key, static_cast<int>(buckets.size()));
    if (inserted) {
      buckets.push_back({pos(key.front()), {}});
      keys.push_back(key);
      blocked_group.push_back(false);
    }
    buckets[it->second].second.push_back(idx);
    if (blocked_[root]) blocked_group[it->second] = true;
  }
  std::vector<int> perm(buckets.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int a, int b) { return buckets[a].first < buckets[b].first; });
  for (int b : perm) {
    Group gr;
    for (ir::NodeId id : keys[b]) gr.sources.push_back(g_.node(id).name);
    gr.name = gr.sources.front() + (gr.sources.size() > 1 ? "+" + std::to_string(gr.sources.size() - 1) : "");
    gr.units = buckets[b].second;
    std::sort(gr.units.begin(), gr.units.end(), [&](int x, int y) {
      return cg.units[x].sources.front() < cg.units[y].sources.front();
    });
    if (blocked_group[b]) {
      gr.removable = false;
      gr.why_not = "its channels reach a graph input or output, a grouped convolution or an op the analysis does not map";
    }
    for (int u : gr.units) cg.units[u].group = static_cast<int>(cg.groups.size());
    cg.groups.push_back(gr);
  }
  // A group is all-or-nothing removable: a blocked unit in it blocks its group (its siblings
  // come from the same filters, and removing a blocked channel would change what the graph means).
  cg.value_units.resize(chan_.size());
  for (size_t v = 0; v < chan_.size(); ++v)
    for (int s : chan_[v]) cg.value_units[v].push_back(unit(s));
  for (TensorAxis& a : axes_) {
    for (int& s : a.units) s = unit(s);
    cg.tensors.push_back(a);
  }
  return cg;
}

}  // namespace

int ChannelGraph::group_of_layer(const std::string& layer) const {
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].sources.front() == layer) return static_cast<int>(i);
  for (size_t i = 0; i < groups.size(); ++i)
    if (std::find(groups[i].sources.begin(), groups[i].sources.end(), layer) != groups[i].sources.end())
      return static_cast<int>(i);
  return -1;
}

ChannelGraph analyze(const ir::Graph& g) {
  for (ir::ValueId v = 0; v < g.num_values(); ++v)
    if (g.value(v).producer != ir::kNone && !g.value(v).shape_known)
      fail(ErrorKind::internal, "structured pruning analysis: the shape of '", g.value(v).name, "' is not inferred");
  return Analysis(g).run();
}

}  // namespace leancnn::compress::structured
