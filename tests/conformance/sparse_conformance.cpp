// The sparse kernels (kernels/sparse) against the references: Conv and FusedConv over 1x1, 3x3
// and 5x5 kernels, strides, asymmetric pads, dilation, batch 1 and 3, every activation with and
// without bias and Z; Gemm over M = 1 and 5, with and without C; weight densities from 0 (all
// zero) to 1 (sparsity 100 % to 0 %: the crossover lifted for the test), unstructured, 2:4 and with
// empty output rows; unprepared (as the executor runs them) and prepared (as a plan does: the
// constants replaced by NaN after prepare). With the measured crossovers, the dispatcher picks
// them exactly where the rule says (leancnn/kernels/sparse_rule.h); in training and on grouped
// convolutions it passes them by.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "conformance_util.h"
#include "kernel_coverage.h"
#include "layout_util.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/kernels/sparse_rule.h"
#include "leancnn/ops/conv.h"
#include "prepared_run.h"
#include "own_conv_kernels_off.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::testing {
namespace {

constexpr const char* kConv = "cpu_conv_f32_sparse_avx2";
constexpr const char* kFused = "cpu_fused_conv_f32_sparse_avx2";
constexpr const char* kGemm = "cpu_gemm_f32_sparse_avx2";

bool sparse_here() { return cpu_features().avx2 && cpu_features().fma; }

// Lifts every crossover to 1 for its lifetime: the sparse kernels take any density.
struct AnyDensity {
  double one = 1.0;
  AnyDensity() { kernels::inject_sparse_max_density(&one); }
  ~AnyDensity() { kernels::inject_sparse_max_density(nullptr); }
};

enum class Pattern { random, two_of_four, empty_rows };

// Zeroes weights of w ([rows, ...] with `inner` values per row) to about `density`.
void sparsify(Tensor& w, double density, Pattern pattern, Rng& rng) {
  float* p = w.data<float>();
  const int64_t rows = w.shape()[0], inner = w.numel() / rows;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < inner; ++i) {
      bool keep = false;
      switch (pattern) {
        case Pattern::random: keep = rng.uniform() < density; break;
        case Pattern::two_of_four: keep = i % 4 < 2 && rng.uniform() < density * 2; break;
        case Pattern::empty_rows: keep = r % 3 != 0 && rng.uniform() < density; break;
      }
      if (!keep) p[r * inner + i] = 0.f;
    }
}

struct ConvCfg {
  const char* name;
  Shape x, w;
  std::vector<int64_t> strides, pads, dilations;
};

const ConvCfg kConvs[] = {
    {"1x1", {1, 19, 9, 11}, {13, 19, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},
    {"1x1_s2", {3, 16, 10, 10}, {24, 16, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}},
    {"3x3", {1, 17, 14, 13}, {21, 17, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
    // 21 wide: read "wide" (runs across rows) with AVX-512's 64-output runs, row by row with AVX2's 32.
    {"3x3_21", {2, 5, 7, 21}, {6, 5, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
    // Deep enough that the product passes over several blocks of input channels (L1 blocking):
    // wide, row by row, 1x1 direct and im2col.
    {"3x3_deep", {1, 200, 9, 9}, {8, 200, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
    {"3x3_deep_rows", {1, 40, 5, 40}, {6, 40, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
    {"1x1_deep", {1, 300, 6, 6}, {7, 300, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},
    {"3x3_s2_deep", {1, 48, 9, 9}, {5, 48, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}},
    {"3x3_s2_asym", {3, 8, 15, 16}, {9, 8, 3, 3}, {2, 2}, {0, 1, 1, 0}, {1, 1}},
    {"3x3_dil2", {1, 6, 12, 12}, {7, 6, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}},
    {"5x5_wide", {1, 4, 40, 41}, {5, 4, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}},  // > 256 pixels: several blocks
};

struct Act {
  const char* activation;
  std::vector<float> params;
};
const Act kActs[] = {{"", {}}, {"Relu", {}}, {"Clip", {-0.5f, 0.7f}}, {"HardSwish", {}}};
const double kDensities[] = {0.0, 0.01, 0.1, 0.5, 1.0};

OpCase conv_case(const ConvCfg& s, bool fused, const Act& a, bool bias, bool residual, double density, Pattern pat,
                 uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = fused ? "FusedConv" : "Conv";
  c.domain = fused ? ir::kLeancnnDomain : "";
  Tensor w = random_tensor(s.w, rng);
  sparsify(w, density, pat, rng);
  c.inputs = {random_tensor(s.x, rng), w, bias ? random_tensor({s.w[0]}, rng) : Tensor()};
  c.attrs.set("strides", s.strides);
  c.attrs.set("pads", s.pads);
  c.attrs.set("dilations", s.dilations);
  if (fused) {
    c.attrs.set("activation", std::string(a.activation));
    c.attrs.set("activation_params", a.params);
    if (residual) {
      OpCase conv = c;
      conv.op_type = "Conv";
      conv.domain = "";
      conv.attrs = ir::Attributes();
      conv.attrs.set("strides", s.strides);
      conv.attrs.set("pads", s.pads);
      conv.attrs.set("dilations", s.dilations);
      c.inputs.push_back(random_tensor(run_reference(conv).inferred[0].shape, rng));
    }
  }
  return c;
}

void expect_sparse_conv(const OpCase& c, const char* kernel, int64_t taps, const std::string& what) {
  const KernelForward ref = run_forward(c, false);
  const KernelForward fast = run_forward(c, true);
  ASSERT_EQ(fast.kernel, kernel) << what;
  expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(taps), what + " unprepared");
  const PreparedForward prepared = run_forward_prepared(c, kernel);
  ASSERT_TRUE(prepared.prepared) << what;
  expect_close(prepared.fwd.outputs[0], ref.outputs[0], fp32_tol(taps), what + " prepared");
}

LEANCNN_COVERS_WHERE("SparseConformance.Conv*", "Conv", kConv, sparse_here);
TEST(SparseConformance, ConvEveryShapeDensityAndPattern) {
  if (!sparse_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const AnyDensity any;
  uint64_t seed = 1;
  for (const ConvCfg& s : kConvs)
    for (const double d : kDensities)
      for (const Pattern pat : {Pattern::random, Pattern::two_of_four, Pattern::empty_rows})
        for (const bool bias : {false, true}) {
          const std::string what = str_cat(s.name, " density ", d, " pattern ", static_cast<int>(pat), " bias ", bias);
          expect_sparse_conv(conv_case(s, false, kActs[0], bias, false, d, pat, seed++), kConv, s.w[1] * s.w[2] * s.w[3], what);
        }
}

LEANCNN_COVERS_WHERE("SparseConformance.FusedConv*", "FusedConv", kFused, sparse_here);  // NCHW and NHWC sources
TEST(SparseConformance, FusedConvEveryActivationBiasAndResidual) {
  if (!sparse_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const AnyDensity any;
  uint64_t seed = 500;
  for (const ConvCfg& s : kConvs)
    for (const Act& a : kActs)
      for (const int epi : {0, 1, 2, 3}) {
        const std::string what = str_cat(s.name, " act '", a.activation, "' epilogue ", epi);
        expect_sparse_conv(conv_case(s, true, a, epi & 1, epi & 2, 0.1, Pattern::random, seed++), kFused,
                           s.w[1] * s.w[2] * s.w[3], what);
      }
}

OpCase gemm_case(int64_t m, int64_t k, int64_t n, bool has_c, double density, Pattern pat, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = "Gemm";
  Tensor w = random_tensor({n, k}, rng);
  sparsify(w, density, pat, rng);
  c.inputs = {random_tensor({m, k}, rng), w};
  if (has_c) c.inputs.push_back(random_tensor({n}, rng));
  c.attrs.set("transB", int64_t{1});
  return c;
}

LEANCNN_COVERS_WHERE("SparseConformance.Gemm*", "Gemm", kGemm, sparse_here);
TEST(SparseConformance, GemmEveryShapeDensityAndPattern) {
  if (!sparse_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const AnyDensity any;
  uint64_t seed = 900;
  for (const int64_t m : {1, 5})
    for (const auto& [k, n] : {std::pair<int64_t, int64_t>{37, 11}, {800, 130}, {9, 3}})
      for (const double d : {0.0, 0.05, 0.2, 0.5, 1.0})
        for (const Pattern pat : {Pattern::random, Pattern::two_of_four, Pattern::empty_rows})
          for (const bool has_c : {false, true}) {
            const OpCase c = gemm_case(m, k, n, has_c, d, pat, seed++);
            const std::string what = str_cat("m ", m, " k ", k, " n ", n, " density ", d, " C ", has_c);
            const KernelForward ref = run_forward(c, false), fast = run_forward(c, true);
            ASSERT_EQ(fast.kernel, kGemm) << what;
            expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(k), what);
            const PreparedForward prepared = run_forward_prepared(c, kGemm);
            ASSERT_TRUE(prepared.prepared);
            expect_close(prepared.fwd.outputs[0], ref.outputs[0], fp32_tol(k), what + " prepared");
          }
}


// As a plan runs the kernel when the producers of its source and residual store them channels-last:
// the kernel declares inputs 0 and 3 (not its output) channels-last-capable, is prepared, then runs.
Tensor run_channels_last_source(const OpCase& c, const std::string& kernel) {
  const ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpTable& ops = ops::op_table();
  const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
  ir::ForwardCtx ctx{n, c.inputs, {Tensor::empty(types[0].shape, types[0].dtype)}};
  const kernels::Kernel* k = nullptr;
  for (const kernels::Kernel& cand : kernels::kernel_list(ops.get(n)))
    if (cand.name == kernel) k = &cand;
  if (!k || !k->channels_last) throw std::runtime_error(kernel + ": absent or NCHW only");
  const uint32_t slots = ir::channels_last_input(0) | (ctx.inputs.size() > 3 ? ir::channels_last_input(3) : 0);
  EXPECT_EQ(k->channels_last(ctx).slots & slots, slots) << kernel;
  EXPECT_EQ(k->channels_last(ctx).slots & ir::channels_last_output(0), 0u) << kernel << ": the output stays NCHW";
  ctx.channels_last = slots;
  const std::shared_ptr<const void> state = k->prepare(ctx);
  ctx.prepared = state.get();
  ctx.inputs[0] = to_nhwc(c.inputs[0]);
  if (ctx.inputs.size() > 3 && ctx.inputs[3].defined()) ctx.inputs[3] = to_nhwc(c.inputs[3]);
  note_kernel(c.op_type, kernel, Coverage::runs);
  k->forward(ctx);
  return ctx.outputs[0];
}

TEST(SparseConformance, FusedConvChannelsLastSourceMatchesReference) {
  if (!sparse_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const AnyDensity any;
  uint64_t seed = 3000;
  for (const ConvCfg& s : kConvs)  // 1x1 direct (transposed), 1x1 and 3x3 strided (im2col), k x k padded
    for (const int epi : {1, 3}) {
      const OpCase c = conv_case(s, true, kActs[1], epi & 1, epi & 2, 0.1, Pattern::random, seed++);
      expect_close(run_channels_last_source(c, kFused), run_forward(c, false).outputs[0], fp32_tol(s.w[1] * s.w[2] * s.w[3]),
                   str_cat(s.name, " NHWC source and Z, epilogue ", epi));
    }
}

// With the measured crossovers the dispatcher follows the rule layer by layer: sparse at or below
// the layer's crossover density, dense above it; never in training nor on grouped convolutions.
TEST(SparseConformance, DispatchFollowsTheCrossoverRule) {
  const OwnConvKernelsOff own_off;  // dense layers would go to Winograd or direct (their own tests)
  uint64_t seed = 2000;
  for (const ConvCfg& s : kConvs)
    for (const double d : {0.01, 0.1, 0.3, 0.9}) {
      const OpCase c = conv_case(s, false, kActs[0], true, false, d, Pattern::random, seed++);
      const ops::ConvGeometry g = ops::conv_geometry(single_node_graph(c).node(0), s.x, s.w);
      const Tensor& w = c.inputs[1];
      const double density =
          static_cast<double>(std::count_if(w.data<float>(), w.data<float>() + w.numel(), [](float v) { return v != 0.f; })) /
          static_cast<double>(w.numel());
      const bool sparse = sparse_here() && density <= kernels::sparse_conv_crossover(g);
      EXPECT_EQ(run_forward(c, true).kernel, sparse ? kConv : "dnnl_conv_f32")
          << s.name << " density " << density << " crossover " << kernels::sparse_conv_crossover(g);
    }
  // Dense enough: the sparse kernel declines and the next in the list (small products) runs it.
  EXPECT_EQ(run_forward(gemm_case(1, 64, 32, true, 0.8, Pattern::random, 10), true).kernel, "cpu_gemm_f32_small");
  if (sparse_here()) {
    EXPECT_EQ(run_forward(gemm_case(1, 640, 32, true, 0.0, Pattern::random, 11), true).kernel, kGemm);
  }
  const AnyDensity any;
  OpCase training = conv_case(kConvs[2], false, kActs[0], true, false, 0.1, Pattern::random, 8);
  training.training = true;
  EXPECT_NE(run_forward(training, true).kernel, kConv);
  OpCase grouped = conv_case({"g", {1, 8, 9, 9}, {8, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}}, false, kActs[0], false,
                             false, 0.1, Pattern::random, 9);
  grouped.attrs.set("group", int64_t{2});
  EXPECT_NE(run_forward(grouped, true).kernel, kConv);
}

}  // namespace
}  // namespace leancnn::testing
