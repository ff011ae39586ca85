// Add / Mul fast kernels (equal shapes; per-channel broadcasting; a single value) against the reference,
// forward and both gradients, over odd sizes; other broadcasts decline to the reference.
#include <gtest/gtest.h>

#include "conformance_util.h"
#include "kernel_coverage.h"

namespace leancnn::testing {
namespace {

struct BinCase {
  const char* name;  // <op>_<kernel variant>_<what>: the coverage claims below match on it
  const char* op;
  Shape a, b;
  const char* kernel;  // expected fast kernel
};

void PrintTo(const BinCase& c, std::ostream* os) { *os << c.op << " " << shape_str(c.a) << " " << shape_str(c.b); }

LEANCNN_COVERS("Shapes/BinaryConformance.MatchesTheReference/add_same_*", "Add", "cpu_add_f32_same");
LEANCNN_COVERS("Shapes/BinaryConformance.MatchesTheReference/mul_same_*", "Mul", "cpu_mul_f32_same");
LEANCNN_COVERS("Shapes/BinaryConformance.MatchesTheReference/add_per_channel_*", "Add", "cpu_add_f32_per_channel");
LEANCNN_COVERS("Shapes/BinaryConformance.MatchesTheReference/mul_per_channel_*", "Mul", "cpu_mul_f32_per_channel");
LEANCNN_COVERS("Shapes/BinaryConformance.MatchesTheReference/add_scalar_*", "Add", "cpu_add_f32_scalar");
LEANCNN_COVERS("Shapes/BinaryConformance.MatchesTheReference/mul_scalar_*", "Mul", "cpu_mul_f32_scalar");

class BinaryConformance : public ::testing::TestWithParam<BinCase> {};

TEST_P(BinaryConformance, MatchesTheReference) {
  const BinCase& p = GetParam();
  Rng rng(17);
  OpCase c;
  c.op_type = p.op;
  c.inputs = {random_tensor(p.a, rng), random_tensor(p.b, rng)};
  KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  EXPECT_EQ(fast.kernel, p.kernel);
  EXPECT_EQ(ref.kernel, "reference");
  expect_close(fast.outputs[0], ref.outputs[0], 1e-6, "dst");
  Tensor dy = random_tensor(ref.outputs[0].shape(), rng);
  KernelBackward fb = run_backward(c, fast, {dy}, {0, 1}, true), rb = run_backward(c, ref, {dy}, {0, 1}, false);
  EXPECT_EQ(fb.kernel, p.kernel);
  const int64_t reduced = shape_numel(ref.outputs[0].shape()) / std::min(shape_numel(p.a), shape_numel(p.b));
  expect_close(fb.d_inputs[0], rb.d_inputs[0], fp32_tol(reduced), "d_a");
  expect_close(fb.d_inputs[1], rb.d_inputs[1], fp32_tol(reduced), "d_b");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, BinaryConformance,
    ::testing::Values(BinCase{"add_same_nchw", "Add", {1, 3, 7, 7}, {1, 3, 7, 7}, "cpu_add_f32_same"},
                      BinCase{"mul_same_nchw", "Mul", {5, 13, 3, 5}, {5, 13, 3, 5}, "cpu_mul_f32_same"},
                      BinCase{"add_same_1d", "Add", {17}, {17}, "cpu_add_f32_same"},
                      BinCase{"mul_per_channel_b", "Mul", {5, 7, 6, 6}, {5, 7, 1, 1}, "cpu_mul_f32_per_channel"},
                      BinCase{"mul_per_channel_a", "Mul", {5, 7, 1, 1}, {5, 7, 6, 6}, "cpu_mul_f32_per_channel"},
                      BinCase{"add_per_channel_batch_broadcast", "Add", {3, 13, 5, 3}, {1, 13, 1, 1},
                              "cpu_add_f32_per_channel"},
                      BinCase{"mul_per_channel_rank3", "Mul", {2, 3, 4, 4}, {3, 1, 1}, "cpu_mul_f32_per_channel"},
                      // A single value: rank 1 (DARTS's weights), a [1,1,1,1], first or second,
                      // over more elements than one 4096-value block of the gradient's sum.
                      BinCase{"mul_scalar_b", "Mul", {3, 5, 17, 19}, {1}, "cpu_mul_f32_scalar"},
                      BinCase{"mul_scalar_a", "Mul", {1, 1, 1, 1}, {2, 3, 5, 7}, "cpu_mul_f32_scalar"},
                      BinCase{"add_scalar_rank0", "Add", {4, 9}, {}, "cpu_add_f32_scalar"}),
    [](const ::testing::TestParamInfo<BinCase>& i) { return std::string(i.param.name); });

TEST(BinaryConformance, OtherBroadcastsFallBackWithAReason) {
  Rng rng(3);
  OpCase c;
  c.op_type = "Add";
  c.inputs = {random_tensor({3, 1}, rng), random_tensor({1, 4}, rng)};
  std::string log = dispatch_log_of([&] { EXPECT_EQ(run_forward(c, true).kernel, "reference"); });
  EXPECT_NE(log.find("shapes differ"), std::string::npos) << log;
  EXPECT_NE(log.find("per-channel"), std::string::npos) << log;
}

}  // namespace
}  // namespace leancnn::testing
