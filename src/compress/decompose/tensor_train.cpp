// TT-SVD and TR-SVD of an FC weight read as a TT-matrix (tensor_train.h), with Eigen in double
// precision. Eigen stays in this file: the header speaks Tensors.
#include "leancnn/compress/decompose/tensor_train.h"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <optional>

#include "leancnn/compress/decompose/vbmf.h"
#include "leancnn/core/error.h"

namespace leancnn::compress::decompose {

namespace {
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<int64_t> merged(const TtModes& modes) {
  std::vector<int64_t> q;
  for (size_t k = 0; k < modes.cores(); ++k) q.push_back(modes.n[k] * modes.m[k]);
  return q;
}

int64_t product(const std::vector<int64_t>& v, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t k = from; k < to; ++k) p *= v[k];
  return p;
}

std::vector<int64_t> balanced_factors(int64_t x, int d) {
  std::vector<int64_t> primes;
  for (int64_t p = 2; p * p <= x; ++p)
    while (x % p == 0) primes.push_back(p), x /= p;
  if (x > 1) primes.push_back(x);
  std::sort(primes.rbegin(), primes.rend());
  std::vector<int64_t> f(static_cast<size_t>(d), 1);
  for (int64_t p : primes) *std::min_element(f.begin(), f.end()) *= p;
  std::sort(f.begin(), f.end());
  return f;
}

// r0 <= r1 with r0 r1 = r and |r0 - r1| least.
std::pair<int64_t, int64_t> ring_split(int64_t r) {
  int64_t r0 = static_cast<int64_t>(std::floor(std::sqrt(static_cast<double>(r))));
  while (r0 > 1 && r % r0 != 0) --r0;
  return {std::max<int64_t>(1, r0), r / std::max<int64_t>(1, r0)};
}

// W [N, K] as the row-major tensor [q_1, ..., q_d], q_k index = i_k m_k + j_k.
std::vector<double> tt_tensor(const Tensor& w, const TtModes& modes) {
  const size_t d = modes.cores();
  const int64_t rows = product(modes.n, 0, d), cols = product(modes.m, 0, d);
  if (w.rank() != 2 || w.dim(0) != rows || w.dim(1) != cols || w.dtype() != DType::f32)
    fail(ErrorKind::usage, "TT-matrix of ", shape_str(w.shape()), " with modes of products ", rows, " x ", cols);
  const std::vector<int64_t> q = merged(modes);
  std::vector<int64_t> stride(d, 1);
  for (size_t k = d - 1; k > 0; --k) stride[k - 1] = stride[k] * q[k];
  std::vector<int64_t> row_at(static_cast<size_t>(rows)), col_at(static_cast<size_t>(cols));
  for (int64_t i = 0; i < rows; ++i) {
    int64_t rest = i, at = 0;
    for (size_t k = d; k-- > 0;) at += (rest % modes.n[k]) * modes.m[k] * stride[k], rest /= modes.n[k];
    row_at[static_cast<size_t>(i)] = at;
  }
  for (int64_t j = 0; j < cols; ++j) {
    int64_t rest = j, at = 0;
    for (size_t k = d; k-- > 0;) at += (rest % modes.m[k]) * stride[k], rest /= modes.m[k];
    col_at[static_cast<size_t>(j)] = at;
  }
  const Tensor c = w.is_contiguous() ? w : w.clone();
  const float* p = c.data<float>();
  std::vector<double> t(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) t[static_cast<size_t>(row_at[i] + col_at[j])] = p[i * cols + j];
  return t;
}

Tensor core_tensor(const double* data, int64_t r_in, int64_t n, int64_t m, int64_t r_out) {
  Tensor t = Tensor::empty({r_in, n, m, r_out});
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(data[i]);
  return t;
}

struct Svd {
  RowMat u, rest;  // u [rows, r]; rest = S_r V_r^T [r, cols]
  double tail2 = 0;
};

Svd truncate(const std::vector<double>& flat, int64_t rows, int64_t cols, size_t step, const StepRank& rank_of,
             std::optional<int64_t> fixed) {
  const Eigen::Map<const RowMat> a(flat.data(), rows, cols);
  Eigen::BDCSVD<Eigen::MatrixXd> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd& sv = svd.singularValues();
  std::vector<double> s(sv.data(), sv.data() + sv.size());
  const int64_t r = std::clamp<int64_t>(fixed ? *fixed : rank_of(s, rows, cols, step), 1, static_cast<int64_t>(s.size()));
  Svd out;
  for (size_t i = static_cast<size_t>(r); i < s.size(); ++i) out.tail2 += s[i] * s[i];
  out.u = svd.matrixU().leftCols(r);
  out.rest = sv.head(r).asDiagonal() * svd.matrixV().leftCols(r).transpose();
  return out;
}

std::vector<double> flat_of(const RowMat& m) { return std::vector<double>(m.data(), m.data() + m.size()); }

// TT-SVD steps from `first` on: c is [r_prev, q_first, ..., q_{d-1}, ring] row-major.
void tt_steps(TensorTrain& t, std::vector<double> c, const TtModes& modes, size_t first, int64_t r_prev, int64_t ring,
              const StepRank& rank_of, const std::vector<int64_t>* fixed, double& tail2) {
  const size_t d = modes.cores();
  const std::vector<int64_t> q = merged(modes);
  for (size_t k = first; k + 1 < d; ++k) {
    const int64_t rows = r_prev * q[k], cols = static_cast<int64_t>(c.size()) / rows;
    std::optional<int64_t> want;
    if (fixed) want = (*fixed)[t.ring ? k + 1 : k];  // TR ranks start at r_0
    const Svd s = truncate(c, rows, cols, k, rank_of, want);
    tail2 += s.tail2;
    const int64_t r = s.u.cols();
    t.cores.push_back(core_tensor(s.u.data(), r_prev, modes.n[k], modes.m[k], r));
    t.ranks.push_back(r);
    c = flat_of(s.rest);
    r_prev = r;
  }
  t.cores.push_back(core_tensor(c.data(), r_prev, modes.n[d - 1], modes.m[d - 1], ring));
}

double norm2_of(const std::vector<double>& t) {
  double s = 0;
  for (double v : t) s += v * v;
  return s;
}

TensorTrain tt_impl(const Tensor& w, const TtModes& modes, const StepRank& rank_of, const std::vector<int64_t>* fixed) {
  const std::vector<double> t0 = tt_tensor(w, modes);
  TensorTrain t;
  double tail2 = 0;
  tt_steps(t, t0, modes, 0, 1, 1, rank_of, fixed, tail2);
  const double n2 = norm2_of(t0);
  t.rel_error = n2 > 0 ? std::sqrt(tail2 / n2) : 0;
  return t;
}

TensorTrain tr_impl(const Tensor& w, const TtModes& modes, const StepRank& rank_of, const std::vector<int64_t>* fixed) {
  const std::vector<double> t0 = tt_tensor(w, modes);
  const std::vector<int64_t> q = merged(modes);
  TensorTrain t;
  t.ring = true;
  const int64_t rows = q[0], cols = static_cast<int64_t>(t0.size()) / rows;
  std::optional<int64_t> want;
  if (fixed) want = (*fixed)[0] * (*fixed)[1];
  const Svd s = truncate(t0, rows, cols, 0, rank_of, want);
  const int64_t big = s.u.cols();
  auto [r0, r1] = fixed && big == (*fixed)[0] * (*fixed)[1] ? std::pair{(*fixed)[0], (*fixed)[1]} : ring_split(big);
  // G_1[a, q, b] = U[q, a r1 + b]; the rest [(a, b), x] becomes [b, x, a] so that r0 rides to the end.
  std::vector<double> g1(static_cast<size_t>(r0 * rows * r1));
  for (int64_t a = 0; a < r0; ++a)
    for (int64_t x = 0; x < rows; ++x)
      for (int64_t b = 0; b < r1; ++b) g1[static_cast<size_t>((a * rows + x) * r1 + b)] = s.u(x, a * r1 + b);
  t.cores.push_back(core_tensor(g1.data(), r0, modes.n[0], modes.m[0], r1));
  t.ranks = {r0, r1};
  std::vector<double> c(static_cast<size_t>(big * cols));
  for (int64_t a = 0; a < r0; ++a)
    for (int64_t b = 0; b < r1; ++b)
      for (int64_t x = 0; x < cols; ++x) c[static_cast<size_t>((b * cols + x) * r0 + a)] = s.rest(a * r1 + b, x);
  double tail2 = s.tail2;
  tt_steps(t, c, modes, 1, r1, r0, rank_of, fixed, tail2);
  const double n2 = norm2_of(t0);
  t.rel_error = n2 > 0 ? std::sqrt(tail2 / n2) : 0;
  return t;
}

// The smallest rank whose discarded squared singular values stay within `budget2`.
int64_t rank_within(const std::vector<double>& s, double budget2) {
  double tail = 0;
  size_t r = s.size();
  while (r > 1 && tail + s[r - 1] * s[r - 1] <= budget2 * (1 + 1e-12)) tail += s[r - 1] * s[r - 1], --r;
  return static_cast<int64_t>(r);
}

void check_modes(const TtModes& modes) {
  if (modes.cores() < 2 || modes.m.size() != modes.cores())
    fail(ErrorKind::usage, "a TT-matrix needs at least 2 cores with as many row as column modes");
}
}  // namespace

TtModes tt_modes(int64_t rows, int64_t cols, int d) {
  if (d < 2 || rows < 1 || cols < 1) fail(ErrorKind::usage, "TT modes of ", rows, " x ", cols, " in ", d, " cores (need >= 2)");
  return {balanced_factors(rows, d), balanced_factors(cols, d)};
}

std::vector<int64_t> tt_max_ranks(const TtModes& modes) {
  check_modes(modes);
  const std::vector<int64_t> q = merged(modes);
  std::vector<int64_t> r;
  for (size_t k = 1; k < q.size(); ++k) r.push_back(std::min(product(q, 0, k), product(q, k, q.size())));
  return r;
}

std::vector<int64_t> tt_clamp_ranks(const TtModes& modes, std::vector<int64_t> ranks) {
  check_modes(modes);
  const std::vector<int64_t> q = merged(modes);
  if (ranks.size() + 1 != q.size()) fail(ErrorKind::usage, "tt takes ", q.size() - 1, " ranks, got ", ranks.size());
  int64_t prev = 1;
  for (size_t k = 0; k < ranks.size(); ++k) {
    ranks[k] = std::clamp<int64_t>(ranks[k], 1, std::min(prev * q[k], product(q, k + 1, q.size())));
    prev = ranks[k];
  }
  return ranks;
}

std::vector<int64_t> tr_max_ranks(const TtModes& modes) {
  check_modes(modes);
  const std::vector<int64_t> q = merged(modes);
  const int64_t big = std::min(q[0], product(q, 1, q.size()));
  const int64_t r0 = std::max<int64_t>(1, static_cast<int64_t>(std::floor(std::sqrt(static_cast<double>(big)))));
  std::vector<int64_t> r = {r0, big / r0};
  for (size_t k = 1; k + 1 < q.size(); ++k) r.push_back(std::min(r.back() * q[k], r0 * product(q, k + 1, q.size())));
  return r;
}

std::vector<int64_t> tr_clamp_ranks(const TtModes& modes, std::vector<int64_t> ranks) {
  check_modes(modes);
  const std::vector<int64_t> q = merged(modes);
  if (ranks.size() != q.size()) fail(ErrorKind::usage, "tr takes ", q.size(), " ranks, got ", ranks.size());
  const int64_t big = std::min(q[0], product(q, 1, q.size()));
  ranks[0] = std::clamp<int64_t>(ranks[0], 1, big);
  ranks[1] = std::clamp<int64_t>(ranks[1], 1, std::max<int64_t>(1, big / ranks[0]));
  for (size_t k = 2; k < ranks.size(); ++k)
    ranks[k] = std::clamp<int64_t>(ranks[k], 1, std::min(ranks[k - 1] * q[k - 1], ranks[0] * product(q, k, q.size())));
  return ranks;
}

TensorTrain tt_svd(const Tensor& w, const TtModes& modes, const StepRank& rank_of) {
  check_modes(modes);
  return tt_impl(w, modes, rank_of, nullptr);
}

TensorTrain tr_svd(const Tensor& w, const TtModes& modes, const StepRank& rank_of) {
  check_modes(modes);
  return tr_impl(w, modes, rank_of, nullptr);
}

TensorTrain tt_svd_ranks(const Tensor& w, const TtModes& modes, const std::vector<int64_t>& ranks) {
  const std::vector<int64_t> r = tt_clamp_ranks(modes, ranks);
  if (r != ranks) fail(ErrorKind::usage, "tt ranks out of range (TT-SVD cannot reach them at these modes)");
  return tt_impl(w, modes, {}, &r);
}

TensorTrain tr_svd_ranks(const Tensor& w, const TtModes& modes, const std::vector<int64_t>& ranks) {
  const std::vector<int64_t> r = tr_clamp_ranks(modes, ranks);
  if (r != ranks) fail(ErrorKind::usage, "tr ranks out of range (TR-SVD cannot reach them at these modes)");
  return tr_impl(w, modes, {}, &r);
}

TensorTrain tt_svd_energy(const Tensor& w, const TtModes& modes, double energy, bool ring) {
  if (!(energy > 0 && energy <= 1)) fail(ErrorKind::usage, "energy must be in (0, 1], got ", energy);
  const Tensor c = w.is_contiguous() ? w : w.clone();
  double n2 = 0;
  for (int64_t i = 0; i < c.numel(); ++i) n2 += static_cast<double>(c.data<float>()[i]) * c.data<float>()[i];
  const double lost = (1 - energy) * n2, d = static_cast<double>(modes.cores());
  if (!ring) return tt_svd(w, modes, [&](const std::vector<double>& s, int64_t, int64_t, size_t) { return rank_within(s, lost / (d - 1)); });
  return tr_svd(w, modes, [&](const std::vector<double>& s, int64_t, int64_t, size_t step) {
    return rank_within(s, (step == 0 ? 2 : 1) * lost / d);
  });
}

TensorTrain tt_svd_vbmf(const Tensor& w, const TtModes& modes, bool ring) {
  const StepRank rule = [](const std::vector<double>& s, int64_t rows, int64_t cols, size_t) { return vbmf_rank(s, rows, cols); };
  return ring ? tr_svd(w, modes, rule) : tt_svd(w, modes, rule);
}

Tensor tt_matrix(const TensorTrain& t, const TtModes& modes) {
  const size_t d = modes.cores();
  const int64_t rows = product(modes.n, 0, d), cols = product(modes.m, 0, d);
  Tensor out = Tensor::empty({rows, cols});
  std::vector<int64_t> ii(d), jj(d);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t rest = i;
    for (size_t k = d; k-- > 0;) ii[k] = rest % modes.n[k], rest /= modes.n[k];
    for (int64_t j = 0; j < cols; ++j) {
      rest = j;
      for (size_t k = d; k-- > 0;) jj[k] = rest % modes.m[k], rest /= modes.m[k];
      RowMat acc;
      for (size_t k = 0; k < d; ++k) {
        const Tensor& g = t.cores[k];
        const int64_t ra = g.dim(0), n = g.dim(1), m = g.dim(2), rb = g.dim(3);
        RowMat slice(ra, rb);
        for (int64_t a = 0; a < ra; ++a)
          for (int64_t b = 0; b < rb; ++b) slice(a, b) = g.data<float>()[((a * n + ii[k]) * m + jj[k]) * rb + b];
        acc = k == 0 ? slice : RowMat(acc * slice);
      }
      out.data<float>()[i * cols + j] = static_cast<float>(acc.trace());
    }
  }
  return out;
}

}  // namespace leancnn::compress::decompose
