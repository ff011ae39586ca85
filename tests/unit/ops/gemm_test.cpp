// Unit tests of Gemm: shape inference for every transpose, C broadcasting, MACs, error cases
// and forward/backward values against hand-computed products.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/gemm.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

OpCase gemm(const Shape& a, const Shape& b, int64_t ta = 0, int64_t tb = 0) {
  OpCase c;
  c.op_type = "Gemm";
  c.inputs = {Tensor::zeros(a), Tensor::zeros(b)};
  c.attrs.set("transA", ta);
  c.attrs.set("transB", tb);
  return c;
}

TEST(Gemm, InfersShapeForEveryTranspose) {
  EXPECT_EQ(run_reference(gemm({3, 5}, {5, 4})).inferred[0].shape, (Shape{3, 4}));
  EXPECT_EQ(run_reference(gemm({5, 3}, {5, 4}, 1, 0)).inferred[0].shape, (Shape{3, 4}));
  EXPECT_EQ(run_reference(gemm({3, 5}, {4, 5}, 0, 1)).inferred[0].shape, (Shape{3, 4}));
  EXPECT_EQ(run_reference(gemm({5, 3}, {4, 5}, 1, 1)).inferred[0].shape, (Shape{3, 4}));
}

TEST(Gemm, AcceptsEveryBroadcastableC) {
  for (const Shape& cs : {Shape{3, 4}, Shape{4}, Shape{1, 4}, Shape{3, 1}, Shape{1}, Shape{}}) {
    OpCase c = gemm({3, 5}, {5, 4});
    c.inputs.push_back(Tensor::zeros(cs));
    EXPECT_EQ(run_reference(c).inferred[0].shape, (Shape{3, 4})) << shape_str(cs);
  }
}

TEST(Gemm, RejectsBadShapesAndAttributes) {
  expect_bad_input(gemm({3, 5, 1}, {5, 4}), "must be 2-D");
  expect_bad_input(gemm({3, 5}, {4}), "must be 2-D");
  expect_bad_input(gemm({3, 5}, {4, 4}), "inner dimensions disagree");
  expect_bad_input(gemm({3, 5}, {5, 4}, 1, 0), "inner dimensions disagree");
  expect_bad_input(gemm({3, 5}, {5, 4}, 2, 0), "'transA' must be 0 or 1");
  for (const Shape& cs : {Shape{3}, Shape{2, 4}, Shape{3, 4, 1}, Shape{4, 3}}) {
    OpCase c = gemm({3, 5}, {5, 4});
    c.inputs.push_back(Tensor::zeros(cs));
    expect_bad_input(c, "not unidirectionally broadcastable");
  }
}

TEST(Gemm, MacsAreMTimesNTimesK) {
  OpCase c = gemm({5, 3}, {4, 5}, 1, 1);
  ir::Graph g = single_node_graph(c);
  const ir::OpTable& ops = ops::op_table();
  ir::infer_shapes(g, ops);
  const ir::Node& n = g.node(0);
  std::vector<const ir::Value*> in{&g.value(n.inputs[0]), &g.value(n.inputs[1])}, out{&g.value(n.outputs[0])};
  EXPECT_EQ(ops.get(n).macs(n, in, out), 3 * 4 * 5);
  EXPECT_EQ(ops::gemm_geometry(n, {5, 3}, {4, 5}).macs(), 60);
}

TEST(Gemm, ForwardWithAlphaBetaAndRowBias) {
  OpCase c;
  c.op_type = "Gemm";
  c.inputs = {Tensor::from_floats({2, 2}, {1, 2, 3, 4}), Tensor::from_floats({2, 2}, {5, 6, 7, 8}),
              Tensor::from_floats({2}, {1, -1})};
  c.attrs.set("alpha", 2.f);
  c.attrs.set("beta", 0.5f);
  // A B = [[19, 22], [43, 50]]; 2 * AB + 0.5 * [1, -1] per row.
  expect_values(run_reference(c).outputs[0], {38.5f, 43.5f, 86.5f, 99.5f});
}

TEST(Gemm, ForwardTransposedWithColumnBias) {
  OpCase c;
  c.op_type = "Gemm";
  // A' = [[1, 3], [2, 4]] stored as A = [[1, 2], [3, 4]] (transA); B' = [[5, 7], [6, 8]] (transB).
  c.inputs = {Tensor::from_floats({2, 2}, {1, 2, 3, 4}), Tensor::from_floats({2, 2}, {5, 6, 7, 8}),
              Tensor::from_floats({2, 1}, {10, 20})};
  c.attrs.set("transA", int64_t{1});
  c.attrs.set("transB", int64_t{1});
  // A'B' = [[1*5+3*6, 1*7+3*8], [2*5+4*6, 2*7+4*8]] = [[23, 31], [34, 46]]; + column [10, 20].
  expect_values(run_reference(c).outputs[0], {33, 41, 54, 66});
}

TEST(Gemm, BackwardSumsBroadcastBias) {
  OpCase c;
  c.op_type = "Gemm";
  c.inputs = {Tensor::from_floats({2, 2}, {1, 2, 3, 4}), Tensor::from_floats({2, 2}, {5, 6, 7, 8}),
              Tensor::from_floats({1}, {0})};
  c.attrs.set("beta", 3.f);
  ir::Graph g = single_node_graph(c);
  OpRun r = run_reference(c);
  ir::BackwardCtx b{g.node(0), c.inputs, r.outputs, r.saved, {Tensor::from_floats({2, 2}, {1, 1, 1, 1})}, {}};
  b.d_inputs = {Tensor::full({2, 2}, NAN), Tensor::full({2, 2}, NAN), Tensor::full({1}, NAN)};
  ops::op_table().get(g.node(0)).backward(b);
  expect_values(b.d_inputs[0], {11, 15, 11, 15});  // dY B^T: row sums of B
  expect_values(b.d_inputs[1], {4, 4, 6, 6});      // A^T dY: column sums of A
  expect_values(b.d_inputs[2], {12});              // beta * sum(dY)
}

}  // namespace
}  // namespace leancnn::testing
