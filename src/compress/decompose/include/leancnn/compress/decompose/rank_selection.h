// Rank selection for one layer (docs/decomposition.md §rank selection): by energy (the kept
// share of the squared singular values of the matrix or unfoldings the method factorises), by a
// fixed ratio of the largest rank, or as a ladder of ever cheaper ranks for the budget solver
// (compress/common/budget.h), which picks one rung per layer.
#pragma once
#include <cstdint>
#include <vector>

#include "leancnn/compress/decompose/methods.h"

namespace leancnn::compress::decompose {

// svd / channel_svd / spatial_svd: energy_rank of the factorised matrix's singular values;
// tucker2: energy_rank of each unfolding (input channels, output channels); cp (no singular
// values): the smallest rank, found by bisection, whose relative error e has 1 - e^2 >= energy.
std::vector<int64_t> energy_ranks(const ir::Graph& g, const ir::Node& layer, Method m, double energy,
                                  const FactorOptions& options = {});

// ceil(ratio * max rank) per rank (at least 1). Error(usage) unless ratio is in (0, 1].
std::vector<int64_t> ratio_ranks(const ir::Graph& g, const ir::Node& layer, Method m, double ratio);

enum class CostUnit { macs, params };

// Ranks at the fractions 1, 3/4, 5/8, 1/2, 3/8, 1/4, 3/16, 1/8, 1/16 of the largest ones, kept
// only where the chain costs strictly less (in `unit`) than the layer and than the rung before:
// the options a budget chooses from after "leave the layer as it is".
struct RankOption {
  std::vector<int64_t> ranks;
  LayerCost cost;
};
std::vector<RankOption> rank_ladder(const ir::Graph& g, const ir::Node& layer, Method m, CostUnit unit);

}  // namespace leancnn::compress::decompose
