// Unit tests of MaxPool, AveragePool and GlobalAveragePool: pool_geometry (ceil_mode, auto_pad),
// error cases, hand-computed forward values, count_include_pad, and the max-pool tie rule.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/pool.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

void expect_values(const Tensor& t, const std::vector<float>& want, float tol = 1e-6f) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.at(i), want[i], tol) << "element " << i;
}

Tensor iota(const Shape& s) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

OpCase pool(const std::string& op, const Tensor& x, std::vector<int64_t> kernel, std::vector<int64_t> strides,
            std::vector<int64_t> pads = {0, 0, 0, 0}) {
  OpCase c;
  c.op_type = op;
  c.inputs = {x};
  c.attrs.set("kernel_shape", kernel);
  c.attrs.set("strides", strides);
  c.attrs.set("pads", pads);
  return c;
}

ops::PoolGeometry geometry(const OpCase& c) {
  ir::Graph g = single_node_graph(c);
  return ops::pool_geometry(g.node(0), c.inputs[0].shape());
}

TEST(MaxPool, HandComputed4x4) {
  // 1x1x4x4 of 0..15 with a few spikes; 2x2 windows, stride 2.
  Tensor x = iota({1, 1, 4, 4});
  x.data<float>()[0] = 100;  // top-left window
  x.data<float>()[6] = -5;   // top-right window keeps its max 7
  OpRun r = run_reference(pool("MaxPool", x, {2, 2}, {2, 2}));
  EXPECT_EQ(r.inferred[0].shape, (Shape{1, 1, 2, 2}));
  expect_values(r.outputs[0], {100, 7, 13, 15});
}

TEST(MaxPool, PaddingNeverWinsAndDilationSkips) {
  // All-negative input: padded positions must not contribute (they are not zeros).
  Tensor x = Tensor::full({1, 1, 2, 2}, -3.f);
  x.data<float>()[3] = -1.f;
  OpRun r = run_reference(pool("MaxPool", x, {2, 2}, {1, 1}, {1, 1, 1, 1}));
  EXPECT_EQ(r.inferred[0].shape, (Shape{1, 1, 3, 3}));
  expect_values(r.outputs[0], {-3, -3, -3, -3, -1, -1, -3, -1, -1});
  // Dilation 2 on a 1x1x3x3: one window, taps at the four corners 0, 2, 6, 8.
  OpCase d = pool("MaxPool", iota({1, 1, 3, 3}), {2, 2}, {1, 1});
  Tensor y = iota({1, 1, 3, 3});
  y.data<float>()[4] = 50;  // the centre is not a tap
  d.inputs = {y};
  d.attrs.set("dilations", std::vector<int64_t>{2, 2});
  expect_values(run_reference(d).outputs[0], {8});
}

TEST(MaxPool, BackwardRoutesToFirstMaximum) {
  OpCase c = pool("MaxPool", Tensor::full({1, 1, 2, 3}, 1.f), {2, 2}, {1, 1});
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {Tensor::from_floats({1, 1, 1, 2}, {1, 10})}, {}};
  b.d_inputs = {Tensor::full({1, 1, 2, 3}, NAN)};
  ops::op_table().get(g.node(0)).backward(b);
  // Every element ties: each window's gradient goes to its first (top-left) element.
  expect_values(b.d_inputs[0], {1, 10, 0, 0, 0, 0});
}

TEST(Pool, CeilModeOutputShapes) {
  // in 5, k 2, s 2: floor 2, ceil 3.
  OpCase c = pool("MaxPool", Tensor::zeros({1, 1, 5, 5}), {2, 2}, {2, 2});
  EXPECT_EQ(geometry(c).oh, 2);
  c.attrs.set("ceil_mode", int64_t{1});
  EXPECT_EQ(geometry(c).oh, 3);
  // in 5, k 2, s 2, pads 1: ceil((5 + 2 - 2) / 2) + 1 = 4, but the 4th window would start at
  // 6 - 1 = 5, past the input: dropped (ONNX >= 1.16, ONNX Runtime, PyTorch) -> 3.
  OpCase p = pool("AveragePool", Tensor::zeros({1, 1, 5, 5}), {2, 2}, {2, 2}, {1, 1, 1, 1});
  p.attrs.set("ceil_mode", int64_t{1});
  EXPECT_EQ(geometry(p).oh, 3);
  EXPECT_EQ(run_reference(p).inferred[0].shape, (Shape{1, 1, 3, 3}));
  // in 6, k 3, s 2, pads 1: floor 3, ceil 4 (the last window starts inside the input).
  OpCase q = pool("MaxPool", Tensor::zeros({1, 1, 6, 6}), {3, 3}, {2, 2}, {1, 1, 1, 1});
  EXPECT_EQ(geometry(q).oh, 3);
  q.attrs.set("ceil_mode", int64_t{1});
  EXPECT_EQ(geometry(q).oh, 4);
}

TEST(Pool, AutoPadSplitsPads) {
  OpCase c;
  c.op_type = "MaxPool";
  c.inputs = {Tensor::zeros({1, 1, 4, 5})};
  c.attrs.set("kernel_shape", std::vector<int64_t>{2, 3});
  c.attrs.set("auto_pad", std::string("SAME_UPPER"));
  ops::PoolGeometry g = geometry(c);
  EXPECT_EQ(g.oh, 4);
  EXPECT_EQ(g.ow, 5);
  EXPECT_EQ(g.pad_t, 0);  // total 1: the odd pad goes at the end
  EXPECT_EQ(g.pad_b, 1);
  EXPECT_EQ(g.pad_l, 1);
  EXPECT_EQ(g.pad_r, 1);
  c.attrs.set("auto_pad", std::string("SAME_LOWER"));
  g = geometry(c);
  EXPECT_EQ(g.pad_t, 1);
  EXPECT_EQ(g.pad_b, 0);
  c.attrs.set("strides", std::vector<int64_t>{2, 2});
  g = geometry(c);
  EXPECT_EQ(g.oh, 2);  // ceil(4 / 2)
  EXPECT_EQ(g.ow, 3);  // ceil(5 / 2)
  c.attrs.set("auto_pad", std::string("VALID"));
  c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});  // ignored under VALID
  g = geometry(c);
  EXPECT_EQ(g.oh, 2);
  EXPECT_EQ(g.ow, 2);
  EXPECT_EQ(g.pad_t + g.pad_l + g.pad_b + g.pad_r, 0);
}

TEST(AveragePool, CountIncludePadBothWays) {
  // 1x1x3x3 of ones, 3x3 windows, stride 1, pads 1: the corner window covers 4 inputs.
  OpCase c = pool("AveragePool", Tensor::full({1, 1, 3, 3}, 1.f), {3, 3}, {1, 1}, {1, 1, 1, 1});
  expect_values(run_reference(c).outputs[0], {1, 1, 1, 1, 1, 1, 1, 1, 1});
  c.attrs.set("count_include_pad", int64_t{1});
  const float k = 1.f / 9;
  expect_values(run_reference(c).outputs[0], {4 * k, 6 * k, 4 * k, 6 * k, 1, 6 * k, 4 * k, 6 * k, 4 * k});
}

TEST(AveragePool, HandComputedStride2AndCeilModeDivisor) {
  OpCase c = pool("AveragePool", iota({1, 1, 5, 5}), {2, 2}, {2, 2});
  // Windows (0,0): {0,1,5,6} -> 3; (0,1): {2,3,7,8} -> 5; (1,0): {10,11,15,16} -> 13; (1,1) -> 15.
  expect_values(run_reference(c).outputs[0], {3, 5, 13, 15});
  c.attrs.set("ceil_mode", int64_t{1});
  c.attrs.set("count_include_pad", int64_t{1});
  // The last row/column of windows runs past the input where there is no padding: the divisor
  // counts only the part inside the padded input (as PyTorch), so window (2,2) is x[4][4] / 1.
  OpRun r = run_reference(c);
  EXPECT_EQ(r.inferred[0].shape, (Shape{1, 1, 3, 3}));
  expect_values(r.outputs[0], {3, 5, 6.5f, 13, 15, 16.5f, 20.5f, 22.5f, 24});
  ops::PoolGeometry g = geometry(c);
  EXPECT_EQ(g.avg_divisor(0, 0), 4);
  EXPECT_EQ(g.avg_divisor(2, 1), 2);
  EXPECT_EQ(g.avg_divisor(2, 2), 1);
}

TEST(GlobalAveragePool, MeansEachPlane) {
  OpCase c;
  c.op_type = "GlobalAveragePool";
  c.inputs = {iota({2, 3, 2, 2})};
  OpRun r = run_reference(c);
  EXPECT_EQ(r.inferred[0].shape, (Shape{2, 3, 1, 1}));
  expect_values(r.outputs[0], {1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f});
}

TEST(Pool, RejectsBadInputsAndAttributes) {
  expect_bad_input(pool("MaxPool", Tensor::zeros({1, 4, 4}), {2, 2}, {1, 1}), "4-D NCHW");
  expect_bad_input(pool("AveragePool", Tensor::zeros({1, 1, 4, 4, 4}), {2, 2}, {1, 1}), "4-D NCHW");
  OpCase g;
  g.op_type = "GlobalAveragePool";
  g.inputs = {Tensor::zeros({1, 3, 4})};
  expect_bad_input(g, "4-D NCHW");
  OpCase nk;
  nk.op_type = "MaxPool";
  nk.inputs = {Tensor::zeros({1, 1, 4, 4})};
  expect_bad_input(nk, "kernel_shape");
  expect_bad_input(pool("MaxPool", Tensor::zeros({1, 1, 4, 4}), {2, 2, 2}, {1, 1}), "'kernel_shape' must have 2");
  expect_bad_input(pool("MaxPool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {0, 1}), "'strides' values must be >= 1");
  expect_bad_input(pool("MaxPool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {1, 1}, {0, -1, 0, 0}), "'pads'");
  expect_bad_input(pool("MaxPool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {1, 1}, {0, 0, 0}), "'pads'");
  expect_bad_input(pool("MaxPool", Tensor::zeros({1, 1, 2, 4}), {3, 3}, {1, 1}), "output would be empty");
  // pads of 2 before a 2-tall window: the first output row would see only padding.
  expect_bad_input(pool("MaxPool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {1, 1}, {2, 0, 0, 0}), "without any input");
  OpCase so = pool("MaxPool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {1, 1});
  so.attrs.set("storage_order", int64_t{1});
  expect_bad_input(so, "storage_order");
  OpCase cm = pool("AveragePool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {1, 1});
  cm.attrs.set("ceil_mode", int64_t{2});
  expect_bad_input(cm, "'ceil_mode' must be 0 or 1");
  OpCase ap = pool("AveragePool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {1, 1});
  ap.attrs.set("auto_pad", std::string("SAME"));
  expect_bad_input(ap, "auto_pad");
  OpCase idx = pool("MaxPool", Tensor::zeros({1, 1, 4, 4}), {2, 2}, {1, 1});
  idx.num_outputs = 2;
  expect_bad_input(idx, "Indices");
}

}  // namespace
}  // namespace leancnn::testing
