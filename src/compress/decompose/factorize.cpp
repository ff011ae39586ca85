// Truncated SVD, Tucker-2 (HOSVD + HOOI) and CP-ALS of weights (factorize.h), with Eigen in
// double precision. Eigen stays in this file: the header speaks Tensors.
#include "leancnn/compress/decompose/factorize.h"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <array>
#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"

namespace leancnn::compress::decompose {

namespace {
using Mat = Eigen::MatrixXd;

Mat to_mat(const Tensor& m) {
  if (m.rank() != 2 || m.dtype() != DType::f32) fail(ErrorKind::usage, "expected an f32 matrix, got ", shape_str(m.shape()));
  const Tensor c = m.is_contiguous() ? m : m.clone();
  Mat out(m.dim(0), m.dim(1));
  const float* p = c.data<float>();
  for (int64_t i = 0; i < m.dim(0); ++i)
    for (int64_t j = 0; j < m.dim(1); ++j) out(i, j) = p[i * m.dim(1) + j];
  return out;
}

Tensor to_tensor(const Mat& m) {
  Tensor t = Tensor::empty({m.rows(), m.cols()});
  float* p = t.data<float>();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) p[i * m.cols() + j] = static_cast<float>(m(i, j));
  return t;
}

std::array<int64_t, 4> dims4(const Tensor& w) {
  if (w.rank() != 4 || w.dtype() != DType::f32)
    fail(ErrorKind::usage, "expected an f32 conv kernel [OC, IC, KH, KW], got ", shape_str(w.shape()));
  return {w.dim(0), w.dim(1), w.dim(2), w.dim(3)};
}

// The mode-k unfolding [dims[k], numel / dims[k]] of a 4-D kernel (the other modes in order).
Mat unfold(const Tensor& w, int mode) {
  const std::array<int64_t, 4> d = dims4(w);
  const Tensor c = w.is_contiguous() ? w : w.clone();
  const float* p = c.data<float>();
  const int64_t n = d[0] * d[1] * d[2] * d[3];
  Mat out(d[mode], n / d[mode]);
  std::array<int64_t, 4> idx{};
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rest = flat;
    for (int k = 3; k >= 0; --k) idx[k] = rest % d[k], rest /= d[k];
    int64_t col = 0;
    for (int k = 0; k < 4; ++k)
      if (k != mode) col = col * d[k] + idx[k];
    out(idx[mode], col) = p[flat];
  }
  return out;
}

// The r leading left singular vectors of x (through the eigenvectors of x x^T, whose size is
// the row count: conv unfoldings are short and wide).
Mat leading_left(const Mat& x, int64_t r) {
  Eigen::SelfAdjointEigenSolver<Mat> eig(x * x.transpose());
  const Mat& v = eig.eigenvectors();  // ascending eigenvalues
  Mat out(x.rows(), r);
  for (int64_t j = 0; j < r; ++j) out.col(j) = v.col(v.cols() - 1 - j);
  return out;
}

// Per kernel tap s: the [OC, IC] slice w[:, :, s].
std::vector<Mat> tap_slices(const Tensor& w) {
  const std::array<int64_t, 4> d = dims4(w);
  const int64_t taps = d[2] * d[3];
  const Tensor c = w.is_contiguous() ? w : w.clone();
  const float* p = c.data<float>();
  std::vector<Mat> out(static_cast<size_t>(taps), Mat(d[0], d[1]));
  for (int64_t o = 0; o < d[0]; ++o)
    for (int64_t i = 0; i < d[1]; ++i)
      for (int64_t s = 0; s < taps; ++s) out[static_cast<size_t>(s)](o, i) = p[(o * d[1] + i) * taps + s];
  return out;
}

Mat top_eigvecs(const Mat& gram, int64_t r) {
  Eigen::SelfAdjointEigenSolver<Mat> eig(gram);
  return eig.eigenvectors().rightCols(r).rowwise().reverse();
}
}  // namespace

std::vector<double> singular_values(const Tensor& m) {
  Eigen::BDCSVD<Mat> svd(to_mat(m));
  const Eigen::VectorXd& s = svd.singularValues();
  return std::vector<double>(s.data(), s.data() + s.size());
}

int64_t energy_rank(const std::vector<double>& s, double energy) {
  if (!(energy > 0 && energy <= 1)) fail(ErrorKind::usage, "energy must be in (0, 1], got ", energy);
  double total = 0;
  for (double v : s) total += v * v;
  if (s.empty() || total == 0) return 1;
  double kept = 0;
  for (size_t r = 0; r < s.size(); ++r) {
    kept += s[r] * s[r];
    // The tolerance keeps energy = 1 from asking for ranks whose mass is rounding noise.
    if (kept >= energy * total * (1 - 1e-12)) return static_cast<int64_t>(r + 1);
  }
  return static_cast<int64_t>(s.size());
}

LowRank truncated_svd(const Tensor& m, int64_t rank) {
  const Mat a = to_mat(m);
  if (rank < 1 || rank > std::min(a.rows(), a.cols()))
    fail(ErrorKind::usage, "SVD rank ", rank, " is outside [1, ", std::min(a.rows(), a.cols()), "]");
  Eigen::BDCSVD<Mat> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd root = svd.singularValues().head(rank).cwiseSqrt();
  const Mat left = svd.matrixU().leftCols(rank) * root.asDiagonal();
  const Mat right = root.asDiagonal() * svd.matrixV().leftCols(rank).transpose();
  return {to_tensor(left), to_tensor(right)};
}

std::vector<double> mode_singular_values(const Tensor& w, int mode) {
  if (mode != 0 && mode != 1) fail(ErrorKind::usage, "mode must be 0 or 1, got ", mode);
  const Mat x = unfold(w, mode);
  Eigen::SelfAdjointEigenSolver<Mat> eig(x * x.transpose(), Eigen::EigenvaluesOnly);
  std::vector<double> s;
  for (Eigen::Index i = eig.eigenvalues().size() - 1; i >= 0; --i) s.push_back(std::sqrt(std::max(0.0, eig.eigenvalues()(i))));
  return s;
}

Tucker2 tucker2(const Tensor& w, int64_t r_out, int64_t r_in, int hooi_iters) {
  const std::array<int64_t, 4> d = dims4(w);
  if (r_out < 1 || r_out > d[0] || r_in < 1 || r_in > d[1])
    fail(ErrorKind::usage, "Tucker-2 ranks (", r_out, ", ", r_in, ") are outside [1, ", d[0], "] x [1, ", d[1], "]");
  const std::vector<Mat> ws = tap_slices(w);
  // HOSVD: the leading left singular vectors of each unfolding (sum over taps of the Grams).
  Mat g_out = Mat::Zero(d[0], d[0]), g_in = Mat::Zero(d[1], d[1]);
  for (const Mat& s : ws) g_out += s * s.transpose(), g_in += s.transpose() * s;
  Mat u_out = top_eigvecs(g_out, r_out), u_in = top_eigvecs(g_in, r_in);
  Tucker2 t;
  double last_fit = -1;
  for (int it = 0; it < hooi_iters; ++it) {
    // HOOI: each factor from the unfolding of the kernel projected on the other factor.
    g_out.setZero();
    for (const Mat& s : ws) {
      const Mat y = s * u_in;
      g_out += y * y.transpose();
    }
    u_out = top_eigvecs(g_out, r_out);
    g_in.setZero();
    double fit = 0;
    for (const Mat& s : ws) {
      const Mat y = s.transpose() * u_out;
      g_in += y * y.transpose();
    }
    u_in = top_eigvecs(g_in, r_in);
    for (const Mat& s : ws) fit += (u_out.transpose() * s * u_in).squaredNorm();
    t.iterations = it + 1;
    if (last_fit >= 0 && std::fabs(fit - last_fit) <= 1e-7 * std::max(fit, 1e-30)) break;
    last_fit = fit;
  }
  const int64_t taps = d[2] * d[3];
  t.core = Tensor::empty({r_out, r_in, d[2], d[3]});
  float* c = t.core.data<float>();
  for (int64_t s = 0; s < taps; ++s) {
    const Mat core_s = u_out.transpose() * ws[static_cast<size_t>(s)] * u_in;
    for (int64_t k = 0; k < r_out; ++k)
      for (int64_t j = 0; j < r_in; ++j) c[(k * r_in + j) * taps + s] = static_cast<float>(core_s(k, j));
  }
  t.out_factor = to_tensor(u_out);
  t.in_factor = to_tensor(u_in);
  return t;
}

Cp cp_als(const Tensor& w, int64_t rank, int max_iters, double tol, uint64_t seed) {
  const std::array<int64_t, 4> d = dims4(w);
  if (rank < 1) fail(ErrorKind::usage, "CP rank must be >= 1, got ", rank);
  const Tensor c = w.is_contiguous() ? w : w.clone();
  const float* x = c.data<float>();
  const int64_t n = d[0] * d[1] * d[2] * d[3];
  double norm2 = 0;
  for (int64_t i = 0; i < n; ++i) norm2 += static_cast<double>(x[i]) * x[i];
  // Initialisation: leading singular vectors of each unfolding, seeded normal columns beyond.
  Rng rng(seed);
  std::array<Mat, 4> f;
  for (int k = 0; k < 4; ++k) {
    const int64_t lead = std::min(rank, d[k]);
    f[k] = Mat(d[k], rank);
    f[k].leftCols(lead) = leading_left(unfold(w, k), lead);
    for (int64_t j = lead; j < rank; ++j)
      for (int64_t i = 0; i < d[k]; ++i) f[k](i, j) = rng.normal() / std::sqrt(static_cast<double>(d[k]));
  }
  // MTTKRP of mode k: m[a, r] = sum over the other indices of x * product of the other factors.
  auto mttkrp = [&](int k) {
    Mat m = Mat::Zero(d[k], rank);
    Eigen::RowVectorXd prod(rank);
    std::array<int64_t, 4> idx{};
    for (int64_t flat = 0; flat < n; ++flat) {
      int64_t rest = flat;
      for (int q = 3; q >= 0; --q) idx[q] = rest % d[q], rest /= d[q];
      prod.setConstant(x[flat]);
      for (int q = 0; q < 4; ++q)
        if (q != k) prod.array() *= f[q].row(idx[q]).array();
      m.row(idx[k]) += prod;
    }
    return m;
  };
  auto gram_except = [&](int k) {
    Mat v = Mat::Ones(rank, rank);
    for (int q = 0; q < 4; ++q)
      if (q != k) v.array() *= (f[q].transpose() * f[q]).array();
    return v;
  };
  Cp out;
  double last = -1;
  // Sweep order in, h, w (each normalised), then out last, which absorbs the scales.
  const std::array<int, 4> order = {1, 2, 3, 0};
  for (int it = 0; it < max_iters; ++it) {
    Mat m, v;
    for (int k : order) {
      m = mttkrp(k);
      v = gram_except(k);
      // A tiny ridge keeps the solve defined when columns become collinear (rank > true rank).
      v.diagonal().array() += 1e-12 * std::max(1.0, v.trace());
      f[k] = v.ldlt().solve(m.transpose()).transpose();
      if (k != 0)
        for (int64_t j = 0; j < rank; ++j) {
          const double nrm = f[k].col(j).norm();
          if (nrm > 0) f[k].col(j) /= nrm;
        }
    }
    // ||x - cp||^2 = ||x||^2 - 2 <x, cp> + ||cp||^2, from the last solve's m and v.
    const double inner = (f[0].array() * m.array()).sum();
    const double model2 = ((f[0].transpose() * f[0]).array() * v.array()).sum();
    const double err = std::sqrt(std::max(0.0, norm2 - 2 * inner + model2)) / std::sqrt(std::max(norm2, 1e-300));
    out.iterations = it + 1;
    out.rel_error = err;
    if (last >= 0 && std::fabs(last - err) < tol) break;
    last = err;
  }
  out.out = to_tensor(f[0]);
  out.in = to_tensor(f[1]);
  out.h = to_tensor(f[2]);
  out.w = to_tensor(f[3]);
  out.rel_error = relative_error(w, cp_kernel(out));
  return out;
}

double relative_error(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) fail(ErrorKind::usage, "relative_error: ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  const Tensor ca = a.is_contiguous() ? a : a.clone(), cb = b.is_contiguous() ? b : b.clone();
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = ca.data<float>()[i], y = cb.data<float>()[i];
    num += (x - y) * (x - y);
    den += x * x;
  }
  if (den == 0) return num == 0 ? 0.0 : 1.0;
  return std::sqrt(num / den);
}

Tensor tucker2_kernel(const Tucker2& t) {
  const int64_t r_out = t.core.dim(0), r_in = t.core.dim(1), kh = t.core.dim(2), kw = t.core.dim(3);
  const Mat u_out = to_mat(t.out_factor), u_in = to_mat(t.in_factor);
  const int64_t oc = u_out.rows(), ic = u_in.rows(), taps = kh * kw;
  Tensor out = Tensor::empty({oc, ic, kh, kw});
  const float* c = t.core.data<float>();
  for (int64_t s = 0; s < taps; ++s) {
    Mat core_s(r_out, r_in);
    for (int64_t k = 0; k < r_out; ++k)
      for (int64_t j = 0; j < r_in; ++j) core_s(k, j) = c[(k * r_in + j) * taps + s];
    const Mat ws = u_out * core_s * u_in.transpose();
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t i = 0; i < ic; ++i) out.data<float>()[(o * ic + i) * taps + s] = static_cast<float>(ws(o, i));
  }
  return out;
}

Tensor cp_kernel(const Cp& c) {
  const int64_t oc = c.out.dim(0), ic = c.in.dim(0), kh = c.h.dim(0), kw = c.w.dim(0), r = c.out.dim(1);
  Tensor out = Tensor::zeros({oc, ic, kh, kw});
  float* p = out.data<float>();
  const float *a = c.out.data<float>(), *b = c.in.data<float>(), *hh = c.h.data<float>(), *ww = c.w.data<float>();
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < ic; ++i)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x) {
          double s = 0;
          for (int64_t q = 0; q < r; ++q) s += static_cast<double>(a[o * r + q]) * b[i * r + q] * hh[y * r + q] * ww[x * r + q];
          p[((o * ic + i) * kh + y) * kw + x] = static_cast<float>(s);
        }
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) { return to_tensor(to_mat(a) * to_mat(b)); }

}  // namespace leancnn::compress::decompose
