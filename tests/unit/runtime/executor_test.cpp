// Executor: forward values, any batch size, feed validation, backward with fan-out.
#include <gtest/gtest.h>

#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "op_harness.h"

namespace leancnn::runtime {
namespace {

const ir::OpTable& ops() { return leancnn::ops::op_table(); }

TEST(Executor, ForwardMatchesTheOpsComposedByHand) {
  ir::Graph g;
  ir::Builder b(g, ops(), 3);
  ir::ValueId x = b.input("x", {1, 2, 5, 5});
  ir::ValueId c = b.conv(x, 3, 3, 1, 1, 1, true);
  b.output(b.relu(c));
  Executor exec(g, ops(), {.training = false, .use_kernels = false});
  Rng rng(5);
  Tensor in = testing::random_tensor({3, 2, 5, 5}, rng);  // batch 3 although the graph says 1
  std::vector<Tensor> out = exec.forward({{"x", in}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{3, 3, 5, 5}));

  testing::OpCase conv;
  conv.op_type = "Conv";
  conv.attrs = g.node(0).attrs;
  conv.inputs = {in, g.value(g.find_value("conv.weight")).data, g.value(g.find_value("conv.bias")).data};
  Tensor expect = testing::run_reference(conv).outputs[0];
  for (int64_t i = 0; i < expect.numel(); ++i) EXPECT_EQ(out[0].at(i), std::max(0.f, expect.at(i)));
}

TEST(Executor, RejectsBadFeeds) {
  ir::Graph g;
  ir::Builder b(g, ops(), 3);
  b.output(b.relu(b.input("x", {1, 2, 4, 4})));
  Executor exec(g, ops());
  auto expect_bad = [&](const std::map<std::string, Tensor>& feeds, const std::string& needle) {
    try {
      exec.forward(feeds);
      ADD_FAILURE() << "accepted a bad feed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_bad({}, "was not fed");
  expect_bad({{"x", Tensor::zeros({1, 3, 4, 4})}}, "expects f32 1x2x4x4");
  expect_bad({{"x", Tensor::zeros({1, 2, 4, 4}, DType::s8)}}, "expects f32");
  expect_bad({{"x", Tensor::zeros({1, 2, 4, 4})}, {"y", Tensor::zeros({1})}}, "'y' is not an input");
}

TEST(Executor, BackwardAccumulatesAtFanOut) {
  // c = Conv(x) feeds two Relus; the weight gradient of both outputs together must be the sum
  // of the gradients of each alone.
  ir::Graph g;
  ir::Builder b(g, ops(), 3);
  ir::ValueId x = b.input("x", {2, 2, 4, 4});
  ir::ValueId c = b.conv(x, 3, 3, 1, 1, 1, true);
  ir::ValueId r1 = b.relu(c), r2 = b.relu(c);
  b.output(r1);
  b.output(r2);
  Executor exec(g, ops(), {.training = true, .use_kernels = false});
  Rng rng(9);
  exec.forward({{"x", testing::random_tensor({2, 2, 4, 4}, rng)}});
  Tensor d1 = testing::random_tensor({2, 3, 4, 4}, rng), d2 = testing::random_tensor({2, 3, 4, 4}, rng);
  auto weight_grad = [&](const std::map<ir::ValueId, Tensor>& d) {
    exec.backward(d);
    return exec.param("conv.weight").grad.clone();
  };
  Tensor g1 = weight_grad({{r1, d1}});
  Tensor g2 = weight_grad({{r2, d2}});
  Tensor g12 = weight_grad({{r1, d1}, {r2, d2}});
  ASSERT_EQ(g12.numel(), 3 * 2 * 9);
  for (int64_t i = 0; i < g12.numel(); ++i) EXPECT_NEAR(g12.at(i), g1.at(i) + g2.at(i), 1e-5f);
  EXPECT_EQ(exec.params().size(), 2u);  // weight and bias
}

TEST(Executor, BackwardNeedsATrainingForward) {
  ir::Graph g;
  ir::Builder b(g, ops(), 3);
  ir::ValueId y = b.relu(b.conv(b.input("x", {1, 1, 3, 3}), 1, 3));
  b.output(y);
  Executor exec(g, ops(), {.training = false});
  exec.forward({{"x", Tensor::zeros({1, 1, 3, 3})}});
  EXPECT_THROW(exec.backward({{y, Tensor::zeros({1, 1, 3, 3})}}), Error);
}

}  // namespace
}  // namespace leancnn::runtime
