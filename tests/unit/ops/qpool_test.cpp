// Unit tests of the integer pooling references: QLinearMaxPool equals the float chain
// DequantizeLinear -> MaxPool -> QuantizeLinear bit for bit on random data (u8/s8, pads,
// strides, dilation, ceil_mode, auto_pad, equal and different scales), QLinearGlobalAveragePool
// equals a hand-computed case exactly and the float chain within one unit, shape inference, and
// the error paths naming the operand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "leancnn/core/error.h"
#include "leancnn/ops/qpool.h"
#include "leancnn/ops/quant_math.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

Tensor f(float v) { return Tensor::from_floats({}, {v}); }
Tensor q8(DType t, const Shape& s, const std::vector<int64_t>& v) { return Tensor::from_ints(s, v, t); }
Tensor zp(DType t, int v) { return Tensor::from_ints({}, {v}, t); }

int value_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::u8 ? int{t.data<uint8_t>()[i]} : int{t.data<int8_t>()[i]};
}

struct QParams {
  DType x_type;
  float x_scale;
  int x_zp;
  DType y_type;
  float y_scale;
  int y_zp;
};

OpCase qpool_case(const char* op, const Tensor& x, const QParams& q, const ir::Attributes& attrs = {}) {
  OpCase c;
  c.op_type = op;
  c.domain = ir::kLeancnnDomain;
  c.inputs = {x, f(q.x_scale), zp(q.x_type, q.x_zp), f(q.y_scale), zp(q.y_type, q.y_zp)};
  c.attrs = attrs;
  return c;
}

// The float graph the integer op replaces: DequantizeLinear -> pool -> QuantizeLinear, each run
// by its reference op.
Tensor float_chain(const char* pool, const Tensor& x, const QParams& q, const ir::Attributes& attrs = {}) {
  OpCase dq;
  dq.op_type = "DequantizeLinear";
  dq.inputs = {x, f(q.x_scale), zp(q.x_type, q.x_zp)};
  OpCase p;
  p.op_type = pool;
  p.inputs = {run_reference(dq).outputs.at(0)};
  p.attrs = attrs;
  OpCase qz;
  qz.op_type = "QuantizeLinear";
  qz.inputs = {run_reference(p).outputs.at(0), f(q.y_scale), zp(q.y_type, q.y_zp)};
  return run_reference(qz).outputs.at(0);
}

ir::Attributes pool_attrs(std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> pads,
                          std::vector<int64_t> dil = {1, 1}, int64_t ceil_mode = 0) {
  ir::Attributes a;
  a.set("kernel_shape", k);
  a.set("strides", s);
  a.set("pads", pads);
  a.set("dilations", dil);
  a.set("ceil_mode", ceil_mode);
  return a;
}

const std::vector<QParams>& quantizations() {
  static const std::vector<QParams> q = {
      {DType::u8, 0.05f, 128, DType::u8, 0.05f, 128},   // equal (what PTQ writes): the identity
      {DType::u8, 0.037f, 131, DType::u8, 0.021f, 17},  // finer output grid: saturates at 255
      {DType::u8, 0.02f, 0, DType::s8, 0.045f, -3},
      {DType::s8, 0.03f, -7, DType::s8, 0.03f, -7},
      {DType::s8, 0.011f, 5, DType::u8, 0.013f, 100},   // negative values clamp at 0
      {DType::s8, 1.f / 3.f, 0, DType::s8, 2.f / 3.f, 0},  // halves: rounding ties
  };
  return q;
}

TEST(QLinearMaxPool, EqualsTheDequantizeMaxPoolQuantizeChainBitExactly) {
  struct Geo {
    const char* name;
    Shape x;
    ir::Attributes attrs;
  };
  ir::Attributes same_upper = pool_attrs({3, 3}, {2, 2}, {0, 0, 0, 0});
  same_upper.erase("pads");
  same_upper.set("auto_pad", std::string("SAME_UPPER"));
  const std::vector<Geo> geos = {
      {"2x2_s2", {2, 3, 8, 10}, pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0})},
      {"3x3_s2_pad1", {1, 5, 11, 9}, pool_attrs({3, 3}, {2, 2}, {1, 1, 1, 1})},
      {"3x2_asym_pads", {1, 4, 7, 13}, pool_attrs({3, 2}, {1, 3}, {2, 0, 1, 1})},
      {"dilated", {1, 3, 12, 11}, pool_attrs({3, 3}, {1, 2}, {2, 1, 2, 2}, {2, 2})},
      {"ceil_mode", {2, 2, 9, 10}, pool_attrs({3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1)},
      {"same_upper", {1, 3, 10, 7}, same_upper},
  };
  uint64_t seed = 1;
  for (const Geo& g : geos)
    for (const QParams& q : quantizations()) {
      SCOPED_TRACE(str_cat(g.name, " ", dtype_name(q.x_type), "->", dtype_name(q.y_type), " scales ", q.x_scale, "/",
                           q.y_scale));
      const Tensor x = random_q8(g.x, q.x_type, seed++);
      const OpRun r = run_reference(qpool_case("QLinearMaxPool", x, q, g.attrs));
      const Tensor want = float_chain("MaxPool", x, q, g.attrs);
      ASSERT_EQ(r.outputs[0].dtype(), q.y_type);
      ASSERT_EQ(r.outputs[0].shape(), want.shape());
      EXPECT_EQ(r.inferred[0].shape, want.shape());
      int diffs = 0;
      for (int64_t i = 0; i < want.numel(); ++i) diffs += value_at(r.outputs[0], i) != value_at(want, i);
      EXPECT_EQ(diffs, 0);
    }
}

TEST(QLinearMaxPool, HandComputedAndPaddingNeverWins) {
  // All inputs at the bottom of s8's range: a padded window's maximum is still an input (-128),
  // never a padding value. 2x2 input, 2x2 kernel, stride 1, pads 1: a 3x3 output.
  const QParams q{DType::s8, 0.5f, 0, DType::u8, 0.25f, 10};
  const Tensor x = q8(DType::s8, {1, 1, 2, 2}, {-128, -128, -128, 3});
  const OpRun r = run_reference(qpool_case("QLinearMaxPool", x, q, pool_attrs({2, 2}, {1, 1}, {1, 1, 1, 1})));
  // R(-128) = clamp(rne(-64 / 0.25) + 10) = 0; R(3) = rne(1.5 / 0.25) + 10 = 16.
  std::vector<int> got;
  for (int64_t i = 0; i < 9; ++i) got.push_back(value_at(r.outputs[0], i));
  EXPECT_EQ(got, (std::vector<int>{0, 0, 0, 0, 16, 16, 0, 16, 16}));
}

TEST(QLinearMaxPool, RequantizationIsQuantizeOfDequantize) {
  ops::QPoolParams p;
  p.x_scale = 0.1f;
  p.x_zp = 20;
  p.y_scale = 0.3f;
  p.y_zp = 5;
  for (int v = 0; v < 256; ++v)
    ASSERT_EQ(ops::qmax_pool_requantize(v, p),
              ops::quantize_value(static_cast<float>(v - 20) * 0.1f, 0.3f, 5, 0, 255)) << v;
  EXPECT_EQ(ops::qmax_pool_requantize(20, p), 5);
  EXPECT_EQ(ops::qmax_pool_requantize(255, p), 83);  // 23.5 / 0.3 = 78.33 -> 78, + 5
}

TEST(QLinearGlobalAveragePool, HandComputed) {
  // Channel 0: x - zp = {-2, 0, 3, 5, 1, 7}, acc = 14, mean = 14 * 0.5 / 6 = 1.1666667,
  // / 0.25 = 4.6666667 -> 5, + 3 = 8. Channel 1: acc = 6 * (255 - 4) = 1506,
  // mean = 753 / 6 = 125.5, / 0.25 = 502 -> clamped to 255.
  const QParams q{DType::u8, 0.5f, 4, DType::u8, 0.25f, 3};
  const Tensor x = q8(DType::u8, {1, 2, 2, 3}, {2, 4, 7, 9, 5, 11, 255, 255, 255, 255, 255, 255});
  const OpRun r = run_reference(qpool_case("QLinearGlobalAveragePool", x, q));
  EXPECT_EQ(r.inferred[0].shape, (Shape{1, 2, 1, 1}));
  EXPECT_EQ(value_at(r.outputs[0], 0), 8);
  EXPECT_EQ(value_at(r.outputs[0], 1), 255);
  // Ties, rounded half to even: x_scale 0.5 and y_scale 1 over 3 pixels give mean = acc / 6:
  // acc 3 -> 0.5 -> 0, acc 9 -> 1.5 -> 2, acc -3 -> -0.5 -> 0 (then + y_zp = -2).
  const QParams s{DType::s8, 0.5f, 0, DType::s8, 1.f, -2};
  const Tensor xs = q8(DType::s8, {1, 3, 1, 3}, {1, 1, 1, 3, 3, 3, -1, -1, -1});
  const OpRun rs = run_reference(qpool_case("QLinearGlobalAveragePool", xs, s));
  EXPECT_EQ(value_at(rs.outputs[0], 0), -2);
  EXPECT_EQ(value_at(rs.outputs[0], 1), 0);
  EXPECT_EQ(value_at(rs.outputs[0], 2), -2);
  ops::QPoolParams p;
  p.x_scale = 0.5f;
  p.y_zp = 10;
  EXPECT_EQ(ops::qglobal_average_pool_output(15, 3, p), 12);  // 2.5 -> 2
  EXPECT_EQ(ops::qglobal_average_pool_output(21, 3, p), 14);  // 3.5 -> 4
}

TEST(QLinearGlobalAveragePool, WithinOneUnitOfTheFloatChain) {
  const std::vector<Shape> shapes = {{2, 7, 5, 5}, {1, 16, 7, 7}, {3, 5, 1, 9}, {1, 64, 2, 2}, {1, 3, 13, 11}};
  uint64_t seed = 40;
  int64_t total = 0, off_by_one = 0;
  for (const Shape& s : shapes)
    for (const QParams& q : quantizations()) {
      SCOPED_TRACE(str_cat(shape_str(s), " ", dtype_name(q.x_type), "->", dtype_name(q.y_type)));
      // A finer output grid than the input's (as after a conv), so the mean's rounding matters.
      QParams fine = q;
      fine.y_scale = q.y_scale / 7.f;
      const Tensor x = random_q8(s, q.x_type, seed++);
      const Tensor got = run_reference(qpool_case("QLinearGlobalAveragePool", x, fine)).outputs.at(0);
      const Tensor want = float_chain("GlobalAveragePool", x, fine);
      ASSERT_EQ(got.shape(), want.shape());
      for (int64_t i = 0; i < got.numel(); ++i) {
        const int d = std::abs(value_at(got, i) - value_at(want, i));
        EXPECT_LE(d, 1) << i;
        off_by_one += d == 1;
        ++total;
      }
    }
  std::printf("[ qpool ] QLinearGlobalAveragePool vs float chain: %lld of %lld outputs one unit apart\n",
              static_cast<long long>(off_by_one), static_cast<long long>(total));
  // Differences are rare: only where the float chain's sum lands next to a rounding boundary.
  EXPECT_LT(off_by_one * 20, total) << off_by_one << " of " << total;
}

TEST(QLinearPools, ShapeInference) {
  const QParams q{DType::u8, 0.1f, 3, DType::s8, 0.2f, 0};
  const Tensor x = random_q8({2, 3, 9, 8}, DType::u8, 3);
  OpRun r = run_reference(qpool_case("QLinearMaxPool", x, q, pool_attrs({3, 3}, {2, 2}, {1, 1, 1, 1})));
  EXPECT_EQ(r.inferred[0].shape, (Shape{2, 3, 5, 4}));
  EXPECT_EQ(r.inferred[0].dtype, DType::s8);
  r = run_reference(qpool_case("QLinearMaxPool", x, q, pool_attrs({3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1)));
  EXPECT_EQ(r.inferred[0].shape, (Shape{2, 3, 4, 4}));
  r = run_reference(qpool_case("QLinearGlobalAveragePool", x, q));
  EXPECT_EQ(r.inferred[0].shape, (Shape{2, 3, 1, 1}));
  EXPECT_EQ(r.inferred[0].dtype, DType::s8);
}

TEST(QLinearPools, BadInputsNameTheOperand) {
  const QParams q{DType::u8, 0.1f, 3, DType::u8, 0.2f, 0};
  const Tensor x = random_q8({1, 2, 4, 4}, DType::u8, 5);
  const ir::Attributes k2 = pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0});
  for (const char* op : {"QLinearMaxPool", "QLinearGlobalAveragePool"}) {
    SCOPED_TRACE(op);
    const ir::Attributes a = std::string(op) == "QLinearMaxPool" ? k2 : ir::Attributes{};
    OpCase c = qpool_case(op, Tensor::zeros({1, 2, 4, 4}), q, a);
    expect_bad_input(c, "x '");  // f32 x
    c = qpool_case(op, x, q, a);
    c.inputs[1] = Tensor::from_floats({2}, {0.1f, 0.2f});
    expect_bad_input(c, "x_scale");
    c = qpool_case(op, x, q, a);
    c.inputs[3] = f(-0.5f);
    expect_bad_input(c, "y_scale");
    c = qpool_case(op, x, q, a);
    c.inputs[2] = zp(DType::s8, 0);
    expect_bad_input(c, "x_zero_point");
    c = qpool_case(op, x, q, a);
    c.inputs[4] = Tensor::from_ints({}, {0}, DType::s32);
    expect_bad_input(c, "y_zero_point");
    c = qpool_case(op, random_q8({2, 4, 4}, DType::u8, 6), q, a);
    expect_bad_input(c, "4-D");
  }
  OpCase no_kernel = qpool_case("QLinearMaxPool", x, q);
  expect_bad_input(no_kernel, "kernel_shape");
  OpCase too_small = qpool_case("QLinearMaxPool", x, q, pool_attrs({5, 5}, {1, 1}, {0, 0, 0, 0}));
  expect_bad_input(too_small, "empty");
}

}  // namespace
}  // namespace leancnn::testing
