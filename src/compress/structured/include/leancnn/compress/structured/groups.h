// Channel dependency analysis for structured pruning (docs/structured_pruning.md §1): which
// channels of a graph must be removed together. Every channel of every channel-carrying value
// (dim 1 of NCHW activations, the features of a flattened [N, F] value) is a slot; ops tie slots
// together (a BN, a ReLU or a pool passes channel c on; every input of an Add shares channel c;
// a Concat lays its inputs' slots side by side and a Split cuts them; a depthwise conv ties its
// output c to its input c; a Flatten spreads channel c over its H×W features; a ShuffleNet
// channel shuffle interleaves them and ties channel j of each half). A **unit** is one class of
// tied slots: the atom that is removed. A unit is removable unless one of its slots is blocked:
// a graph input or output channel (the classifier's classes), a grouped conv, or an op the
// analysis does not know. A **group** is the set of units produced by the same filters (a
// conv's output channels, or the channels of a residual stream: every conv that writes into its
// Adds); pruning ratios apply per group. Removing units edits every tensor that carries them:
// producers' filters and biases, BN parameters, consumers' input channels (conv columns, FC
// features), depthwise filters and `group`, Split sizes and Reshape shapes.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"

namespace leancnn::compress::structured {

// One axis of one initializer whose entries follow slots: entry i along `axis` carries slot
// slots[i] (after unions: the unit index, or -1 for a blocked slot).
struct TensorAxis {
  ir::ValueId value = ir::kNone;
  int axis = 0;
  std::vector<int> units;  // per index along the axis: unit index, or -1 (never removed)
  bool producer = false;   // zeroing these entries zeroes the channel downstream (filters, BN γ/β, biases)
  std::string node;        // the node reading the tensor
};

struct Unit {
  int group = -1;
  std::vector<std::pair<ir::NodeId, int64_t>> sources;    // (Conv/Gemm node, output channel) writing this unit
  std::vector<std::pair<ir::NodeId, int64_t>> consumers;  // (Conv/Gemm node, input channel or feature) reading it
  std::vector<std::pair<ir::NodeId, int64_t>> norms;      // (BatchNormalization node, channel)
};

struct Group {
  std::string name;                  // the first source layer's name, "+k" for more ("conv1", "stem+6")
  std::vector<std::string> sources;  // the source layers' names (several for a residual stream)
  std::vector<int> units;            // indices into ChannelGraph::units
  bool removable = true;
  std::string why_not;               // when not removable: the blocking reason
};

struct ChannelGraph {
  std::vector<Unit> units;
  std::vector<Group> groups;                  // in the order of their first source (topological)
  std::vector<std::vector<int>> value_units;  // per value id: per channel (dim 1) the unit, -1 blocked; empty if none
  std::vector<TensorAxis> tensors;            // every initializer axis that follows units
  // Group of each layer's output channels (by node name), for reports.
  int group_of_layer(const std::string& layer) const;
};

// The analysis. The graph's shapes must be inferred. Ops the analysis does not understand block
// the channels they touch (never an error): the result is always safe to apply.
ChannelGraph analyze(const ir::Graph& g);

// A copy of g without the units in `removed` (unit indices): every tensor axis and the attributes
// and shape constants that depend on channel counts are edited, shapes re-inferred and the graph
// verified. Error(usage) when a removed unit is not removable or a group would lose every unit.
ir::Graph remove_units(const ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed);

// A copy of g (own initializers) with the units in `removed` masked: their producers' entries
// (filters, biases, BN γ and β) set to zero, so each removed channel is exactly zero downstream.
// remove_units(g, ...) computes the same function as this (the structured-pruning oracle).
ir::Graph mask_units(const ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed);

}  // namespace leancnn::compress::structured
