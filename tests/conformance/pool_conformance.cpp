// Pooling: the oneDNN MaxPool / AveragePool / GlobalAveragePool kernels (forward, d_src) and our
// own GlobalAveragePool forward (NCHW and channels-last) against the references over odd shapes,
// strides, pads, dilation, ceil_mode and ties; the MaxPool workspace saved by the fast forward
// (used by the fast backward, ignored by the reference).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "conformance_util.h"
#include "kernel_coverage.h"
#include "layout_util.h"

namespace leancnn::testing {
namespace {

struct PoolCfg {
  const char* name;
  const char* op;
  Shape x;
  std::vector<int64_t> kernel, strides, pads, dilations;
  bool ceil_mode = false;
  bool count_include_pad = false;
  const char* auto_pad = nullptr;
  bool ties = false;  // values from {-1, 0, 1} only, so windows hold equal maxima
};

void PrintTo(const PoolCfg& c, std::ostream* os) { *os << c.name; }

OpCase pool_case(const PoolCfg& p, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = p.op;
  Tensor x = random_tensor(p.x, rng, -2.f, 2.f);
  if (p.ties)
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::round(x.data<float>()[i] / 2.f);
  c.inputs = {x};
  if (std::string(p.op) == "GlobalAveragePool") return c;
  c.attrs.set("kernel_shape", p.kernel);
  if (!p.strides.empty()) c.attrs.set("strides", p.strides);
  if (p.auto_pad)
    c.attrs.set("auto_pad", std::string(p.auto_pad));
  else if (!p.pads.empty())
    c.attrs.set("pads", p.pads);
  if (!p.dilations.empty()) c.attrs.set("dilations", p.dilations);
  if (p.ceil_mode) c.attrs.set("ceil_mode", int64_t{1});
  if (p.count_include_pad) c.attrs.set("count_include_pad", int64_t{1});
  return c;
}

constexpr const char* kGap = "cpu_global_average_pool_f32";

// The kernel dispatch picks: GlobalAveragePool's forward is ours, its backward oneDNN's.
std::string kernel_name(const std::string& op, bool backward = false) {
  if (op == "MaxPool") return "dnnl_max_pool_f32";
  if (op == "AveragePool") return "dnnl_average_pool_f32";
  return backward ? "dnnl_global_average_pool_f32" : kGap;
}

// Taps per output (sums in avg pooling, overlapping windows in backward).
int64_t taps(const PoolCfg& p) { return p.kernel.empty() ? p.x[2] * p.x[3] : p.kernel[0] * p.kernel[1]; }

class PoolConformance : public ::testing::TestWithParam<PoolCfg> {};

// Forward and backward, per op (the instances are named by op: max_*, avg_*, gap_*).
LEANCNN_COVERS("Shapes/PoolConformance.*/max_*", "MaxPool", "dnnl_max_pool_f32");
LEANCNN_COVERS("Shapes/PoolConformance.*/avg_*", "AveragePool", "dnnl_average_pool_f32");
LEANCNN_COVERS("Shapes/PoolConformance.BackwardMatchesReference/gap_*", "GlobalAveragePool",
               "dnnl_global_average_pool_f32");
LEANCNN_COVERS("Shapes/PoolConformance.ForwardMatchesReference/gap_*", "GlobalAveragePool", kGap);
TEST_P(PoolConformance, ForwardMatchesReference) {
  const PoolCfg& p = GetParam();
  const OpCase c = pool_case(p, 81);
  const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  ASSERT_EQ(fast.kernel, kernel_name(p.op));
  ASSERT_EQ(ref.kernel, "reference");
  expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(taps(p)), "dst");
}

TEST_P(PoolConformance, BackwardMatchesReference) {
  const PoolCfg& p = GetParam();
  OpCase c = pool_case(p, 82);
  c.training = true;
  const KernelForward fwd_fast = run_forward(c, true), fwd_ref = run_forward(c, false);
  ASSERT_EQ(fwd_fast.kernel, kernel_name(p.op));
  EXPECT_TRUE(fwd_ref.saved.empty());
  // Only MaxPool saves (its workspace), after the reference's (empty) list.
  EXPECT_EQ(fwd_fast.saved.size(), std::string(p.op) == "MaxPool" ? 1u : 0u);
  Rng rng(83);
  const Tensor d_dst = random_tensor(fwd_ref.outputs[0].shape(), rng);
  const KernelBackward ref = run_backward(c, fwd_ref, {d_dst}, {0}, false);
  const double tol = fp32_tol(taps(p));
  // Fast backward after the fast forward (workspace) and after the reference (recomputed).
  for (const KernelForward* fwd : {&fwd_fast, &fwd_ref}) {
    SCOPED_TRACE(fwd->kernel + " forward");
    const KernelBackward fast = run_backward(c, *fwd, {d_dst}, {0}, true);
    ASSERT_EQ(fast.kernel, kernel_name(p.op, true));
    expect_close(fast.d_inputs[0], ref.d_inputs[0], tol, "d_src");
  }
  // The reference backward ignores the fast forward's extra entry.
  expect_close(run_backward(c, fwd_fast, {d_dst}, {0}, false).d_inputs[0], ref.d_inputs[0], 0.0,
               "reference d_src after the fast forward");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PoolConformance,
    ::testing::Values(
        PoolCfg{"max_2x2_s2", "MaxPool", {1, 3, 8, 8}, {2, 2}, {2, 2}, {}, {}},
        // The NCHW 2x2/2 fast path: odd sides (the last row and column dropped), a batch; with
        // ceil_mode its last windows are partial and the general loop runs.
        PoolCfg{"max_2x2_s2_odd", "MaxPool", {2, 5, 9, 11}, {2, 2}, {2, 2}, {}, {}},
        PoolCfg{"max_2x2_s2_odd_ceil", "MaxPool", {1, 3, 9, 11}, {2, 2}, {2, 2}, {}, {}, true},
        PoolCfg{"max_3x3_s2_p1_batch5", "MaxPool", {5, 7, 13, 13}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}},
        PoolCfg{"max_ceil", "MaxPool", {1, 13, 10, 10}, {3, 3}, {2, 2}, {}, {}, true},
        PoolCfg{"max_ceil_pads", "MaxPool", {2, 1, 11, 8}, {2, 3}, {3, 2}, {1, 0, 0, 1}, {}, true},
        PoolCfg{"max_dilation", "MaxPool", {2, 3, 9, 9}, {2, 2}, {1, 1}, {}, {2, 2}},
        PoolCfg{"max_dilation_ceil", "MaxPool", {1, 4, 10, 11}, {3, 2}, {2, 2}, {1, 1, 1, 1}, {2, 3}, true},
        PoolCfg{"max_asym_pads", "MaxPool", {1, 7, 9, 8}, {3, 3}, {1, 1}, {1, 0, 2, 1}, {}},
        PoolCfg{"max_stride_gt_kernel", "MaxPool", {1, 3, 11, 11}, {2, 2}, {3, 3}, {}, {}},
        PoolCfg{"max_ties", "MaxPool", {2, 5, 9, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {}, false, false, nullptr, true},
        PoolCfg{"max_same_upper", "MaxPool", {1, 3, 10, 9}, {3, 3}, {2, 2}, {}, {}, false, false, "SAME_UPPER"},
        PoolCfg{"avg_2x2_s2", "AveragePool", {1, 3, 8, 8}, {2, 2}, {2, 2}, {}, {}},
        PoolCfg{"avg_include_pad", "AveragePool", {5, 7, 9, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {}, false, true},
        PoolCfg{"avg_exclude_pad", "AveragePool", {5, 7, 9, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {}},
        PoolCfg{"avg_asym_pads", "AveragePool", {1, 13, 8, 9}, {3, 2}, {2, 1}, {0, 1, 2, 0}, {}, false, true},
        PoolCfg{"avg_ceil_exclude", "AveragePool", {1, 13, 10, 10}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, true},
        PoolCfg{"avg_ceil_include_within_pads", "AveragePool", {1, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {},
                true, true},
        PoolCfg{"avg_same_lower", "AveragePool", {2, 3, 9, 10}, {4, 4}, {3, 3}, {}, {}, false, false,
                "SAME_LOWER"},
        PoolCfg{"gap_1x1", "GlobalAveragePool", {1, 1, 1, 1}, {}, {}, {}, {}},
        PoolCfg{"gap_batch5", "GlobalAveragePool", {5, 13, 7, 7}, {}, {}, {}, {}},
        PoolCfg{"gap_c64", "GlobalAveragePool", {2, 64, 8, 8}, {}, {}, {}, {}},
        PoolCfg{"gap_rect", "GlobalAveragePool", {1, 3, 5, 9}, {}, {}, {}, {}}),
    [](const ::testing::TestParamInfo<PoolCfg>& i) { return std::string(i.param.name); });

// The fast backward really uses the saved workspace: a corrupted argmax changes d_src, while a
// workspace whose trailer does not match is ignored (the argmax is recomputed).
// Our GlobalAveragePool with X channels-last (after a Winograd or int8 conv in a plan) and NCHW,
// over odd channel counts, a batch and inputs big enough for its OpenMP path; channels-last sums
// run in blocks of 64 channels (MobileNetV2's 1280 at 7x7; 130 leaves a block of 2).
LEANCNN_COVERS("PoolConformance.GlobalAveragePoolChannelsLast", "GlobalAveragePool", kGap);
TEST(PoolConformance, GlobalAveragePoolChannelsLast) {
  const Shape shapes[] = {{1, 64, 7, 7},   {3, 17, 5, 3}, {1, 9, 1, 13},  {2, 96, 40, 40},
                          {1, 1280, 7, 7}, {2, 130, 7, 7}, {1, 1, 1, 1}};
  uint64_t seed = 90;
  for (const Shape& x : shapes) {
    const OpCase c = pool_case(PoolCfg{"gap", "GlobalAveragePool", x, {}, {}, {}, {}}, seed++);
    const KernelForward ref = run_forward(c, false);
    const double tol = fp32_tol(x[2] * x[3]);
    expect_close(run_with_layout(c, kGap, true, false), ref.outputs[0], tol, shape_str(x) + " NHWC x");
    expect_close(run_with_layout(c, kGap, true, true), ref.outputs[0], tol, shape_str(x) + " NHWC x and y");
    expect_close(run_with_layout(c, kGap, false, false), ref.outputs[0], tol, shape_str(x) + " NCHW");
  }
}

// MaxPool with channels-last source and destination (after a conv in a plan): the 2x2/2 loop,
// also from NHWC to NCHW (before Flatten) and back, for odd sides, a batch, NaN and an
// OpenMP-sized input; the any-window NHWC loop (tied layouts) for ResNet-18's 3x3/2 pad-1 pool,
// channel counts beside whole vectors of 8, dilation and asymmetric windows and pads, with NaN.
LEANCNN_COVERS("PoolConformance.MaxPoolChannelsLast", "MaxPool", "dnnl_max_pool_f32");
TEST(PoolConformance, MaxPoolChannelsLast) {
  const PoolCfg cfgs[] = {{"max_2x2_s2", "MaxPool", {1, 32, 28, 28}, {2, 2}, {2, 2}, {}, {}},
                          {"max_2x2_s2_odd", "MaxPool", {2, 7, 9, 11}, {2, 2}, {2, 2}, {}, {}},
                          {"max_2x2_s2_big", "MaxPool", {2, 64, 56, 56}, {2, 2}, {2, 2}, {}, {}},
                          {"max_3x3_s2_pad", "MaxPool", {1, 5, 12, 12}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}},
                          {"max_3x3_s2_r18", "MaxPool", {1, 64, 112, 112}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}},
                          {"max_3x3_s1_13ch", "MaxPool", {2, 13, 7, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {}},
                          {"max_3x2_asym_dil", "MaxPool", {1, 17, 11, 10}, {3, 2}, {2, 1}, {0, 1, 2, 0}, {2, 2}}};
  uint64_t seed = 95;
  for (const PoolCfg& p : cfgs) {
    OpCase c = pool_case(p, seed++);
    c.inputs[0].data<float>()[3] = NAN;
    const KernelForward ref = run_forward(c, false);
    const bool mixed = p.kernel[0] == 2;  // the 2x2/2 loop takes the two layouts separately
    for (const auto& [in_nhwc, out_nhwc] : {std::pair{true, true}, {true, false}, {false, true}}) {
      if (in_nhwc != out_nhwc && !mixed) continue;
      const Tensor y = run_with_layout(c, "dnnl_max_pool_f32", in_nhwc, out_nhwc);
      ASSERT_EQ(y.nbytes(), ref.outputs[0].nbytes());
      EXPECT_EQ(std::memcmp(y.raw(), ref.outputs[0].raw(), y.nbytes()), 0)  // maxima are exact
          << p.name << (in_nhwc ? " NHWC" : " NCHW") << " -> " << (out_nhwc ? "NHWC" : "NCHW");
    }
  }
}

TEST(PoolDnnl, MaxPoolBackwardUsesTheSavedWorkspace) {
  OpCase c = pool_case({"ws", "MaxPool", {1, 2, 6, 6}, {2, 2}, {2, 2}, {}, {}}, 84);
  c.training = true;
  const KernelForward fwd = run_forward(c, true);
  ASSERT_EQ(fwd.saved.size(), 1u);
  ASSERT_EQ(fwd.saved[0].dtype(), DType::u8);
  const Tensor d_dst = Tensor::full(fwd.outputs[0].shape(), 1.f);
  const Tensor good = run_backward(c, fwd, {d_dst}, {0}, true).d_inputs[0];

  KernelForward corrupt = fwd;
  corrupt.saved[0] = fwd.saved[0].clone();
  const int64_t payload = corrupt.saved[0].numel() - 16;
  for (int64_t i = 0; i < payload; ++i) corrupt.saved[0].data<uint8_t>()[i] = 0;  // argmax: first tap everywhere
  const Tensor from_zeroed = run_backward(c, corrupt, {d_dst}, {0}, true).d_inputs[0];
  EXPECT_GT(max_rel_diff(from_zeroed, good), 0.5) << "the backward ignored the saved workspace";

  corrupt.saved[0].data<uint8_t>()[payload + 8] ^= 0xff;  // the trailer: 8 magic bytes, then the hash
  const Tensor recomputed = run_backward(c, corrupt, {d_dst}, {0}, true).d_inputs[0];
  expect_close(recomputed, good, 0.0, "d_src with a foreign workspace");
}

// An inference forward (ctx.saved null) builds no workspace.
TEST(PoolDnnl, InferenceForwardSavesNothing) {
  const OpCase c = pool_case({"infer", "MaxPool", {1, 2, 6, 6}, {2, 2}, {2, 2}, {}, {}}, 85);
  EXPECT_TRUE(run_forward(c, true).saved.empty());
}

// ceil_mode + count_include_pad with a last window beyond the pads: the conventions differ,
// so the kernel declines with the reason and the reference runs.
TEST(PoolDnnl, CeilModeIncludePadBeyondPadsDeclines) {
  const OpCase c = pool_case({"ceil_incl", "AveragePool", {1, 3, 6, 6}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, true, true},
                             86);
  KernelForward fast;
  const std::string log = dispatch_log_of([&] { fast = run_forward(c, true); });
  EXPECT_EQ(fast.kernel, "reference");
  EXPECT_NE(log.find("dnnl_average_pool_f32 declined: ceil_mode with count_include_pad"), std::string::npos) << log;
}

}  // namespace
}  // namespace leancnn::testing
