// End to end through the executor: the fast kernels agree with the references on whole zoo
// models (forward and every parameter gradient), training makes the loss fall, and the same
// seed gives the same loss curve.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/ir/builder.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/optimizer.h"
#include "op_harness.h"

namespace leancnn {
namespace {

const ir::OpTable& ops() { return ops::op_table(); }

struct TrainingGraph {
  ir::Graph g;
  ir::ValueId loss = ir::kNone;
};

TrainingGraph training_graph(const std::string& model, Shape input, uint64_t seed) {
  TrainingGraph t;
  t.g = models::build_model(model, {input, 10, seed}, ops());
  ir::Builder b(t.g, ops(), seed);
  ir::ValueId labels = b.input("labels", {1}, DType::s64);
  t.loss = b.op("SoftmaxCrossEntropy", {t.g.outputs()[0], labels}, {}, 1, ir::kLeancnnDomain, "loss")[0];
  b.output(t.loss);
  return t;
}

std::map<std::string, Tensor> random_batch(int n, Shape chw, uint64_t seed) {
  Rng rng(seed);
  Tensor x = Tensor::empty({n, chw[0], chw[1], chw[2]});
  rng.fill_normal(x, 0.f, 1.f);
  Tensor y = Tensor::empty({n}, DType::s64);
  for (int i = 0; i < n; ++i) y.data<int64_t>()[i] = rng.below(10);
  return {{"input", x}, {"labels", y}};
}

// Runs one training forward + backward with the given kernel choice; returns outputs and
// a copy of every parameter gradient.
struct Pass {
  std::vector<Tensor> outputs;
  std::map<std::string, Tensor> grads;
};
Pass one_pass(const std::string& model, Shape chw, bool use_kernels) {
  TrainingGraph t = training_graph(model, chw, 1);
  runtime::Executor exec(t.g, ops(), {.training = true, .use_kernels = use_kernels, .seed = 1});
  Pass p;
  for (const Tensor& o : exec.forward(random_batch(3, chw, 2))) p.outputs.push_back(o.clone());
  exec.backward(t.loss);
  for (auto& prm : exec.params()) p.grads[prm.name] = prm.grad.clone();
  return p;
}

void expect_kernels_match_reference(const std::string& model, Shape chw) {
  Pass fast = one_pass(model, chw, true), ref = one_pass(model, chw, false);
  EXPECT_LT(testing::max_rel_diff(fast.outputs[0], ref.outputs[0]), 1e-4) << model << " logits";
  EXPECT_LT(testing::max_rel_diff(fast.outputs[1], ref.outputs[1]), 1e-4) << model << " loss";
  ASSERT_EQ(fast.grads.size(), ref.grads.size());
  for (const auto& [name, g] : ref.grads) {
    // Gradients are sums over the batch and positions: compare relative to the tensor's scale.
    double scale = 1e-12, err = 0;
    for (int64_t i = 0; i < g.numel(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(g.at(i))));
      err = std::max(err, std::fabs(static_cast<double>(g.at(i)) - fast.grads[name].at(i)));
    }
    EXPECT_LT(err / scale, 1e-3) << model << " gradient of " << name;
  }
}

TEST(KernelsVsReference, ResNet20ForwardAndGradients) { expect_kernels_match_reference("resnet20", {3, 16, 16}); }
TEST(KernelsVsReference, LeNet5ForwardAndGradients) { expect_kernels_match_reference("lenet5", {1, 28, 28}); }

std::vector<float> loss_curve(const std::string& model, Shape chw, int steps, uint64_t seed) {
  TrainingGraph t = training_graph(model, chw, seed);
  runtime::Executor exec(t.g, ops(), {.training = true, .use_kernels = true, .seed = seed});
  auto sgd = train::make_optimizer(exec.params(), {.kind = "sgd", .lr = 0.05f, .momentum = 0.9f});
  auto batch = random_batch(16, chw, seed + 1);
  std::vector<float> curve;
  for (int s = 0; s < steps; ++s) {
    curve.push_back(exec.forward(batch)[1].at(0));
    exec.backward(t.loss);
    sgd->step();
  }
  return curve;
}

TEST(Training, LossFallsOnAFixedBatch) {
  std::vector<float> c = loss_curve("lenet5", {1, 28, 28}, 40, 3);
  EXPECT_GT(c.front(), 1.5f);  // ≈ ln 10 at the start
  EXPECT_LT(c.back(), 0.5f * c.front()) << "loss " << c.front() << " -> " << c.back();
}

TEST(Training, ResNet20LearnsAFixedBatch) {
  std::vector<float> c = loss_curve("resnet20", {1, 28, 28}, 25, 4);
  EXPECT_LT(c.back(), 0.5f * c.front()) << "loss " << c.front() << " -> " << c.back();
}

TEST(Training, SameSeedSameCurve) {
  std::vector<float> a = loss_curve("lenet5", {1, 28, 28}, 5, 8), b = loss_curve("lenet5", {1, 28, 28}, 5, 8);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace leancnn
