// Tensor-Train and Tensor-Ring factorisations of an FC weight viewed as a TT-matrix
// (docs/decomposition.md): W [N, K] with N = n_1 ... n_d and K = m_1 ... m_d is read as the
// d-way tensor T[(i_1, j_1), ..., (i_d, j_d)] = W[(i_1 .. i_d), (j_1 .. j_d)] (row-major multi
// indices), and factorised as
//   W[i, j] = trace( G_1[:, i_1, j_1, :] G_2[:, i_2, j_2, :] ... G_d[:, i_d, j_d, :] ),
//   G_k [r_{k-1}, n_k, m_k, r_k],
// with r_0 = r_d = 1 for the Tensor-Train (Oseledets 2011; Novikov et al. 2015) and r_0 = r_d >= 1
// for the Tensor-Ring (Zhao et al. 2016). TT-SVD and TR-SVD are the sequential truncated SVDs of
// those papers; each step's ranks come from a caller's rule (fixed ranks, an error share per
// step, or VBMF), so energy, ratio and VBMF use one code path. Eigen stays in the .cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "leancnn/core/tensor.h"

namespace leancnn::compress::decompose {

// The mode sizes of a TT-matrix: n (rows, product N) and m (columns, product K), d each.
struct TtModes {
  std::vector<int64_t> n, m;
  size_t cores() const { return n.size(); }
};

// n and m as d balanced factors of N and K (prime factors, the largest first, each to the
// currently smallest factor; then ascending). Factors of 1 appear when N or K has fewer than d
// prime factors. Error(usage) unless d >= 2 and N, K >= 1.
TtModes tt_modes(int64_t rows, int64_t cols, int d);

// Ranks are written as in the papers: TT {r_1, ..., r_{d-1}} (d - 1 values), TR {r_0, ..., r_{d-1}}
// (d values; r_d = r_0 closes the ring).
// The largest ranks at which TT-SVD / TR-SVD are exact: TT r_k = min(q_1..q_k, q_{k+1}..q_d)
// with q_k = n_k m_k; TR: r_0 r_1 <= min(q_1, q_2..q_d) (r_0 = floor(sqrt), r_1 the rest),
// r_k <= min(r_{k-1} q_k, r_0 q_{k+1}..q_d).
std::vector<int64_t> tt_max_ranks(const TtModes& modes);
std::vector<int64_t> tr_max_ranks(const TtModes& modes);
// Clamp wanted ranks (each >= 1) to what TT-SVD / TR-SVD can give, in order.
std::vector<int64_t> tt_clamp_ranks(const TtModes& modes, std::vector<int64_t> ranks);
std::vector<int64_t> tr_clamp_ranks(const TtModes& modes, std::vector<int64_t> ranks);

// A step's rank from its unfolding's singular values (descending), the unfolding's size and the
// step (0-based; for TR step 0 chooses the product r_0 r_1). Returns a rank in [1, s.size()].
using StepRank = std::function<int64_t(const std::vector<double>& s, int64_t rows, int64_t cols, size_t step)>;

struct TensorTrain {
  std::vector<Tensor> cores;   // G_k [r_{k-1}, n_k, m_k, r_k], f32
  std::vector<int64_t> ranks;  // TT: d - 1 values; TR: d values (r_0 first)
  bool ring = false;
  double rel_error = 0;        // ||W - W_tt|| / ||W||, exact (from the discarded singular values)
};

// TT-SVD of w [N, K] into the modes; `rank_of` chooses each step's rank.
TensorTrain tt_svd(const Tensor& w, const TtModes& modes, const StepRank& rank_of);
// TR-SVD (Zhao et al. 2016, algorithm 1): the first step's rank R is split into r_0 r_1 with
// |r_0 - r_1| least (r_0 <= r_1); then TT-SVD of the rest with r_0 carried to the last core.
TensorTrain tr_svd(const Tensor& w, const TtModes& modes, const StepRank& rank_of);

// Fixed ranks (clamped as above), the error share per step for a kept energy e (TT: each of the
// d - 1 steps may lose (1 - e) / (d - 1) of ||W||^2; TR: the first step 2 (1 - e) / d, the others
// (1 - e) / d, after Zhao et al.), or VBMF per step (vbmf.h).
TensorTrain tt_svd_ranks(const Tensor& w, const TtModes& modes, const std::vector<int64_t>& ranks);
TensorTrain tr_svd_ranks(const Tensor& w, const TtModes& modes, const std::vector<int64_t>& ranks);
TensorTrain tt_svd_energy(const Tensor& w, const TtModes& modes, double energy, bool ring);
TensorTrain tt_svd_vbmf(const Tensor& w, const TtModes& modes, bool ring);

// The [N, K] matrix the cores stand for (tests and reports).
Tensor tt_matrix(const TensorTrain& t, const TtModes& modes);

}  // namespace leancnn::compress::decompose
