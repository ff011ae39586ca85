// Unit tests of Flatten, Reshape and Transpose: shape inference, error cases, forward values
// (including a Reshape+Transpose+Reshape channel shuffle) and backward, by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

void expect_values(const Tensor& t, const std::vector<float>& want) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.at(i), want[i]) << "element " << i;
}

// 0, 1, 2, ... in the given shape.
Tensor iota(const Shape& s) {
  std::vector<float> v(shape_numel(s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_floats(s, v);
}

Tensor s64(const std::vector<int64_t>& v) { return Tensor::from_ints({static_cast<int64_t>(v.size())}, v, DType::s64); }

OpCase flatten(const Shape& x, std::optional<int64_t> axis) {
  OpCase c;
  c.op_type = "Flatten";
  c.inputs = {iota(x)};
  if (axis) c.attrs.set("axis", *axis);
  return c;
}

OpCase reshape(Tensor x, const std::vector<int64_t>& spec, std::optional<int64_t> allowzero = {}) {
  OpCase c;
  c.op_type = "Reshape";
  c.inputs = {std::move(x), s64(spec)};
  if (allowzero) c.attrs.set("allowzero", *allowzero);
  return c;
}

OpCase transpose(Tensor x, std::optional<std::vector<int64_t>> perm) {
  OpCase c;
  c.op_type = "Transpose";
  c.inputs = {std::move(x)};
  if (perm) c.attrs.set("perm", *perm);
  return c;
}

// The reference backward's d_src (input 0) for the given d_dst.
Tensor input_grad(const OpCase& c, const Tensor& d_dst) {
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {d_dst}, {}};
  b.d_inputs.resize(c.inputs.size());
  b.d_inputs[0] = Tensor::full(c.inputs[0].shape(), NAN);
  ops::op_table().get(g.node(0)).backward(b);
  return b.d_inputs[0];
}

Shape out_shape(const OpCase& c) { return run_reference(c).inferred.at(0).shape; }

TEST(FlattenInfer, Axes) {
  EXPECT_EQ(out_shape(flatten({2, 3, 4, 5}, {})), (Shape{2, 60}));  // default axis 1
  EXPECT_EQ(out_shape(flatten({2, 3, 4, 5}, 0)), (Shape{1, 120}));
  EXPECT_EQ(out_shape(flatten({2, 3, 4, 5}, 2)), (Shape{6, 20}));
  EXPECT_EQ(out_shape(flatten({2, 3, 4, 5}, 4)), (Shape{120, 1}));
  EXPECT_EQ(out_shape(flatten({2, 3, 4, 5}, -1)), (Shape{24, 5}));
  EXPECT_EQ(out_shape(flatten({2, 3, 4, 5}, -4)), (Shape{1, 120}));
  EXPECT_EQ(out_shape(flatten({5, 13, 1, 1}, {})), (Shape{5, 13}));
}

TEST(FlattenInfer, RejectsAxisOutOfRange) {
  expect_bad_input(flatten({2, 3, 4, 5}, 5), "out of range");
  expect_bad_input(flatten({2, 3, 4, 5}, -5), "out of range");
}

TEST(FlattenForwardBackward, KeepsElementOrder) {
  OpCase c = flatten({2, 3, 1, 2}, {});
  expect_values(run_reference(c).outputs[0], {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor d = input_grad(c, iota({2, 6}));
  EXPECT_EQ(d.shape(), (Shape{2, 3, 1, 2}));
  expect_values(d, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
}

TEST(ReshapeInfer, ZeroCopiesAndMinusOneInfers) {
  EXPECT_EQ(out_shape(reshape(Tensor::zeros({5, 13, 2, 3}), {0, -1})), (Shape{5, 78}));
  EXPECT_EQ(out_shape(reshape(Tensor::zeros({5, 13, 2, 3}), {-1})), (Shape{390}));
  EXPECT_EQ(out_shape(reshape(Tensor::zeros({5, 13, 2, 3}), {0, 0, 3, 2})), (Shape{5, 13, 3, 2}));
  EXPECT_EQ(out_shape(reshape(Tensor::zeros({5, 13, 2, 3}), {1, 0, -1, 3})), (Shape{1, 13, 10, 3}));
  EXPECT_EQ(out_shape(reshape(Tensor::zeros({1, 1}), {})), (Shape{}));  // to a scalar
  EXPECT_EQ(out_shape(reshape(Tensor::zeros({2, 0, 3}), {0, 6}, 1)), (Shape{0, 6}));  // allowzero: 0 is 0
  EXPECT_EQ(out_shape(reshape(Tensor::zeros({2, 0, 3}), {0, 0, 3}, 0)), (Shape{2, 0, 3}));
}

TEST(ReshapeInfer, Errors) {
  Tensor x = Tensor::zeros({2, 3, 4});
  expect_bad_input(reshape(x, {-1, -1}), "more than one -1");
  expect_bad_input(reshape(x, {5, -1}), "cannot infer the -1");
  expect_bad_input(reshape(x, {4, 5}), "24 elements");
  expect_bad_input(reshape(x, {2, -2, 12}), "invalid dim -2");
  expect_bad_input(reshape(x, {1, 1, 1, 0}), "no dim there to copy");
  expect_bad_input(reshape(x, {2, 12}, 2), "allowzero must be 0 or 1");
  expect_bad_input(reshape(Tensor::zeros({2, 0, 3}), {0, -1}, 1), "both 0 and -1");
  expect_bad_input(reshape(Tensor::zeros({2, 0, 3}), {0, 6}, 0), "elements");  // 0 copies 2: 12 != 0

  OpCase float_shape = reshape(x, {24});
  float_shape.inputs[1] = Tensor::from_floats({1}, {24.f});
  expect_bad_input(float_shape, "must be s64");
  OpCase matrix_shape = reshape(x, {24});
  matrix_shape.inputs[1] = Tensor::from_ints({1, 2}, {2, 12}, DType::s64);
  expect_bad_input(matrix_shape, "must have rank 1");
}

TEST(ReshapeInfer, RejectsANonConstantShape) {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", {2, 3});
  ir::ValueId shape = g.add_input("shape", {1}, DType::s64);
  ir::ValueId y = g.add_value("y");
  g.add_node("Reshape", {x, shape}, {y});
  try {
    ir::infer_node(g, ops::op_table(), g.node(0));
    ADD_FAILURE() << "a graph-input shape was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("must be a constant"), std::string::npos) << e.what();
  }
}

TEST(ReshapeForwardBackward, KeepsElementOrder) {
  OpCase c = reshape(iota({2, 3}), {3, -1});
  OpRun r = run_reference(c);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{3, 2}));
  expect_values(r.outputs[0], {0, 1, 2, 3, 4, 5});
  Tensor d = input_grad(c, Tensor::from_floats({3, 2}, {6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(d.shape(), (Shape{2, 3}));
  expect_values(d, {6, 5, 4, 3, 2, 1});
}

TEST(ReshapeForward, S64Data) {
  OpRun r = run_reference(reshape(s64({1, 2, 3, 4}), {2, 2}));
  ASSERT_EQ(r.outputs[0].dtype(), DType::s64);
  EXPECT_EQ(r.outputs[0].data<int64_t>()[3], 4);
}

// lower_qdq puts Flatten / Reshape after an integer pool: they must move u8 and s8 bytes as they are.
TEST(FlattenAndReshapeForward, QuantizedData) {
  for (const DType t : {DType::u8, DType::s8}) {
    SCOPED_TRACE(dtype_name(t));
    std::vector<int64_t> v(2 * 3 * 2 * 2);
    for (size_t i = 0; i < v.size(); ++i) v[i] = t == DType::u8 ? static_cast<int64_t>(255 - 7 * i) : static_cast<int64_t>(7 * i) - 100;
    const Tensor x = Tensor::from_ints({2, 3, 2, 2}, v, t);
    OpCase f;
    f.op_type = "Flatten";
    f.inputs = {x};
    for (const OpRun& r : {run_reference(f), run_reference(reshape(x, {0, -1}))}) {
      ASSERT_EQ(r.outputs[0].dtype(), t);
      ASSERT_EQ(r.outputs[0].shape(), (Shape{2, 12}));
      for (size_t i = 0; i < v.size(); ++i) {
        const int64_t got = t == DType::u8 ? int64_t{r.outputs[0].data<uint8_t>()[i]} : int64_t{r.outputs[0].data<int8_t>()[i]};
        EXPECT_EQ(got, v[i]) << i;
      }
    }
  }
}

TEST(TransposeInfer, DefaultReversesAndPermPermutes) {
  EXPECT_EQ(out_shape(transpose(Tensor::zeros({2, 3, 4, 5}), {})), (Shape{5, 4, 3, 2}));
  EXPECT_EQ(out_shape(transpose(Tensor::zeros({2, 3, 4, 5}), std::vector<int64_t>{0, 2, 3, 1})), (Shape{2, 4, 5, 3}));
  EXPECT_EQ(out_shape(transpose(Tensor::zeros({2, 3, 5}), std::vector<int64_t>{1, 2, 0})), (Shape{3, 5, 2}));
}

TEST(TransposeInfer, RejectsBadPerms) {
  Tensor x = Tensor::zeros({2, 3, 4});
  expect_bad_input(transpose(x, std::vector<int64_t>{0, 1}), "has 2 entries");
  expect_bad_input(transpose(x, std::vector<int64_t>{0, 1, 2, 3}), "has 4 entries");
  expect_bad_input(transpose(x, std::vector<int64_t>{0, 1, 1}), "repeats the dim 1");
  expect_bad_input(transpose(x, std::vector<int64_t>{0, 1, 3}), "out of range");
  expect_bad_input(transpose(x, std::vector<int64_t>{0, -1, 1}), "out of range");
}

TEST(TransposeForward, Matrix) {
  // [[0,1,2],[3,4,5]] -> [[0,3],[1,4],[2,5]]
  expect_values(run_reference(transpose(iota({2, 3}), {})).outputs[0], {0, 3, 1, 4, 2, 5});
}

TEST(TransposeForward, ThreeCycle) {
  // x[a][b][0] = 3a + b on [2,3,1]; perm {1,2,0} gives y[b][0][a] = x[a][b][0] on [3,1,2].
  expect_values(run_reference(transpose(iota({2, 3, 1}), std::vector<int64_t>{1, 2, 0})).outputs[0],
                {0, 3, 1, 4, 2, 5});
}

TEST(TransposeForward, ChannelShuffle) {
  // ShuffleNet: [N, G*C', H, W] -> [N, G, C', H, W] -> swap G and C' -> [N, C'*G, H, W].
  const int64_t groups = 2, per_group = 3;
  OpRun split = run_reference(reshape(iota({1, 6, 1, 1}), {1, groups, per_group, 1, 1}));
  OpRun swapped = run_reference(transpose(split.outputs[0], std::vector<int64_t>{0, 2, 1, 3, 4}));
  OpRun merged = run_reference(reshape(swapped.outputs[0], {1, -1, 1, 1}));
  EXPECT_EQ(merged.outputs[0].shape(), (Shape{1, 6, 1, 1}));
  expect_values(merged.outputs[0], {0, 3, 1, 4, 2, 5});
}

TEST(TransposeBackward, UsesTheInversePermutation) {
  // Forward perm {1,2,0} on [2,3,1] gives [3,1,2]; d_src[a][b][c] = d_dst[b][c][a].
  OpCase c = transpose(iota({2, 3, 1}), std::vector<int64_t>{1, 2, 0});
  Tensor d = input_grad(c, Tensor::from_floats({3, 1, 2}, {10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(d.shape(), (Shape{2, 3, 1}));
  expect_values(d, {10, 12, 14, 11, 13, 15});
}

}  // namespace
}  // namespace leancnn::testing
