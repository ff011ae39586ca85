// Private to compress/structured: the criteria that score units (higher = kept first) and
// ThiNet's least-squares reconstruction. structured.h lists each criterion with its paper.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "leancnn/compress/structured/groups.h"
#include "leancnn/compress/structured/structured.h"
#include "leancnn/core/tensor.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::structured::detail {

// `count` training images (a seeded sample), f32 [count, C, H, W] scaled to [0, 1] as predict() feeds them.
Tensor calibration_images(const train::Dataset& train_set, int64_t count, uint64_t seed);

// The value a unit's source writes after its BN and zero-preserving activation: the feature
// map HRank, APoZ and NISP look at.
ir::ValueId activated_value(const ir::Graph& g, ir::NodeId source);

// Per activated value of every unit's source, which unit each of its channels feeds (-1: none).
std::map<ir::ValueId, std::vector<int>> watched_channels(const ir::Graph& g, const ChannelGraph& cg);

// l1, l2, fpgm, slimming (|γ| of the unit's BNs; filter L2 where a unit has none), sfp and group_lasso (= l2).
std::vector<double> weight_scores(const ir::Graph& g, const ChannelGraph& cg, Criterion c);
// hrank, apoz: statistics of each unit's activated feature maps (after its BN and activation).
std::vector<double> activation_scores(const ir::Graph& g, const ChannelGraph& cg, Criterion c, const Tensor& images);
// nisp: the final responses' importance propagated back through |W| (nisp.cpp); data-free.
std::vector<double> nisp_scores(const ir::Graph& g, const ChannelGraph& cg);
// group_lasso: the regulariser λ Σ_unit ||θ_unit||₂ over every producer entry (filters, biases,
// BN γ and β) of the units of unfrozen groups; adds its gradient, returns the term.
train::Regularizer group_lasso(const ir::Graph& g, const ChannelGraph& cg, const std::vector<bool>& frozen, double lambda);
// thinet: per group, the greedy removal order (removed first = lowest score).
std::vector<double> thinet_scores(const ir::Graph& g, const ChannelGraph& cg, const Tensor& images, int64_t samples,
                                  uint64_t seed);
// ThiNet's reconstruction: a copy of g (dense) whose consumers of removed units have their kept
// input channels rescaled by least squares so their sampled outputs match the dense outputs.
ir::Graph thinet_reconstruct(const ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed,
                             const Tensor& images, int64_t samples, uint64_t seed);

}  // namespace leancnn::compress::structured::detail
