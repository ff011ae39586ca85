// Gemm: the oneDNN matmul kernel (forward, dA, dB, dC) and the small-product kernel (inference
// forward) against the reference over odd M/K/N, transB 0/1 and every broadcast of C they
// accept; declined attribute combinations fall back to the reference and the dispatch log names
// the reason.
#include <gtest/gtest.h>

#include "conformance_util.h"
#include "leancnn/core/cpu.h"
#include "kernel_coverage.h"
#include "prepared_run.h"

namespace leancnn::testing {
namespace {

struct GemmCfg {
  const char* name;
  int64_t m, k, n;
  bool trans_b;
  bool has_c;
  Shape c;  // C's shape when has_c
};

void PrintTo(const GemmCfg& c, std::ostream* os) { *os << c.name; }

OpCase gemm_case(const GemmCfg& p, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = "Gemm";
  c.inputs = {random_tensor({p.m, p.k}, rng), random_tensor(p.trans_b ? Shape{p.n, p.k} : Shape{p.k, p.n}, rng)};
  if (p.has_c) c.inputs.push_back(random_tensor(p.c, rng));
  c.attrs.set("transB", int64_t{p.trans_b ? 1 : 0});
  return c;
}

constexpr const char* kSmall = "cpu_gemm_f32_small";
constexpr const char* kGemv = "cpu_gemv_f32_avx2";
bool avx2_here() { return cpu_features().avx2 && cpu_features().fma; }

// The kernel an inference forward dispatches to: the small-product one for at most 8 rows over
// at most 32 Ki weights, the threaded AVX2 one for at most 8 rows over at most 4 Mi weights stored
// [N, K], oneDNN's otherwise.
std::string inference_kernel(const GemmCfg& p) {
  if (p.m <= 8 && p.k * p.n <= 32 * 1024) return kSmall;
  if (p.m <= 8 && p.trans_b && p.k * p.n <= 4 * 1024 * 1024 && avx2_here()) return kGemv;
  return "dnnl_gemm_f32";
}

class GemmConformance : public ::testing::TestWithParam<GemmCfg> {};

LEANCNN_COVERS("Shapes/GemmConformance.*", "Gemm", "dnnl_gemm_f32");  // forward, prepared, backward
// (the small shapes: all but classifier_batch64 and wide)
LEANCNN_COVERS("Shapes/GemmConformance.ForwardMatchesReference/bias_*", "Gemm", kSmall);
LEANCNN_COVERS("Shapes/GemmConformance.ForwardMatchesReference/no_c*", "Gemm", kSmall);
LEANCNN_COVERS("Shapes/GemmConformance.ForwardMatchesReference/scalar_sized", "Gemm", kSmall);
LEANCNN_COVERS_WHERE("Shapes/GemmConformance.ForwardMatchesReference/fc_*", "Gemm", kGemv, avx2_here);
TEST_P(GemmConformance, ForwardMatchesReference) {
  const GemmCfg& p = GetParam();
  const OpCase c = gemm_case(p, 61);
  const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  ASSERT_EQ(fast.kernel, inference_kernel(p));
  EXPECT_TRUE(fast.saved.empty());
  expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(p.k), "Y");
  OpCase training = c;  // a training forward always runs oneDNN's (it has the backward)
  training.training = true;
  const KernelForward dnnl = run_forward(training, true);
  ASSERT_EQ(dnnl.kernel, "dnnl_gemm_f32");
  expect_close(dnnl.outputs[0], ref.outputs[0], fp32_tol(p.k), "Y (oneDNN)");
}

// As an inference plan runs it: B packed once, then no cache lookups and the same results.
TEST_P(GemmConformance, PreparedForwardMatchesUnprepared) {
  const GemmCfg& p = GetParam();
  const OpCase c = gemm_case(p, 61);
  const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  const PreparedForward prepared = run_forward_prepared(c, "dnnl_gemm_f32");
  ASSERT_TRUE(prepared.prepared);
  EXPECT_EQ(prepared.cache_lookups, 0);
  expect_close(prepared.fwd.outputs[0], ref.outputs[0], fp32_tol(p.k), "prepared Y");
  expect_close(prepared.fwd.outputs[0], fast.outputs[0], fp32_tol(p.k), "prepared vs unprepared Y");
}

TEST_P(GemmConformance, BackwardMatchesReference) {
  const GemmCfg& p = GetParam();
  OpCase c = gemm_case(p, 62);
  c.training = true;
  const KernelForward fwd = run_forward(c, false);
  Rng rng(63);
  const Tensor d_y = random_tensor({p.m, p.n}, rng);
  std::vector<int> wrt = {0, 1};
  if (p.has_c) wrt.push_back(2);
  const KernelBackward fast = run_backward(c, fwd, {d_y}, wrt, true);
  const KernelBackward ref = run_backward(c, fwd, {d_y}, wrt, false);
  ASSERT_EQ(fast.kernel, "dnnl_gemm_f32");
  expect_close(fast.d_inputs[0], ref.d_inputs[0], fp32_tol(p.n), "dA");
  expect_close(fast.d_inputs[1], ref.d_inputs[1], fp32_tol(p.m), "dB");
  if (p.has_c) expect_close(fast.d_inputs[2], ref.d_inputs[2], fp32_tol(p.m * p.n), "dC");
  // One at a time too.
  for (int i : wrt) {
    const KernelBackward one = run_backward(c, fwd, {d_y}, {i}, true);
    ASSERT_EQ(one.kernel, "dnnl_gemm_f32");
    expect_close(one.d_inputs[i], ref.d_inputs[i], fp32_tol(p.m * p.n), "alone: d_input " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmConformance,
    ::testing::Values(GemmCfg{"scalar_sized", 1, 1, 1, false, true, {1}},
                      GemmCfg{"no_c", 3, 7, 13, false, false, {}},
                      GemmCfg{"no_c_transB", 5, 13, 7, true, false, {}},
                      GemmCfg{"bias_n_transB", 5, 64, 10, true, true, {10}},      // a linear layer
                      GemmCfg{"bias_1n", 7, 33, 3, false, true, {1, 3}},
                      GemmCfg{"bias_mn_transB", 4, 17, 9, true, true, {4, 9}},
                      GemmCfg{"bias_m1", 6, 5, 11, false, true, {6, 1}},
                      GemmCfg{"bias_scalar", 3, 9, 4, true, true, {}},
                      GemmCfg{"bias_11", 2, 8, 5, false, true, {1, 1}},
                      GemmCfg{"classifier_batch64", 64, 513, 10, true, true, {10}},
                      GemmCfg{"wide", 2, 1000, 129, false, true, {129}},
                      // the threaded product: the small CNN's fc1; 4 + 1 rows, K past 32 by an odd tail
                      GemmCfg{"fc_small_cnn", 1, 3136, 128, true, true, {128}},
                      GemmCfg{"fc_rows5_odd", 5, 1001, 37, true, true, {5, 37}},
                      GemmCfg{"fc_no_c", 8, 333, 257, true, false, {}}),
    [](const ::testing::TestParamInfo<GemmCfg>& i) { return std::string(i.param.name); });

// Attribute combinations the kernel declines: the reference runs, and says why on "dispatch".
struct Declined {
  const char* attr;
  float value;
  const char* reason;
};

TEST(GemmDnnl, DeclinedAttributesFallBackToReferenceWithReason) {
  for (const Declined& d : {Declined{"transA", 1, "transA=1 unsupported"}, Declined{"alpha", 0.5f, "alpha 0.5 != 1"},
                            Declined{"beta", 2.f, "beta 2 != 1"}}) {
    SCOPED_TRACE(d.attr);
    OpCase c = gemm_case({"declined", 4, 6, 5, true, true, {5}}, 64);
    if (std::string(d.attr) == "transA") {
      Rng rng(65);
      c.inputs[0] = random_tensor({6, 4}, rng);
      c.attrs.set("transA", int64_t{1});
    } else {
      c.attrs.set(d.attr, d.value);
    }
    KernelForward fast;
    const std::string log = dispatch_log_of([&] { fast = run_forward(c, true); });
    EXPECT_EQ(fast.kernel, "reference");
    EXPECT_NE(log.find(std::string("dnnl_gemm_f32 declined: ") + d.reason), std::string::npos) << log;
    EXPECT_NE(log.find(std::string(kSmall) + " declined: " + d.reason), std::string::npos) << log;
    c.training = true;
    const KernelForward fwd = run_forward(c, false);
    KernelBackward back;
    const std::string blog = dispatch_log_of([&] { back = run_backward(c, fwd, {Tensor::full({4, 5}, 1.f)}, {0, 1, 2}, true); });
    EXPECT_EQ(back.kernel, "reference");
    EXPECT_NE(blog.find(std::string("dnnl_gemm_f32 declined: ") + d.reason), std::string::npos) << blog;
  }
}

// Training runs prepare nothing (their weights change between steps).
TEST(GemmDnnl, NothingIsPreparedForTraining) {
  PrepareOptions opt;
  opt.training = true;
  const OpCase c = gemm_case({"train", 4, 9, 6, true, true, {6}}, 67);
  const PreparedForward r = run_forward_prepared(c, "dnnl_gemm_f32", opt);
  EXPECT_FALSE(r.prepared);
  expect_close(r.fwd.outputs[0], run_forward(c, false).outputs[0], fp32_tol(9), "Y");
}

// Past the few-row kernels' bounds (rows, weights, B's layout) oneDNN runs an inference forward
// too, and the log says why they declined.
TEST(GemmSmall, LargeProductsGoToOneDnn) {
  const GemmCfg cases[] = {{"rows", 9, 16, 10, true, true, {10}},
                           {"weights_kn", 1, 4096, 9, false, false, {}},
                           {"weights_huge", 1, 4096, 1100, true, false, {}}};
  for (const GemmCfg& p : cases) {
    const OpCase c = gemm_case(p, 68);
    KernelForward fast;
    const std::string log = dispatch_log_of([&] { fast = run_forward(c, true); });
    EXPECT_EQ(fast.kernel, "dnnl_gemm_f32") << p.name;
    EXPECT_NE(log.find("past the small-product bounds"), std::string::npos) << log;
    if (avx2_here()) {
      EXPECT_NE(log.find(std::string(kGemv) + " declined: "), std::string::npos) << log;
    }
    expect_close(fast.outputs[0], run_forward(c, false).outputs[0], fp32_tol(p.k), p.name);
  }
}

// beta only matters with C: without C any beta is accepted.
TEST(GemmDnnl, BetaWithoutCIsAccepted) {
  OpCase c = gemm_case({"beta_no_c", 3, 4, 5, false, false, {}}, 66);
  c.attrs.set("beta", 3.f);
  const KernelForward fast = run_forward(c, true);
  ASSERT_EQ(fast.kernel, kSmall);
  expect_close(fast.outputs[0], run_forward(c, false).outputs[0], fp32_tol(4), "Y");
  c.training = true;
  const KernelForward dnnl = run_forward(c, true);
  ASSERT_EQ(dnnl.kernel, "dnnl_gemm_f32");
  expect_close(dnnl.outputs[0], run_forward(c, false).outputs[0], fp32_tol(4), "Y (oneDNN)");
}

}  // namespace
}  // namespace leancnn::testing
