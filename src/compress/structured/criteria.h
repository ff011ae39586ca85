// Private to compress/structured: the criteria that score units (higher = kept first) and
// ThiNet's least-squares reconstruction. structured.h lists each criterion with its paper.
#pragma once
#include <cstdint>
#include <set>
#include <vector>

#include "leancnn/compress/structured/groups.h"
#include "leancnn/compress/structured/structured.h"
#include "leancnn/core/tensor.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::structured::detail {

// `count` training images (a seeded sample), f32 [count, C, H, W] scaled to [0, 1] as predict() feeds them.
Tensor calibration_images(const train::Dataset& train_set, int64_t count, uint64_t seed);

// l1, l2, fpgm, slimming (|γ| of the unit's BNs; filter L2 where a unit has none), sfp (= l2).
std::vector<double> weight_scores(const ir::Graph& g, const ChannelGraph& cg, Criterion c);
// hrank, apoz: statistics of each unit's activated feature maps (after its BN and activation).
std::vector<double> activation_scores(const ir::Graph& g, const ChannelGraph& cg, Criterion c, const Tensor& images);
// thinet: per group, the greedy removal order (removed first = lowest score).
std::vector<double> thinet_scores(const ir::Graph& g, const ChannelGraph& cg, const Tensor& images, int64_t samples,
                                  uint64_t seed);
// ThiNet's reconstruction: a copy of g (dense) whose consumers of removed units have their kept
// input channels rescaled by least squares so their sampled outputs match the dense outputs.
ir::Graph thinet_reconstruct(const ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed,
                             const Tensor& images, int64_t samples, uint64_t seed);

}  // namespace leancnn::compress::structured::detail
