// Gradient checks of ai.leancnn::FakeQuantize. Finite differences cannot cross the rounding, so the
// STE and LSQ gradients are checked against their defining formulas (computed here independently,
// in double), and DoReFa's smooth part (the tanh / max normalisation) against central differences.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/ir/passes.h"
#include "leancnn/ops/fake_quantize.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

struct Grads {
  Tensor d_x, d_scale;
};

// Runs the op's reference backward for output gradient d_y, asking for d_x and d_scale.
Grads backward_of(const OpCase& c, const Tensor& d_y) {
  ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpSchema& schema = ops::op_table().get(n);
  OpRun run = run_reference(c);
  ir::BackwardCtx b{n, c.inputs, run.outputs, run.saved, {d_y}, {}};
  b.d_inputs.resize(c.inputs.size());
  b.d_inputs[0] = Tensor::full(c.inputs[0].shape(), NAN);
  b.d_inputs[1] = Tensor::full(c.inputs[1].shape(), NAN);
  schema.backward(b);
  return {b.d_inputs[0], b.d_inputs[1]};
}

OpCase fq_case(const Tensor& x, const Tensor& scale, const Tensor& zp, int bits, bool is_signed,
               const std::string& method, int64_t axis) {
  OpCase c;
  c.op_type = "FakeQuantize";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {x, scale};
  if (zp.defined()) c.inputs.push_back(zp);
  c.attrs.set("bits", int64_t{bits});
  c.attrs.set("signed", int64_t{is_signed});
  c.attrs.set("method", method);
  c.attrs.set("axis", axis);
  c.training = true;
  return c;
}

struct Cfg {
  Shape x;
  int bits;
  bool is_signed;
  bool per_channel;  // along axis 0
  std::string method;
};

class FakeQuantFormula : public ::testing::TestWithParam<Cfg> {};

// d_x = d_y inside qmin <= x/s + zp <= qmax, 0 outside; LSQ d_s = g * sum d_y * {round(x/s) - x/s |
// qmin - zp | qmax - zp}, g = 1 / sqrt(N Qp), N = elements per scale, Qp = qmax.
TEST_P(FakeQuantFormula, GradientsMatchTheirDefinition) {
  const Cfg& p = GetParam();
  Rng rng(17);
  const int64_t ch = p.per_channel ? p.x[0] : 1;
  const Shape sshape = p.per_channel ? Shape{ch} : Shape{};
  // Scales such that part of x falls outside the range on both sides.
  const int32_t qmax = p.is_signed ? (1 << (p.bits - 1)) - 1 : (1 << p.bits) - 1;
  const int32_t qmin = p.is_signed ? -qmax - 1 : 0;
  Tensor scale = Tensor::empty(sshape);
  for (int64_t c = 0; c < ch; ++c) scale.data<float>()[c] = (1.2f + 0.3f * static_cast<float>(c)) / qmax;
  Tensor zp = Tensor::zeros(sshape, p.is_signed ? DType::s8 : DType::u8);
  if (!p.is_signed)
    for (int64_t c = 0; c < ch; ++c) zp.data<uint8_t>()[c] = static_cast<uint8_t>((qmax / 3) + c % 2);
  const Tensor x = random_tensor(p.x, rng, -2.f, 2.f);
  const Tensor d_y = random_tensor(p.x, rng);
  const OpCase c = fq_case(x, scale, zp, p.bits, p.is_signed, p.method, 0);
  const Grads got = backward_of(c, d_y);

  const int64_t n = x.numel(), inner = n / ch;
  std::vector<double> want_ds(ch, 0.0);
  int inside_count = 0, outside_count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = p.per_channel ? i / inner : 0;
    const float s = scale.data<float>()[k];
    const int32_t z = p.is_signed ? zp.data<int8_t>()[k] : zp.data<uint8_t>()[k];
    const double v = x.at(i) / s;
    const bool inside = v + z >= qmin && v + z <= qmax;
    (inside ? inside_count : outside_count)++;
    EXPECT_EQ(got.d_x.at(i), inside ? d_y.at(i) : 0.f) << "element " << i;
    const double ds = inside ? std::nearbyint(v) - v : (v + z < qmin ? qmin - z : qmax - z);
    want_ds[k] += ds * d_y.at(i);
  }
  EXPECT_GT(inside_count, 0);
  EXPECT_GT(outside_count, 0);
  for (int64_t k = 0; k < ch; ++k) {
    if (p.method == "lsq") {
      const double g = 1.0 / std::sqrt(static_cast<double>(inner) * qmax);
      EXPECT_NEAR(got.d_scale.at(k), g * want_ds[k], 1e-4 * (1 + std::fabs(g * want_ds[k]))) << "channel " << k;
    } else {
      EXPECT_EQ(got.d_scale.at(k), 0.f) << "STE treats the scale as a constant";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, FakeQuantFormula,
                         ::testing::Values(Cfg{{4, 3, 3, 3}, 4, true, true, "lsq"}, Cfg{{2, 3, 5, 5}, 8, false, false, "lsq"},
                                           Cfg{{3, 20}, 2, true, false, "lsq"}, Cfg{{5, 7}, 4, false, true, "ste"},
                                           Cfg{{2, 4, 3}, 8, true, true, "ste"}, Cfg{{6, 9}, 3, false, false, "lsq"}));

// The attribute grad_scale replaces the automatic g = 1 / sqrt(N Qp) (N = 16, Qp = 7 here).
TEST(FakeQuantLsq, ExplicitGradScaleIsUsed) {
  Rng rng(3);
  const Tensor x = random_tensor({2, 8}, rng, -1.f, 1.f);
  const Tensor scale = Tensor::from_floats({}, {0.1f});
  const Tensor d_y = random_tensor({2, 8}, rng);
  OpCase c = fq_case(x, scale, Tensor(), 4, true, "lsq", 1);
  const float auto_g = backward_of(c, d_y).d_scale.at(0);
  c.attrs.set("grad_scale", 0.5f);
  const float explicit_g = backward_of(c, d_y).d_scale.at(0);
  const double g0 = 1.0 / std::sqrt(16.0 * 7);
  EXPECT_NEAR(explicit_g, auto_g / g0 * 0.5, 1e-5);
}

// DoReFa's normalisation r = tanh(w) / (2 max|tanh w|) + 1/2 is smooth (away from max ties):
// its backward against central differences, per tensor and per channel.
TEST(FakeQuantDorefa, NormalisationGradientMatchesCentralDifferences) {
  Rng rng(5);
  for (int64_t channels : {int64_t{1}, int64_t{3}}) {
    Tensor w = random_tensor({3, 2, 2, 2}, rng, -1.5f, 1.5f);
    const Tensor d_r = random_tensor(w.shape(), rng);
    const Tensor analytic = ops::dorefa_normalize_backward(w, d_r, 0, channels);
    auto loss = [&](const Tensor& wt) {
      const Tensor r = ops::dorefa_normalize(wt, 0, channels);
      double l = 0;
      for (int64_t i = 0; i < r.numel(); ++i) l += static_cast<double>(r.at(i)) * d_r.at(i);
      return l;
    };
    const float eps = 1e-3f;
    for (int64_t i = 0; i < w.numel(); ++i) {
      Tensor plus = w.clone(), minus = w.clone();
      plus.data<float>()[i] += eps;
      minus.data<float>()[i] -= eps;
      const double numeric = (loss(plus) - loss(minus)) / (2.0 * eps);
      EXPECT_NEAR(analytic.at(i), numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << "channels " << channels << " element " << i;
    }
  }
}

// The op's DoReFa weight gradient is 2 s (2^b - 1) times the normalisation's gradient (STE through
// the rounding), and its forward is s * (2 round(r (2^b - 1)) - (2^b - 1)).
TEST(FakeQuantDorefa, OpForwardAndGradientFollowTheDefinition) {
  Rng rng(8);
  const Tensor w = random_tensor({4, 3, 3, 3}, rng, -0.5f, 0.5f);
  const Tensor scale = Tensor::from_floats({4}, {0.01f, 0.02f, 0.03f, 0.04f});
  const int bits = 3;
  const OpCase c = fq_case(w, scale, Tensor(), bits, true, "dorefa", 0);
  const Tensor d_y = random_tensor(w.shape(), rng);
  const Grads got = backward_of(c, d_y);
  const Tensor y = run_reference(c).outputs[0];
  const Tensor r = ops::dorefa_normalize(w, 0, 4);
  Tensor d_r = Tensor::empty(w.shape());
  const int64_t inner = 27;
  for (int64_t i = 0; i < w.numel(); ++i) {
    const float s = scale.at(i / inner);
    d_r.data<float>()[i] = 2.f * s * 7.f * d_y.at(i);
    const double k = std::nearbyint(static_cast<double>(r.at(i)) * 7);
    EXPECT_FLOAT_EQ(y.at(i), static_cast<float>(2 * k - 7) * s) << "element " << i;
  }
  const Tensor want = ops::dorefa_normalize_backward(w, d_r, 0, 4);
  for (int64_t i = 0; i < w.numel(); ++i) EXPECT_NEAR(got.d_x.at(i), want.at(i), 1e-6) << "element " << i;
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(got.d_scale.at(k), 0.f);
}

// Unsigned DoReFa (activations) is the STE quantizer: same forward, same gradient.
TEST(FakeQuantDorefa, ActivationQuantizerIsSte) {
  Rng rng(9);
  const Tensor x = random_tensor({2, 3, 4}, rng, -0.5f, 2.f);
  const Tensor scale = Tensor::from_floats({}, {1.f / 15});
  const Tensor d_y = random_tensor(x.shape(), rng);
  const OpCase a = fq_case(x, scale, Tensor(), 4, false, "dorefa", 1);
  const OpCase b = fq_case(x, scale, Tensor(), 4, false, "ste", 1);
  EXPECT_EQ(max_rel_diff(run_reference(a).outputs[0], run_reference(b).outputs[0]), 0.0);
  EXPECT_EQ(max_rel_diff(backward_of(a, d_y).d_x, backward_of(b, d_y).d_x), 0.0);
}

}  // namespace
}  // namespace leancnn::testing
