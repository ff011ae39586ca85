// The decomposition methods as graph passes (docs/decomposition.md): each replaces one weight
// layer by a chain of standard ONNX ops that computes the factorised weight, so the result runs
// on leancnn's runtime and on ONNX Runtime alike. The bias, if any, goes on the chain's last
// layer; a BatchNormalization or activation after the layer is left where it was.
//   svd          Gemm [N, K]               -> Gemm [r, K] -> Gemm [N, r]               (truncated SVD)
//   channel_svd  Conv k x k, OC filters    -> Conv k x k, r filters -> Conv 1x1        (Zhang et al. 2016)
//   spatial_svd  Conv kh x kw              -> Conv kh x 1, r filters -> Conv 1 x kw    (Jaderberg et al. 2014, Tai et al. 2016)
//   tucker2      Conv k x k                -> Conv 1x1 (r_in) -> Conv k x k (r_in -> r_out) -> Conv 1x1 (Kim et al. 2016)
//   cp           Conv kh x kw              -> Conv 1x1 (R) -> depthwise kh x 1 -> depthwise 1 x kw -> Conv 1x1 (Lebedev et al. 2015)
//   tt           Gemm [N, K]               -> TT-matrix layer: d cores as Reshape/Transpose/Gemm steps (Novikov et al. 2015)
//   tr           Gemm [N, K]               -> TR-matrix layer: the same with a ring rank (Zhao et al. 2016, Wang et al. 2018)
// Ranks: one value ({r}) for svd, channel_svd, spatial_svd and cp; tucker2 {r_in, r_out} (the
// order in which the chain meets them); tt {r_1, ..., r_{d-1}}; tr {r_0, ..., r_{d-1}}
// (tensor_train.h). tt and tr read N and K as d balanced factors each (tt_modes, d =
// FactorOptions::tt_cores).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"

namespace leancnn::compress::decompose {

enum class Method { svd, channel_svd, spatial_svd, tucker2, cp, tt, tr };
// "svd" | "channel_svd" | "spatial_svd" | "tucker2" | "cp" | "tt" | "tr"; Error(usage) otherwise.
Method parse_method(const std::string& name);
const char* method_name(Method m);
// svd, tt and tr factorise Gemm layers; the others Conv layers.
bool is_fc_method(Method m);

// The factorisation's settings.
struct FactorOptions {
  int hooi_iters = 10;     // tucker2
  int cp_iters = 100;      // cp: ALS sweeps at most
  double cp_tol = 1e-6;    // cp: stop when the relative error moves less than this
  uint64_t seed = 0;       // cp: initial columns beyond a mode's size
  int tt_cores = 3;        // tt, tr: d, the cores (modes per side)
};

// "" when the method applies to the layer (a weight layer of compress/common/layers.h), else why
// not: svd takes Gemm layers; the conv methods take ungrouped Conv layers with a kernel larger
// than 1x1 (spatial_svd: larger than 1 in both directions).
std::string not_applicable(const ir::Graph& g, const ir::Node& layer, Method m);

// The largest meaningful ranks: min of the factorised matrix's sides (svd, channel_svd,
// spatial_svd), {IC, OC} (tucker2), and for cp the rank at which the chain costs as many MACs
// as the layer (CP's rank is not bounded by the kernel's sides); tt / tr: tt_max_ranks /
// tr_max_ranks of the modes.
std::vector<int64_t> max_ranks(const ir::Graph& g, const ir::Node& layer, Method m, const FactorOptions& options = {});

// MACs (per image) and parameters (weights and bias) of the layer, or of its decomposed chain
// (tt / tr: d is the rank count + 1 / the rank count). The layer's shapes must be inferred.
struct LayerCost {
  int64_t macs = 0, params = 0;
};
LayerCost layer_cost(const ir::Graph& g, const ir::Node& layer);
LayerCost decomposed_cost(const ir::Graph& g, const ir::Node& layer, Method m, const std::vector<int64_t>& ranks);

// What a rewrite did.
struct Rewrite {
  std::vector<ir::NodeId> nodes;  // the chain, in order; the last writes the layer's output
  double rel_error = 0;           // ||W - W_factorised|| / ||W||
};

// Replaces `layer` by its decomposed chain. Shapes of the new values are not inferred (run
// ir::infer_shapes). Error(usage) when the method does not apply or a rank is out of range.
Rewrite decompose_layer(ir::Graph& g, ir::NodeId layer, Method m, const std::vector<int64_t>& ranks,
                        const FactorOptions& options = {});

// The weight the chain stands for, without touching the graph, and its relative error: what the
// rank selection and the budget's error proxy measure.
double factorisation_error(const ir::Graph& g, const ir::Node& layer, Method m, const std::vector<int64_t>& ranks,
                           const FactorOptions& options = {});

}  // namespace leancnn::compress::decompose
