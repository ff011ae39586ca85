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
// values): the smallest rank, found by bisection, whose relative error e has 1 - e^2 >= energy;
// tt / tr: TT-SVD / TR-SVD with the lost energy shared among the steps (tensor_train.h).
std::vector<int64_t> energy_ranks(const ir::Graph& g, const ir::Node& layer, Method m, double energy,
                                  const FactorOptions& options = {});

// VBMF (vbmf.h): svd / channel_svd / spatial_svd: evbmf on the factorised matrix; tucker2: on
// the mode-1 (r_in) and mode-0 (r_out) unfoldings (Kim et al. 2016); tt / tr: on each TT-SVD /
// TR-SVD step's unfolding. Error(usage) for cp, which has no matrix to read a rank from.
std::vector<int64_t> vbmf_ranks(const ir::Graph& g, const ir::Node& layer, Method m, const FactorOptions& options = {});

// ceil(ratio * max rank) per rank (at least 1; tt / tr then clamped to what TT-SVD / TR-SVD can
// reach). Error(usage) unless ratio is in (0, 1].
std::vector<int64_t> ratio_ranks(const ir::Graph& g, const ir::Node& layer, Method m, double ratio,
                                 const FactorOptions& options = {});

// Ranks that are the channel counts of the chain's inner layers (every method but tt and tr,
// whose ranks are bond dimensions) to the nearest multiple of `multiple` (halves up), at least
// `multiple` and at most the largest rank; a rank whose largest is below `multiple` stays. A
// chain of 10 channels runs as slowly as one of 16 where kernels work in vectors of 8 (AVX2):
// multiple 8 keeps whole vectors. multiple 1 changes nothing.
std::vector<int64_t> rounded_ranks(std::vector<int64_t> ranks, const std::vector<int64_t>& max, Method m,
                                   int64_t multiple);

// latency: measured batch-1 latency of the model (ms); its rank ladder is the MACs one.
enum class CostUnit { macs, params, latency };

// Ranks at the fractions 1, 3/4, 5/8, 1/2, 3/8, 1/4, 3/16, 1/8, 1/16 of the largest ones
// (rounded_ranks to `multiple`), kept only where the chain costs strictly less (in `unit`) than
// the layer and than the rung before: the options a budget chooses from after "leave the layer as
// it is".
struct RankOption {
  std::vector<int64_t> ranks;
  LayerCost cost;
};
std::vector<RankOption> rank_ladder(const ir::Graph& g, const ir::Node& layer, Method m, CostUnit unit,
                                    const FactorOptions& options = {}, int64_t multiple = 1);

// The squared relative weight error of each rung (the budget's data-free drop), from one
// spectrum per layer instead of one factorisation per rung: exact for svd, channel_svd and
// spatial_svd (the discarded squared singular values, Eckart-Young); for tucker2 the HOSVD
// bound (sum of both unfoldings' discarded squared singular values, De Lathauwer et al. 2000),
// which HOOI only improves on; cp, tt and tr factorise each rung (cp has no spectrum; tt/tr
// layers are FC-sized). Clamped to [0, 1].
std::vector<double> ladder_errors(const ir::Graph& g, const ir::Node& layer, Method m,
                                  const std::vector<RankOption>& ladder, const FactorOptions& options = {});

}  // namespace leancnn::compress::decompose
