// Online distillation's peers (dml, kdcl): copies of the student with fresh weights, joined into
// one graph that the trainer trains as one model (one input, the first peer's logits as the
// output, the other peers' logits as named values).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"

namespace leancnn::compress::distill {

// A deep copy of `g` whose trainable weights of rank >= 2 are drawn afresh (He uniform: bound
// sqrt(6 / fan-in), fan-in = the product of the dims after the first), biases
// and normalisation parameters kept.
ir::Graph reinitialized(const ir::Graph& g, uint64_t seed);

struct PeerGraph {
  ir::Graph graph;                       // one input, output: peer 0's logits
  std::vector<std::string> peer_logits;  // the logits value of peers 1..P-1
};

// Joins the peers: peer 0 keeps its names, peer i's are prefixed "peer<i>.". The joined graph
// shares every initializer's storage with `peers`, so training it trains them.
PeerGraph join_peers(const std::vector<ir::Graph>& peers);

// Peer p of a joined graph (trained, or loaded from its checkpoint): a copy of `peer` (the
// template it was joined from) holding the joined graph's weights of that peer.
ir::Graph split_peer(const ir::Graph& joined, const ir::Graph& peer, size_t p);

}  // namespace leancnn::compress::distill
