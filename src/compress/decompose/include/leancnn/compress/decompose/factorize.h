// Tensor factorizations of weights (docs/decomposition.md), on Tensors so that no Eigen type
// reaches a public header: truncated SVD of a matrix, Tucker-2 of a conv kernel (HOSVD init +
// HOOI), CP of a conv kernel (ALS), and the energy rule that picks a rank from singular values.
// All arithmetic is double precision inside; results are f32 Tensors.
#pragma once
#include <cstdint>
#include <vector>

#include "leancnn/core/tensor.h"

namespace leancnn::compress::decompose {

// Singular values of the matrix m [M, N], descending.
std::vector<double> singular_values(const Tensor& m);

// The smallest rank r >= 1 whose singular values keep `energy` of the squared mass:
// sum_{i<r} s_i^2 >= energy * sum_i s_i^2. energy in (0, 1]; Error(usage) otherwise.
int64_t energy_rank(const std::vector<double>& s, double energy);

// m [M, N] ~ left [M, r] x right [r, N]: left = U_r sqrt(S_r), right = sqrt(S_r) V_r^T (the
// Eckart-Young optimum; the square roots split the scale evenly between the two layers).
struct LowRank {
  Tensor left, right;
};
// Error(usage) unless 1 <= rank <= min(M, N).
LowRank truncated_svd(const Tensor& m, int64_t rank);

// Singular values of the mode-`mode` unfolding of a 4-D kernel [OC, IC, KH, KW] (mode 0: rows
// are output channels; mode 1: input channels): what Tucker-2's ranks are chosen from.
std::vector<double> mode_singular_values(const Tensor& w, int mode);

// Tucker-2 of a kernel w [OC, IC, KH, KW] (Kim et al. 2016):
//   w ~ core x_0 out_factor x_1 in_factor,   core [r_out, r_in, KH, KW],
//   out_factor [OC, r_out] and in_factor [IC, r_in] with orthonormal columns.
// Initialised by HOSVD (leading left singular vectors of the two unfoldings), then refined by
// `hooi_iters` sweeps of HOOI (each factor re-solved with the other fixed), stopping early once
// the fit improves by less than 1e-7.
struct Tucker2 {
  Tensor core, out_factor, in_factor;
  int iterations = 0;  // HOOI sweeps run
};
// Error(usage) unless 1 <= r_out <= OC and 1 <= r_in <= IC.
Tucker2 tucker2(const Tensor& w, int64_t r_out, int64_t r_in, int hooi_iters = 10);

// Rank-R CP of a kernel w [OC, IC, KH, KW] (Lebedev et al. 2015) by alternating least squares:
//   w[o, i, y, x] ~ sum_r out[o, r] in[i, r] h[y, r] w[x, r]
// (the column scales are folded into `out`). Initialised from the leading singular vectors of
// each unfolding (seeded random columns beyond a mode's size); stops when the relative error
// changes by less than `tol` or after max_iters sweeps.
struct Cp {
  Tensor out, in, h, w;  // [OC, R], [IC, R], [KH, R], [KW, R]
  int iterations = 0;
  double rel_error = 0;  // ||w - cp|| / ||w||
};
// Error(usage) unless rank >= 1.
Cp cp_als(const Tensor& w, int64_t rank, int max_iters = 100, double tol = 1e-6, uint64_t seed = 0);

// ||a - b|| / ||a|| over equal-sized tensors (0 when a is zero and b equals it).
double relative_error(const Tensor& a, const Tensor& b);

// The kernels the factors stand for (the tests' and the reports' reconstruction):
Tensor tucker2_kernel(const Tucker2& t);  // [OC, IC, KH, KW]
Tensor cp_kernel(const Cp& c);            // [OC, IC, KH, KW]
Tensor matmul(const Tensor& a, const Tensor& b);  // [M, K] x [K, N]

}  // namespace leancnn::compress::decompose
