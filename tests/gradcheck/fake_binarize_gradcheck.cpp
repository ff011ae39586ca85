// Gradient checks of ai.leancnn FakeBinarize (weights) and Binarize (activations). The forward is
// piecewise constant, so each backward is checked by central differences of the smooth surrogate
// its estimator differentiates (docs/binarization.md): hard tanh for sign (BinaryConnect, BNN);
// alpha(w) sign(w)|frozen + alpha|frozen htanh(w) for XNOR-Net's weights and mean|x| scaled
// activations (the scale's own gradient plus the STE); s k tanh(t (w - mean) / std) with mean,
// std, s held for IR-Net's error-decay estimator; the identity for TWN.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

Tensor backward_of(const OpCase& c, const Tensor& d_y) {
  ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpSchema& schema = ops::op_table().get(n);
  OpRun run = run_reference(c);
  ir::BackwardCtx b{n, c.inputs, run.outputs, run.saved, {d_y}, {}};
  b.d_inputs.resize(c.inputs.size());
  b.d_inputs[0] = Tensor::full(c.inputs[0].shape(), NAN);
  schema.backward(b);
  return b.d_inputs[0];
}

// Values in (-1.5, 1.5) kept away from 0 and from the hard-tanh kinks at ±1 (finite differences
// must not cross them).
Tensor values(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v;
    do v = rng.uniform(-1.5f, 1.5f);
    while (std::fabs(v) < 0.02f || std::fabs(std::fabs(v) - 1.f) < 0.02f);
    t.data<float>()[i] = v;
  }
  return t;
}

double htanh(double v) { return std::max(-1.0, std::min(1.0, v)); }

// d/dw_k of sum_i dy_i f_i(w) by central differences, f evaluated in double on rows of `row`.
std::vector<double> numeric(const Tensor& w, const Tensor& dy, int64_t row,
                            const std::function<double(const std::vector<double>&, int64_t)>& f) {
  const int64_t n = w.numel(), rows = n / row;
  std::vector<double> grad(static_cast<size_t>(n));
  const double h = 1e-4;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = k / row;
    std::vector<double> plus(static_cast<size_t>(row)), minus(static_cast<size_t>(row));
    for (int64_t i = 0; i < row; ++i) plus[i] = minus[i] = w.data<float>()[r * row + i];
    plus[k - r * row] += h;
    minus[k - r * row] -= h;
    double s = 0;
    for (int64_t i = 0; i < row; ++i) s += dy.data<float>()[r * row + i] * (f(plus, i) - f(minus, i));
    grad[static_cast<size_t>(k)] = s / (2 * h);
  }
  (void)rows;
  return grad;
}

void expect_grad(const Tensor& got, const std::vector<double>& want, double tol, const std::string& what) {
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_NEAR(got.data<float>()[i], want[static_cast<size_t>(i)], tol) << what << " element " << i;
}

OpCase weight_case(const Tensor& w, const std::string& method) {
  OpCase c;
  c.op_type = "FakeBinarize";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {w};
  c.attrs.set("method", method);
  c.training = true;
  return c;
}

double mean_abs(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::fabs(x);
  return s / static_cast<double>(v.size());
}

TEST(FakeBinarizeGradcheck, SignIsHardTanhStraightThrough) {
  for (const char* method : {"sign", "stochastic"}) {
    const Tensor w = values({4, 3, 3, 3}, 1), dy = values({4, 3, 3, 3}, 2);
    const Tensor got = backward_of(weight_case(w, method), dy);
    expect_grad(got, numeric(w, dy, 27, [](const std::vector<double>& v, int64_t i) { return htanh(v[i]); }), 1e-4, method);
  }
}

TEST(FakeBinarizeGradcheck, XnorScaleAndStraightThrough) {
  const Tensor w = values({5, 2, 3, 3}, 3), dy = values({5, 2, 3, 3}, 4);
  const int64_t row = 18;
  const Tensor got = backward_of(weight_case(w, "xnor"), dy);
  // f_i(w') = alpha(w') sign(w_i) + alpha(w) (htanh(w'_i) - htanh(w_i)), sign and alpha(w) frozen.
  std::vector<double> want(static_cast<size_t>(w.numel()));
  for (int64_t r = 0; r < 5; ++r) {
    std::vector<double> at(static_cast<size_t>(row));
    for (int64_t i = 0; i < row; ++i) at[i] = w.data<float>()[r * row + i];
    const double a0 = mean_abs(at);
    Tensor wr = Tensor::empty({row}), dr = Tensor::empty({row});
    for (int64_t i = 0; i < row; ++i) {
      wr.data<float>()[i] = w.data<float>()[r * row + i];
      dr.data<float>()[i] = dy.data<float>()[r * row + i];
    }
    const std::vector<double> g = numeric(wr, dr, row, [&](const std::vector<double>& v, int64_t i) {
      return mean_abs(v) * (at[i] >= 0 ? 1.0 : -1.0) + a0 * (htanh(v[i]) - htanh(at[i]));
    });
    for (int64_t i = 0; i < row; ++i) want[static_cast<size_t>(r * row + i)] = g[static_cast<size_t>(i)];
  }
  expect_grad(got, want, 1e-4, "xnor");
}

TEST(FakeBinarizeGradcheck, IrNetErrorDecayEstimator) {
  const Tensor w = values({3, 16}, 5), dy = values({3, 16}, 6);
  OpCase c = weight_case(w, "irnet");
  const float t = 2.5f, k = 0.7f;
  c.attrs.set("ede_t", t);
  c.attrs.set("ede_k", k);
  const Tensor got = backward_of(c, dy);
  std::vector<double> want(static_cast<size_t>(w.numel()));
  for (int64_t r = 0; r < 3; ++r) {
    std::vector<double> at(16);
    for (int64_t i = 0; i < 16; ++i) at[i] = w.data<float>()[r * 16 + i];
    double mean = 0, sq = 0;
    for (double v : at) mean += v / 16;
    for (double v : at) sq += (v - mean) * (v - mean) / 16;
    const double sd = std::sqrt(sq) + 1e-8;
    std::vector<double> z(16);
    for (int64_t i = 0; i < 16; ++i) z[i] = (at[i] - mean) / sd;
    const double s = std::exp2(std::round(std::log2(mean_abs(z))));
    Tensor wr = Tensor::empty({16}), dr = Tensor::empty({16});
    for (int64_t i = 0; i < 16; ++i) {
      wr.data<float>()[i] = w.data<float>()[r * 16 + i];
      dr.data<float>()[i] = dy.data<float>()[r * 16 + i];
    }
    const std::vector<double> g = numeric(wr, dr, 16, [&](const std::vector<double>& v, int64_t i) {
      return s * k * std::tanh(t * (v[i] - mean) / sd);
    });
    for (int64_t i = 0; i < 16; ++i) want[static_cast<size_t>(r * 16 + i)] = g[static_cast<size_t>(i)];
  }
  expect_grad(got, want, 2e-4, "irnet");
}

TEST(FakeBinarizeGradcheck, TernaryStraightThrough) {
  const Tensor w = values({4, 9}, 7), dy = values({4, 9}, 8);
  const Tensor got = backward_of(weight_case(w, "ternary"), dy);
  expect_grad(got, numeric(w, dy, 9, [](const std::vector<double>& v, int64_t i) { return v[i]; }), 1e-4, "ternary");
}

TEST(BinarizeGradcheck, SignAndMeanAbsScale) {
  const Tensor x = values({2, 3, 4, 4}, 9), dy = values({2, 3, 4, 4}, 10);
  const int64_t row = 48;
  for (const char* scale : {"none", "mean_abs"}) {
    OpCase c;
    c.op_type = "Binarize";
    c.domain = ir::kLeancnnDomain;
    c.inputs = {x};
    c.attrs.set("scale", std::string(scale));
    c.training = true;
    const Tensor got = backward_of(c, dy);
    const bool scaled = std::string(scale) == "mean_abs";
    std::vector<double> want(static_cast<size_t>(x.numel()));
    for (int64_t r = 0; r < 2; ++r) {
      std::vector<double> at(static_cast<size_t>(row));
      for (int64_t i = 0; i < row; ++i) at[i] = x.data<float>()[r * row + i];
      const double b0 = scaled ? mean_abs(at) : 1.0;
      Tensor xr = Tensor::empty({row}), dr = Tensor::empty({row});
      for (int64_t i = 0; i < row; ++i) {
        xr.data<float>()[i] = x.data<float>()[r * row + i];
        dr.data<float>()[i] = dy.data<float>()[r * row + i];
      }
      const std::vector<double> g = numeric(xr, dr, row, [&](const std::vector<double>& v, int64_t i) {
        const double frozen_sign = at[i] >= 0 ? 1.0 : -1.0;
        return (scaled ? mean_abs(v) * frozen_sign : 0.0) + b0 * htanh(v[i]);
      });
      for (int64_t i = 0; i < row; ++i) want[static_cast<size_t>(r * row + i)] = g[static_cast<size_t>(i)];
    }
    expect_grad(got, want, 1e-4, scale);
  }
}

}  // namespace
}  // namespace leancnn::testing
