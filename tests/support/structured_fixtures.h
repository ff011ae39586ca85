// Shared by the structured-pruning tests (unit/structured, integration/structured_ort_test):
// random BN statistics and affine parameters, so that a masked channel is zero only because its
// γ and β are (a fresh zoo BN, mean 0 and var 1, would hide mistakes), and the first `ratio` of
// each removable group's units as a removal set.
#pragma once
#include <algorithm>
#include <set>

#include "leancnn/compress/structured/groups.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/graph.h"

namespace leancnn::testing {

inline void randomize_batch_norms(ir::Graph& g, uint64_t seed = 7) {
  Rng rng(seed);
  for (ir::NodeId id : g.node_ids()) {
    ir::Node& n = g.node(id);
    if (n.op_type != "BatchNormalization") continue;
    rng.fill_uniform(g.value(n.inputs[1]).data, 0.5f, 1.5f);
    rng.fill_uniform(g.value(n.inputs[2]).data, -0.3f, 0.3f);
    rng.fill_uniform(g.value(n.inputs[3]).data, -0.2f, 0.2f);
    rng.fill_uniform(g.value(n.inputs[4]).data, 0.5f, 2.f);
  }
}

inline std::set<int> first_units(const compress::structured::ChannelGraph& cg, double ratio) {
  std::set<int> out;
  for (const compress::structured::Group& gr : cg.groups) {
    if (!gr.removable) continue;
    const size_t k = std::min(gr.units.size() - 1, static_cast<size_t>(ratio * static_cast<double>(gr.units.size())));
    out.insert(gr.units.begin(), gr.units.begin() + static_cast<std::ptrdiff_t>(k));
  }
  return out;
}

}  // namespace leancnn::testing
