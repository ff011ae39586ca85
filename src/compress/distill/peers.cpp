// Peers of online distillation: fresh initialisation and the joined graph.
#include "leancnn/compress/distill/peers.h"

#include <algorithm>
#include <cmath>

#include "leancnn/compress/distill/teacher.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::distill {

ir::Graph reinitialized(const ir::Graph& g, uint64_t seed) {
  ir::Graph copy = deep_copy(g);
  Rng rng(seed);
  for (ir::ValueId v : copy.initializers()) {
    ir::Value& val = copy.value(v);
    if (!val.trainable || val.data.rank() < 2 || val.data.dtype() != DType::f32) continue;
    int64_t fan_in = 1;
    for (int d = 1; d < val.data.rank(); ++d) fan_in *= val.data.dim(d);
    const float bound = std::sqrt(6.f / static_cast<float>(std::max<int64_t>(fan_in, 1)));  // He uniform
    rng.fill_uniform(val.data, -bound, bound);
  }
  return copy;
}

PeerGraph join_peers(const std::vector<ir::Graph>& peers) {
  if (peers.size() < 2) fail(ErrorKind::usage, "online distillation needs at least 2 peers, got ", peers.size());
  PeerGraph out;
  ir::Graph& j = out.graph;
  j.name = peers[0].name + "_peers";
  const ir::Value& in0 = peers[0].value(peers[0].inputs().at(0));
  const ir::ValueId input = j.add_input(in0.name, in0.shape, in0.dtype);
  for (size_t p = 0; p < peers.size(); ++p) {
    const ir::Graph& g = peers[p];
    if (g.inputs().size() != 1 || g.outputs().size() != 1)
      fail(ErrorKind::bad_input, "a peer must have one input and one output (logits)");
    const std::string prefix = p == 0 ? "" : "peer" + std::to_string(p) + ".";
    std::vector<ir::ValueId> map(g.num_values(), ir::kNone);
    map[g.inputs()[0]] = input;
    for (ir::ValueId v : g.initializers()) map[v] = j.add_initializer(prefix + g.value(v).name, g.value(v).data, g.value(v).trainable);
    for (ir::NodeId n : g.topo_order()) {
      const ir::Node& node = g.node(n);
      std::vector<ir::ValueId> ins, outs;
      for (ir::ValueId v : node.inputs) ins.push_back(v == ir::kNone ? ir::kNone : map.at(v));
      for (ir::ValueId v : node.outputs) outs.push_back(map[v] = j.add_value(prefix + g.value(v).name));
      j.add_node(node.op_type, ins, outs, node.attrs, prefix + node.name, node.domain);
    }
    const ir::ValueId logits = map.at(g.outputs()[0]);
    if (p == 0) j.mark_output(logits);
    else out.peer_logits.push_back(j.value(logits).name);
  }
  ir::infer_shapes(j, ops::op_table());
  return out;
}

ir::Graph split_peer(const ir::Graph& joined, const ir::Graph& peer, size_t p) {
  ir::Graph out = peer;
  const std::string prefix = p == 0 ? "" : "peer" + std::to_string(p) + ".";
  for (ir::ValueId v : out.initializers()) {
    const ir::ValueId src = joined.find_value(prefix + out.value(v).name);
    if (src == ir::kNone || !joined.value(src).is_initializer())
      fail(ErrorKind::bad_input, "the peers' graph has no initializer '", prefix + out.value(v).name,
           "' (a checkpoint of another student?)");
    out.value(v).data = joined.value(src).data;
  }
  return out;
}

}  // namespace leancnn::compress::distill
