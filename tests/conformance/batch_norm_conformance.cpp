// BatchNormalization: each fast kernel (our cpu_batch_norm_f32, first in the list, and oneDNN's)
// against the reference in inference and training (output, updated running statistics, saved
// {mean, invstd}) and backward (d_src, d_scale, d_bias), including backward across kernels
// (any kernel's forward with any kernel's backward: the saved contract is shared).
#include <gtest/gtest.h>

#include "conformance_util.h"
#include "kernel_coverage.h"
#include "leancnn/core/error.h"

namespace leancnn::testing {
namespace {

struct BnCfg {
  const char* name;
  Shape x;
  float epsilon = 1e-5f, momentum = 0.9f;
};

void PrintTo(const BnCfg& c, std::ostream* os) { *os << c.name; }

OpCase bn_case(const BnCfg& p, uint64_t seed, bool training) {
  Rng rng(seed);
  const int64_t c = p.x[1];
  OpCase o;
  o.op_type = "BatchNormalization";
  // An offset and a scale per channel so the statistics are not trivially (0, 1/3).
  Tensor x = random_tensor(p.x, rng, -1.f, 1.f);
  const int64_t spatial = x.numel() / (p.x[0] * c);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t ch = i / spatial % c;
    x.data<float>()[i] = x.data<float>()[i] * (0.5f + 0.25f * static_cast<float>(ch % 5)) + 0.3f * static_cast<float>(ch % 3);
  }
  o.inputs = {x, random_tensor({c}, rng, 0.5f, 1.5f), random_tensor({c}, rng), random_tensor({c}, rng),
              random_tensor({c}, rng, 0.5f, 2.f)};
  o.attrs.set("epsilon", p.epsilon);
  o.attrs.set("momentum", p.momentum);
  o.training = training;
  return o;
}

int64_t per_channel(const Shape& x) { return shape_numel(x) / x[1]; }

const char* const kKernels[] = {"cpu_batch_norm_f32", "dnnl_batch_norm_f32"};

class BatchNormConformance : public ::testing::TestWithParam<BnCfg> {};

TEST_P(BatchNormConformance, DispatcherPicksOurKernel) {
  const OpCase c = bn_case(GetParam(), 70, true);
  const KernelForward fwd = run_forward(c, true);
  EXPECT_EQ(fwd.kernel, "cpu_batch_norm_f32");
  EXPECT_EQ(run_backward(c, fwd, {Tensor::full(GetParam().x, 1.f)}, {0, 1, 2}, true).kernel, "cpu_batch_norm_f32");
}

// Inference, training forward and backward, each kernel by name.
LEANCNN_COVERS("Shapes/BatchNormConformance.*MatchesReference/*", "BatchNormalization", "cpu_batch_norm_f32");
LEANCNN_COVERS("Shapes/BatchNormConformance.*MatchesReference/*", "BatchNormalization", "dnnl_batch_norm_f32");
TEST_P(BatchNormConformance, InferenceMatchesReference) {
  const OpCase c = bn_case(GetParam(), 71, false);
  const KernelForward ref = run_forward(c, false);
  for (const char* kernel : kKernels) {
  SCOPED_TRACE(kernel);
  const KernelForward fast = run_forward_with(c, kernel);
  EXPECT_TRUE(fast.saved.empty());
  expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(1), "dst");
  expect_close(fast.inputs[3], c.inputs[3], 0.0, "running_mean untouched");
  expect_close(fast.inputs[4], c.inputs[4], 0.0, "running_var untouched");
  }
}

TEST_P(BatchNormConformance, TrainingForwardMatchesReference) {
  const BnCfg& p = GetParam();
  const OpCase c = bn_case(p, 72, true);
  const KernelForward ref = run_forward(c, false);
  for (const char* kernel : kKernels) {
  SCOPED_TRACE(kernel);
  const KernelForward fast = run_forward_with(c, kernel);
  // Statistics are sums over the N * spatial values of a channel.
  const double tol = fp32_tol(per_channel(p.x));
  expect_close(fast.outputs[0], ref.outputs[0], tol, "dst");
  expect_close(fast.inputs[3], ref.inputs[3], tol, "running_mean");
  expect_close(fast.inputs[4], ref.inputs[4], tol, "running_var");
  ASSERT_EQ(fast.saved.size(), 2u);
  ASSERT_EQ(ref.saved.size(), 2u);
  expect_close(fast.saved[0], ref.saved[0], tol, "saved mean");
  expect_close(fast.saved[1], ref.saved[1], tol, "saved invstd");
  }
}

TEST_P(BatchNormConformance, BackwardMatchesReference) {
  const BnCfg& p = GetParam();
  const OpCase c = bn_case(p, 73, true);
  Rng rng(74);
  const Tensor d_dst = random_tensor(p.x, rng);
  const double tol = fp32_tol(per_channel(p.x));
  // Every pairing of forward and backward kernels: the saved contract is shared.
  const KernelForward fwd_ref = run_forward(c, false);
  const KernelBackward ref = run_backward(c, fwd_ref, {d_dst}, {0, 1, 2}, false);
  std::vector<KernelForward> forwards{fwd_ref};
  for (const char* kernel : kKernels) forwards.push_back(run_forward_with(c, kernel));
  for (const KernelForward& fwd : forwards) {
    SCOPED_TRACE(fwd.kernel + " forward");
    for (const char* kernel : kKernels) {
      SCOPED_TRACE(std::string(kernel) + " backward");
      const KernelBackward fast = run_backward_with(c, fwd, {d_dst}, {0, 1, 2}, kernel);
      expect_close(fast.d_inputs[0], ref.d_inputs[0], tol, "d_src");
      expect_close(fast.d_inputs[1], ref.d_inputs[1], tol, "d_scale");
      expect_close(fast.d_inputs[2], ref.d_inputs[2], tol, "d_bias");
    }
    const KernelBackward ref_after = run_backward(c, fwd, {d_dst}, {0, 1, 2}, false);
    expect_close(ref_after.d_inputs[0], ref.d_inputs[0], tol, "reference d_src after this forward");
  }
  for (const char* kernel : kKernels) {
    const KernelForward fwd = run_forward_with(c, kernel);
    for (int i = 0; i < 3; ++i) {
      const KernelBackward one = run_backward_with(c, fwd, {d_dst}, {i}, kernel);
      expect_close(one.d_inputs[i], ref.d_inputs[i], tol,
                   std::string(kernel) + " alone: d_input " + std::to_string(i));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormConformance,
                         ::testing::Values(BnCfg{"c1_batch5", {5, 1, 4, 4}}, BnCfg{"c3", {1, 3, 7, 7}},
                                           BnCfg{"c7_batch5", {5, 7, 5, 3}}, BnCfg{"c13", {2, 13, 9, 9}},
                                           BnCfg{"c64", {4, 64, 14, 14}}, BnCfg{"rank2", {9, 13}},
                                           BnCfg{"rank3", {3, 5, 11}},
                                           BnCfg{"eps_momentum", {2, 6, 3, 3}, 1e-3f, 0.5f}),
                         [](const ::testing::TestParamInfo<BnCfg>& i) { return std::string(i.param.name); });

// A backward without a training forward's saved entries declines (and the reference then
// reports the misuse); training with one value per channel declines to the reference's error.
TEST(BatchNormKernels, DeclineWithoutSavedStatisticsOrWithOneValuePerChannel) {
  const OpCase c = bn_case({"infer", {2, 3, 2, 2}}, 75, false);
  const KernelForward fwd = run_forward(c, true);
  ASSERT_EQ(fwd.kernel, "cpu_batch_norm_f32");
  bool threw = false;
  std::string log = dispatch_log_of([&] {
    try {
      run_backward(c, fwd, {Tensor::full({2, 3, 2, 2}, 1.f)}, {0}, true);
    } catch (const Error&) {
      threw = true;
    }
  });
  EXPECT_TRUE(threw);
  EXPECT_NE(log.find(": cpu_batch_norm_f32 declined: no saved {mean, invstd}"), std::string::npos) << log;
  EXPECT_NE(log.find("dnnl_batch_norm_f32 declined: no saved {mean, invstd}"), std::string::npos) << log;

  const OpCase one = bn_case({"one_value", {1, 3, 1, 1}}, 76, true);
  threw = false;
  log = dispatch_log_of([&] {
    try {
      run_forward(one, true);
    } catch (const Error&) {
      threw = true;
    }
  });
  EXPECT_TRUE(threw);
  EXPECT_NE(log.find(": cpu_batch_norm_f32 declined: training needs > 1 value per channel"), std::string::npos)
      << log;
  EXPECT_NE(log.find("dnnl_batch_norm_f32 declined: training needs > 1 value per channel"), std::string::npos)
      << log;
}

}  // namespace
}  // namespace leancnn::testing
