// Layer (block) pruning for residual networks (docs/structured_pruning.md §2): an identity
// residual block y = x + F(x) can go as a whole, leaving y = x. A block is an Add one of whose
// inputs is the shortcut x and the other the end of a chain of nodes (the branch F) that starts
// at x and whose values nothing outside the chain reads. Projection shortcuts are not identity
// blocks and stay.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"

namespace leancnn::compress::structured {

struct ResidualBlock {
  std::string name;                 // the Add's name
  ir::NodeId add = ir::kNone;
  ir::ValueId shortcut = ir::kNone;
  ir::ValueId branch_out = ir::kNone;
  std::vector<ir::NodeId> branch;   // F's nodes, in topological order
};

// Every identity residual block of g, in topological order of their Adds.
std::vector<ResidualBlock> residual_blocks(const ir::Graph& g);

// A copy of g without the blocks listed (indices into `blocks`): each Add's readers read the
// shortcut instead; shapes re-inferred and the graph verified.
ir::Graph remove_blocks(const ir::Graph& g, const std::vector<ResidualBlock>& blocks, const std::set<int>& which);

// Each block's importance: the mean over `images` of ||F(x)|| / ||x|| (a block that adds little to
// its input goes first; Veit et al. 2016 showed residual networks survive losing such blocks).
std::vector<double> block_scores(const ir::Graph& g, const std::vector<ResidualBlock>& blocks, const Tensor& images);

}  // namespace leancnn::compress::structured
