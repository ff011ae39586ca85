// Rank by variational Bayesian matrix factorisation: the analytic empirical VBMF of Nakajima,
// Sugiyama, Babacan, Tomioka, "Global analytic solution of fully-observed variational Bayesian
// matrix factorization", JMLR 2013 (theorem 13 and the noise estimate of section 5), as Kim et
// al. (ICLR 2016) use it on the mode-0 and mode-1 unfoldings to pick Tucker-2 ranks.
#pragma once
#include <cstdint>
#include <vector>

namespace leancnn::compress::decompose {

struct VbmfResult {
  int64_t rank = 0;      // singular values above the EVB threshold (may be 0)
  double sigma2 = 0;     // the estimated noise variance
  double threshold = 0;  // sqrt(M sigma2 (1 + tau) (1 + alpha / tau)), tau = 2.5129 sqrt(alpha)
};

// s: every singular value (descending) of a rows x cols matrix (min(rows, cols) values, zeros
// included); the noise variance is estimated by minimising the EVB free energy over the
// interval of Nakajima et al. (a log-spaced scan, then golden-section refinement).
VbmfResult evbmf(const std::vector<double>& s, int64_t rows, int64_t cols);

// evbmf's rank, at least 1 (a layer is never cut to rank 0).
int64_t vbmf_rank(const std::vector<double>& s, int64_t rows, int64_t cols);

}  // namespace leancnn::compress::decompose
