// Residual blocks (blocks.h): finding identity blocks, removing them, and scoring them by how
// much their branch adds to the shortcut.
#include "leancnn/compress/structured/blocks.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"

namespace leancnn::compress::structured {

namespace {

// The node's inputs that are activations (not initializers, not omitted).
std::vector<ir::ValueId> data_inputs(const ir::Graph& g, const ir::Node& n) {
  std::vector<ir::ValueId> out;
  for (ir::ValueId v : n.inputs)
    if (v != ir::kNone && !g.value(v).is_initializer()) out.push_back(v);
  return out;
}

// The branch from `x` to `end` when it is a chain whose inner values only the chain reads.
bool branch_of(const ir::Graph& g, ir::ValueId x, ir::ValueId end, std::vector<ir::NodeId>& nodes) {
  ir::ValueId v = end;
  for (int steps = 0; steps < 64; ++steps) {
    const ir::NodeId p = g.value(v).producer;
    if (p == ir::kNone) return false;
    const ir::Node& n = g.node(p);
    if (n.outputs.size() != 1 || ir::is_graph_output(g, v)) return false;
    if (v != end && g.consumers(v).size() != 1) return false;
    const std::vector<ir::ValueId> in = data_inputs(g, n);
    if (in.size() != 1) return false;
    nodes.push_back(p);
    if (in[0] == x) {
      std::reverse(nodes.begin(), nodes.end());
      return true;
    }
    v = in[0];
  }
  return false;
}

}  // namespace

std::vector<ResidualBlock> residual_blocks(const ir::Graph& g) {
  std::vector<ResidualBlock> out;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    if (!ir::is_onnx_op(n, "Add") || n.inputs.size() != 2 || ir::is_graph_output(g, n.outputs[0])) continue;
    for (int s = 0; s < 2; ++s) {
      const ir::ValueId x = n.inputs[s], r = n.inputs[1 - s];
      if (g.value(x).is_initializer() || g.value(r).is_initializer()) continue;
      if (!g.value(x).shape_known || g.value(x).shape != g.value(n.outputs[0]).shape) continue;
      std::vector<ir::NodeId> nodes;
      if (!branch_of(g, x, r, nodes) || nodes.empty()) continue;
      out.push_back({n.name, id, x, r, nodes});
      break;
    }
  }
  return out;
}

ir::Graph remove_blocks(const ir::Graph& g, const std::vector<ResidualBlock>& blocks, const std::set<int>& which) {
  ir::Graph out = g;
  std::vector<ir::ValueId> released;
  // A block's shortcut may be the output of a block removed before it (blocks are in topological
  // order, `which` ascending): it then reads what that block's Add read.
  std::map<ir::ValueId, ir::ValueId> alias;
  const auto resolve = [&](ir::ValueId v) {
    for (auto it = alias.find(v); it != alias.end(); it = alias.find(v)) v = it->second;
    return v;
  };
  for (int b : which) {
    if (b < 0 || b >= static_cast<int>(blocks.size())) fail(ErrorKind::internal, "block ", b, " is not in the list");
    const ResidualBlock& blk = blocks[static_cast<size_t>(b)];
    const ir::ValueId y = out.node(blk.add).outputs[0];
    for (ir::NodeId id : blk.branch)
      for (ir::ValueId v : out.node(id).inputs)
        if (v != ir::kNone && out.value(v).is_initializer()) released.push_back(v);
    const ir::ValueId x = resolve(blk.shortcut);
    ir::replace_uses(out, y, x);
    alias[y] = x;
    out.remove_node(blk.add);
    for (ir::NodeId id : blk.branch) out.remove_node(id);
  }
  ir::release_dead_initializers(out, released);
  for (ir::ValueId v = 0; v < out.num_values(); ++v)
    if (out.value(v).producer != ir::kNone) out.value(v).shape_known = false;
  ir::infer_shapes(out, ops::op_table());
  ir::verify(out, ops::op_table());
  return out;
}

std::vector<double> block_scores(const ir::Graph& g, const std::vector<ResidualBlock>& blocks, const Tensor& images) {
  std::vector<double> sum(blocks.size(), 0.0);
  ir::Graph copy = g;
  runtime::ExecutorOptions eo;
  eo.keep_values = true;
  runtime::Executor exec(copy, ops::op_table(), eo);
  const std::string input = copy.value(copy.inputs()[0]).name;
  const int64_t n = images.dim(0), batch = 32;
  for (int64_t first = 0; first < n; first += batch) {
    exec.forward({{input, images.slice_batch(first, std::min(n, first + batch)).clone()}});
    for (size_t b = 0; b < blocks.size(); ++b) {
      const Tensor& x = exec.value(blocks[b].shortcut);
      const Tensor& f = exec.value(blocks[b].branch_out);
      const int64_t per = x.numel() / x.dim(0);
      for (int64_t i = 0; i < x.dim(0); ++i) {
        double nx = 0, nf = 0;
        for (int64_t k = 0; k < per; ++k) {
          nx += static_cast<double>(x.data<float>()[i * per + k]) * x.data<float>()[i * per + k];
          nf += static_cast<double>(f.data<float>()[i * per + k]) * f.data<float>()[i * per + k];
        }
        sum[b] += std::sqrt(nf) / std::max(1e-12, std::sqrt(nx));
      }
    }
  }
  for (double& s : sum) s /= static_cast<double>(std::max<int64_t>(1, n));
  return sum;
}

}  // namespace leancnn::compress::structured
