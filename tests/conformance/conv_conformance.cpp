// Conv: the oneDNN kernel (forward, d_src, d_weights, d_bias) against the reference over odd
// channel counts, strides, groups, depthwise, dilation, asymmetric and auto padding, batch 1 and 5;
// depthwise backward runs our own kernel (cpu_depthwise_conv_f32), here and over more shapes below.
#include <gtest/gtest.h>

#include <thread>

#include "conformance_util.h"
#include "kernel_coverage.h"
#include "leancnn/kernels/dnnl_cache.h"
#include "leancnn/kernels/kernel.h"
#include "prepared_run.h"
#include "own_conv_kernels_off.h"

namespace leancnn::testing {
namespace {

struct ConvCfg {
  const char* name;
  Shape x, w;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group;
  bool bias;
  const char* auto_pad = nullptr;
};

OpCase conv_case(const ConvCfg& p, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = "Conv";
  c.inputs = {random_tensor(p.x, rng), random_tensor(p.w, rng)};
  if (p.bias) c.inputs.push_back(random_tensor({p.w[0]}, rng));
  c.attrs.set("strides", p.strides);
  c.attrs.set("dilations", p.dilations);
  c.attrs.set("group", p.group);
  if (p.auto_pad)
    c.attrs.set("auto_pad", std::string(p.auto_pad));
  else
    c.attrs.set("pads", p.pads);
  return c;
}

void PrintTo(const ConvCfg& c, std::ostream* os) { *os << c.name; }
std::string cfg_name(const ::testing::TestParamInfo<ConvCfg>& i) { return i.param.name; }

class ConvConformance : public ::testing::TestWithParam<ConvCfg> {
  const OwnConvKernelsOff own_off_;  // resnet_block_64 is inside the Winograd and direct rules
};

LEANCNN_COVERS("Shapes/ConvConformance.*", "Conv", "dnnl_conv_f32");  // forward, prepared, backward
LEANCNN_COVERS("Depthwise/DepthwiseBackwardConformance.*", "Conv", "cpu_depthwise_conv_f32");

// Depthwise backward is our kernel's (DepthwiseBackwardConformance, below).
bool depthwise(const ConvCfg& p) { return p.group == p.x[1] && p.group == p.w[0]; }
TEST_P(ConvConformance, ForwardMatchesReference) {
  const ConvCfg& p = GetParam();
  const OpCase c = conv_case(p, 21);
  const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  ASSERT_EQ(fast.kernel, "dnnl_conv_f32");
  ASSERT_EQ(ref.kernel, "reference");
  EXPECT_TRUE(fast.saved.empty());
  const int64_t k = p.w[1] * p.w[2] * p.w[3];  // taps per output: ic/group * kh * kw
  expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(k), "dst");
}

// As an inference plan runs it: prepared once (packed weights), then no cache lookups and the
// same results as unprepared.
TEST_P(ConvConformance, PreparedForwardMatchesUnprepared) {
  const ConvCfg& p = GetParam();
  const OpCase c = conv_case(p, 21);
  const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  const PreparedForward prepared = run_forward_prepared(c, "dnnl_conv_f32");
  ASSERT_TRUE(prepared.prepared);
  EXPECT_EQ(prepared.cache_lookups, 0);
  const int64_t k = p.w[1] * p.w[2] * p.w[3];
  expect_close(prepared.fwd.outputs[0], ref.outputs[0], fp32_tol(k), "prepared dst");
  expect_close(prepared.fwd.outputs[0], fast.outputs[0], fp32_tol(k), "prepared vs unprepared dst");
}

TEST_P(ConvConformance, BackwardMatchesReference) {
  const ConvCfg& p = GetParam();
  if (depthwise(p)) GTEST_SKIP() << "depthwise backward: DepthwiseBackwardConformance";
  OpCase c = conv_case(p, 22);
  c.training = true;
  const KernelForward fwd = run_forward(c, false);
  Rng rng(23);
  const Tensor d_dst = random_tensor(fwd.outputs[0].shape(), rng);
  std::vector<int> wrt = {0, 1};
  if (p.bias) wrt.push_back(2);
  const KernelBackward fast = run_backward(c, fwd, {d_dst}, wrt, true);
  const KernelBackward ref = run_backward(c, fwd, {d_dst}, wrt, false);
  ASSERT_EQ(fast.kernel, "dnnl_conv_f32");
  const Shape& y = fwd.outputs[0].shape();
  const int64_t ocg = p.w[0] / p.group;
  expect_close(fast.d_inputs[0], ref.d_inputs[0], fp32_tol(ocg * p.w[2] * p.w[3]), "d_src");
  expect_close(fast.d_inputs[1], ref.d_inputs[1], fp32_tol(y[0] * y[2] * y[3]), "d_weights");
  if (p.bias) expect_close(fast.d_inputs[2], ref.d_inputs[2], fp32_tol(y[0] * y[2] * y[3]), "d_bias");
}

// Each gradient alone: the kernel must not depend on the others being requested.
TEST_P(ConvConformance, BackwardOneGradientAtATime) {
  const ConvCfg& p = GetParam();
  if (depthwise(p)) GTEST_SKIP() << "depthwise backward: DepthwiseBackwardConformance";
  OpCase c = conv_case(p, 24);
  c.training = true;
  const KernelForward fwd = run_forward(c, false);
  Rng rng(25);
  const Tensor d_dst = random_tensor(fwd.outputs[0].shape(), rng);
  const Shape& y = fwd.outputs[0].shape();
  for (int i = 0; i < static_cast<int>(c.inputs.size()); ++i) {
    const KernelBackward fast = run_backward(c, fwd, {d_dst}, {i}, true);
    const KernelBackward ref = run_backward(c, fwd, {d_dst}, {i}, false);
    ASSERT_EQ(fast.kernel, "dnnl_conv_f32");
    const int64_t k = i == 0 ? p.w[0] / p.group * p.w[2] * p.w[3] : y[0] * y[2] * y[3];
    expect_close(fast.d_inputs[i], ref.d_inputs[i], fp32_tol(k), "d_input " + std::to_string(i));
    for (int j = 0; j < static_cast<int>(c.inputs.size()); ++j)
      if (j != i) {
        EXPECT_FALSE(fast.d_inputs[j].defined());
      }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvConformance,
    ::testing::Values(
        ConvCfg{"ic1", {1, 1, 8, 8}, {4, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true},
        ConvCfg{"ic3_stride2", {1, 3, 9, 9}, {7, 3, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, true},
        ConvCfg{"ic7_asym_pads_batch5", {5, 7, 10, 9}, {13, 7, 3, 3}, {1, 1}, {0, 1, 2, 1}, {1, 1}, 1, true},
        ConvCfg{"ic13_5x5_stride2", {1, 13, 11, 11}, {7, 13, 5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 1, false},
        ConvCfg{"groups3", {2, 12, 9, 9}, {18, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3, true},
        ConvCfg{"depthwise13_stride2", {1, 13, 12, 12}, {13, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 13, true},
        ConvCfg{"depthwise32_batch5", {5, 32, 14, 14}, {32, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 32, false},
        ConvCfg{"dilation", {1, 7, 13, 13}, {5, 7, 3, 3}, {1, 1}, {2, 3, 2, 3}, {2, 3}, 1, true},
        ConvCfg{"stride_dilation_asym", {1, 16, 15, 15}, {24, 16, 3, 3}, {2, 1}, {1, 0, 0, 2}, {1, 2}, 1, true},
        ConvCfg{"pointwise_batch5", {5, 13, 7, 7}, {16, 13, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true},
        ConvCfg{"same_upper_stride2", {1, 3, 10, 10}, {8, 3, 3, 3}, {2, 2}, {}, {1, 1}, 1, true, "SAME_UPPER"},
        ConvCfg{"same_lower", {1, 7, 9, 10}, {8, 7, 4, 4}, {1, 1}, {}, {1, 1}, 1, false, "SAME_LOWER"},
        ConvCfg{"resnet_block_64", {2, 64, 14, 14}, {64, 64, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true},
        ConvCfg{"wide_pads", {1, 5, 6, 6}, {6, 5, 1, 1}, {1, 1}, {2, 1, 3, 2}, {1, 1}, 1, true}),
    cfg_name);

// The depthwise backward kernel over what oneDNN leaves to its GEMM path (5x5, 7x7, dilation)
// and the edges of the column ranges: strides 2 and 3, asymmetric and wide padding, a kernel
// wider than the image, one channel, batches; every gradient together and each alone.
class DepthwiseBackwardConformance : public ::testing::TestWithParam<ConvCfg> {};

TEST_P(DepthwiseBackwardConformance, MatchesReference) {
  const ConvCfg& p = GetParam();
  OpCase c = conv_case(p, 41);
  c.training = true;
  const KernelForward fwd = run_forward(c, false);
  Rng rng(42);
  const Tensor d_dst = random_tensor(fwd.outputs[0].shape(), rng);
  const Shape& y = fwd.outputs[0].shape();
  std::vector<int> all = {0, 1};
  if (p.bias) all.push_back(2);
  std::vector<std::vector<int>> wrts = {all};
  for (int i : all) wrts.push_back({i});
  for (const std::vector<int>& wrt : wrts) {
    const KernelBackward fast = run_backward(c, fwd, {d_dst}, wrt, true);
    const KernelBackward ref = run_backward(c, fwd, {d_dst}, wrt, false);
    ASSERT_EQ(fast.kernel, "cpu_depthwise_conv_f32");
    for (int i : wrt) {
      const int64_t k = i == 0 ? p.w[2] * p.w[3] : y[0] * y[2] * y[3];
      expect_close(fast.d_inputs[static_cast<size_t>(i)], ref.d_inputs[static_cast<size_t>(i)], fp32_tol(k),
                   "d_input " + std::to_string(i));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Depthwise, DepthwiseBackwardConformance,
    ::testing::Values(
        ConvCfg{"k5_batch3", {3, 8, 12, 11}, {8, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 8, true},
        ConvCfg{"k5_dilation2", {2, 5, 13, 13}, {5, 1, 5, 5}, {1, 1}, {4, 4, 4, 4}, {2, 2}, 5, false},
        ConvCfg{"k3_dilation2_stride2", {2, 6, 14, 15}, {6, 1, 3, 3}, {2, 2}, {2, 2, 2, 2}, {2, 2}, 6, true},
        ConvCfg{"k7_stride2", {1, 4, 17, 16}, {4, 1, 7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}, 4, false},
        ConvCfg{"k3_stride3_asym", {2, 3, 11, 10}, {3, 1, 3, 3}, {3, 2}, {0, 2, 1, 0}, {1, 1}, 3, true},
        ConvCfg{"one_channel_wide_pads", {4, 1, 5, 6}, {1, 1, 3, 3}, {1, 1}, {3, 2, 1, 4}, {1, 1}, 1, true},
        ConvCfg{"kernel_wider_than_image", {2, 2, 3, 3}, {2, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 2, true},
        ConvCfg{"mobilenet_k3_stride2_batch5", {5, 16, 14, 14}, {16, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 16, false}),
    cfg_name);

// Training runs prepare nothing (their weights change between steps): the kernel runs as usual.
TEST(ConvDnnl, NothingIsPreparedForTraining) {
  OpCase c = conv_case({"train", {1, 8, 10, 10}, {8, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true}, 35);
  PrepareOptions opt;
  opt.training = true;
  const PreparedForward r = run_forward_prepared(c, "dnnl_conv_f32", opt);
  EXPECT_FALSE(r.prepared);
  expect_close(r.fwd.outputs[0], run_forward(c, false).outputs[0], fp32_tol(72), "dst");
}

// Repeated calls of one layer reuse the cached primitives: no new entry after the first call
// (7 channels: below the Winograd rule's floor of 8, so oneDNN's kernel is the one selected).
TEST(ConvDnnl, RepeatedCallsHitThePrimitiveCache) {
  const OpCase c = conv_case({"cache", {1, 7, 10, 10}, {7, 7, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true}, 31);
  run_forward(c, true);
  const kernels::DnnlCacheStats before = kernels::dnnl_cache_stats();
  const KernelForward again = run_forward(c, true);
  const kernels::DnnlCacheStats after = kernels::dnnl_cache_stats();
  EXPECT_EQ(again.kernel, "dnnl_conv_f32");
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_GE(after.hits, before.hits + 1);
}

// Without the cache the kernel still works (and builds every time).
TEST(ConvDnnl, WorksWithTheCacheDisabled) {
  const OpCase c = conv_case({"nocache", {2, 6, 9, 9}, {4, 3, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 2, true}, 32);
  kernels::set_dnnl_cache_enabled(false);
  const KernelForward fast = run_forward(c, true);
  const kernels::DnnlCacheStats stats = kernels::dnnl_cache_stats();
  kernels::set_dnnl_cache_enabled(true);
  EXPECT_EQ(stats.entries, 0);
  ASSERT_EQ(fast.kernel, "dnnl_conv_f32");
  expect_close(fast.outputs[0], run_forward(c, false).outputs[0], fp32_tol(27), "dst");
}

// Concurrent calls of one layer (shared cached primitives, per-thread streams, scratchpads and
// staging buffers) give the single-threaded result.
TEST(ConvDnnl, ConcurrentCallsAgree) {
  const OwnConvKernelsOff own_off;  // 16 -> 16 at 12x12 is inside the Winograd and direct rules
  const OpCase c = conv_case({"threads", {2, 16, 12, 12}, {16, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true}, 34);
  const KernelForward expected = run_forward(c, true);
  std::vector<KernelForward> results(4);
  std::vector<std::thread> workers;
  for (auto& r : results) workers.emplace_back([&c, &r] {
    for (int i = 0; i < 5; ++i) r = run_forward(c, true);
  });
  for (auto& w : workers) w.join();
  for (const auto& r : results) {
    ASSERT_EQ(r.kernel, "dnnl_conv_f32");
    expect_close(r.outputs[0], expected.outputs[0], 0.0, "dst from a concurrent call");
  }
}

// A reference-only switch (process-wide) and allow_fast = false both bypass the kernel.
TEST(ConvDnnl, ReferenceOnlySwitchSelectsTheReference) {
  const OpCase c = conv_case({"refonly", {1, 3, 5, 5}, {2, 3, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false}, 33);
  kernels::set_reference_only(true);
  const KernelForward r = run_forward(c, true);
  kernels::set_reference_only(false);
  EXPECT_EQ(r.kernel, "reference");
}

}  // namespace
}  // namespace leancnn::testing
