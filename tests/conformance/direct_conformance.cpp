// The direct convolution kernels (kernels/direct) against the Conv and FusedConv references, each
// ISA kernel by name (AVX-512 where the CPU and the ISA cap have it) and forced by injection:
// kernels 1x1 to 7x7 and non-square, strides 1 to 3, pads 0, 1, asymmetric and wider than the
// kernel's half, channel counts that are not multiples of 8 or 16 (partial vectors), one input
// channel, batch 1 and 3; window rows longer than one chunk of the inner loop (partial sums
// between chunks) and weights heavier than the activations (tasks split the output channels);
// every activation with and without bias and residual Z; unprepared (as the executor runs them),
// prepared (the constants replaced by NaN after prepare) and with X, Z and Y channels-last.
// Tolerance: fp32_tol of the window's length (plain dot products, no transform). Without
// injection the dispatcher follows the measured rule (leancnn/kernels/direct_conv_rule.h).
#include <gtest/gtest.h>

#include <string>

#include "conformance_util.h"
#include "isa_cases.h"
#include "kernel_coverage.h"
#include "layout_util.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/graph.h"
#include "leancnn/kernels/direct_conv_rule.h"
#include "leancnn/kernels/winograd_rule.h"
#include "leancnn/ops/conv.h"
#include "prepared_run.h"

namespace leancnn::testing {
namespace {

std::string kernel_name(bool fused, const Isa& isa) {
  return std::string(fused ? "cpu_fused_conv_f32_direct_" : "cpu_conv_f32_direct_") + isa.name;
}

// The direct kernels take every layer their geometry allows for the object's lifetime.
struct Forced {
  bool take = true;
  Forced() { kernels::inject_direct_conv(&take); }
  ~Forced() { kernels::inject_direct_conv(nullptr); }
};

struct Cfg {
  const char* name;
  Shape x;
  int64_t oc, kh, kw, stride;
  std::vector<int64_t> pads;
};
const Cfg kCfgs[] = {
    {"1x1_16to96", {1, 16, 9, 8}, 96, 1, 1, 1, {0, 0, 0, 0}},
    {"1x1s2_13to19", {2, 13, 9, 11}, 19, 1, 1, 2, {0, 0, 0, 0}},
    {"3x3_5to7_odd", {1, 5, 13, 11}, 7, 3, 3, 1, {1, 1, 1, 1}},
    {"3x3s2_17to33", {1, 17, 14, 13}, 33, 3, 3, 2, {1, 1, 1, 1}},
    {"3x3s2_asym", {3, 24, 9, 10}, 40, 3, 3, 2, {0, 1, 1, 0}},
    {"7x7s2_stem", {1, 3, 23, 21}, 16, 7, 7, 2, {3, 3, 3, 3}},
    {"5x5s3_pad2", {1, 9, 16, 17}, 12, 5, 5, 3, {2, 2, 2, 2}},
    {"1x3_nonsquare", {1, 8, 6, 9}, 9, 1, 3, 1, {0, 1, 0, 1}},
    {"3x3_1in", {1, 1, 12, 12}, 16, 3, 3, 1, {1, 1, 1, 1}},
    {"3x3_pad_wide", {1, 4, 3, 4}, 5, 3, 3, 1, {2, 3, 2, 1}},
    {"3x3_chunks_100to20", {1, 100, 6, 7}, 20, 3, 3, 1, {1, 1, 1, 1}},
    {"3x3_weights_heavy", {1, 64, 3, 3}, 70, 3, 3, 1, {1, 1, 1, 1}},
};

struct Act {
  const char* activation;
  std::vector<float> params;
};
const Act kActs[] = {{"", {}}, {"Relu", {}}, {"Clip", {-0.5f, 0.7f}}, {"HardSwish", {}}};

Shape out_shape(const Cfg& s) {
  const int64_t oh = (s.x[2] + s.pads[0] + s.pads[2] - s.kh) / s.stride + 1;
  const int64_t ow = (s.x[3] + s.pads[1] + s.pads[3] - s.kw) / s.stride + 1;
  return {s.x[0], s.oc, oh, ow};
}

OpCase conv_case(const Cfg& s, bool fused, const Act& a, bool bias, bool residual, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = fused ? "FusedConv" : "Conv";
  c.domain = fused ? ir::kLeancnnDomain : "";
  c.inputs = {random_tensor(s.x, rng), random_tensor({s.oc, s.x[1], s.kh, s.kw}, rng),
              bias ? random_tensor({s.oc}, rng) : Tensor()};
  c.attrs.set("pads", s.pads);
  c.attrs.set("strides", std::vector<int64_t>{s.stride, s.stride});
  if (fused) {
    c.attrs.set("activation", std::string(a.activation));
    c.attrs.set("activation_params", a.params);
    if (residual) c.inputs.push_back(random_tensor(out_shape(s), rng));
  }
  return c;
}

void expect_direct(const OpCase& c, const Cfg& s, const std::string& kernel, const std::string& what) {
  const Tensor ref = run_forward(c, false).outputs[0];
  const double tol = fp32_tol(s.x[1] * s.kh * s.kw);
  expect_close(run_forward_with(c, kernel).outputs[0], ref, tol, what + " unprepared");
  const PreparedForward prepared = run_forward_prepared(c, kernel);
  ASSERT_TRUE(prepared.prepared) << what;
  expect_close(prepared.fwd.outputs[0], ref, tol, what + " prepared");
  uint32_t bits = ir::channels_last_input(0) | ir::channels_last_output(0);
  if (c.inputs.size() > 3 && c.inputs[3].defined()) bits |= ir::channels_last_input(3);
  expect_close(run_with_layouts(c, kernel, bits), ref, tol, what + " channels-last");
}

LEANCNN_COVERS_WHERE("DirectConvConformance.Conv*", "Conv", "cpu_conv_f32_direct_avx512", avx512_here);
LEANCNN_COVERS_WHERE("DirectConvConformance.Conv*", "Conv", "cpu_conv_f32_direct_avx2", avx2_here);
TEST(DirectConvConformance, ConvEveryShapeAndIsa) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const Forced forced;
  uint64_t seed = 1;
  for (const Isa& isa : kFloatIsas) {
    if (!isa.here()) continue;
    for (const Cfg& s : kCfgs)
      for (const bool bias : {false, true})
        expect_direct(conv_case(s, false, kActs[0], bias, false, seed++), s, kernel_name(false, isa),
                      str_cat(isa.name, " ", s.name, " bias ", bias));
  }
}

LEANCNN_COVERS_WHERE("DirectConvConformance.FusedConv*", "FusedConv", "cpu_fused_conv_f32_direct_avx512", avx512_here);
LEANCNN_COVERS_WHERE("DirectConvConformance.FusedConv*", "FusedConv", "cpu_fused_conv_f32_direct_avx2", avx2_here);
TEST(DirectConvConformance, FusedConvEveryActivationBiasAndResidual) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const Forced forced;
  uint64_t seed = 500;
  for (const Isa& isa : kFloatIsas) {
    if (!isa.here()) continue;
    for (const Cfg& s : kCfgs)
      for (const Act& a : kActs)
        for (const int epi : {0, 1, 2, 3})
          expect_direct(conv_case(s, true, a, epi & 1, epi & 2, seed++), s, kernel_name(true, isa),
                        str_cat(isa.name, " ", s.name, " act '", a.activation, "' epilogue ", epi));
  }
}

// A plan may put Y over the residual Z's storage (Z dies at this node): each output element's Z
// is read before it is written.
TEST(DirectConvConformance, FusedConvOutputOverResidual) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const Forced forced;
  const Cfg s{"in_place", {1, 12, 11, 9}, 12, 3, 3, 1, {1, 1, 1, 1}};
  for (const Isa& isa : kFloatIsas) {
    if (!isa.here()) continue;
    const OpCase c = conv_case(s, true, kActs[1], true, true, 77);
    PrepareOptions opt;
    opt.output_over_input = 3;
    opt.runs = 2;
    const PreparedForward r = run_forward_prepared(c, kernel_name(true, isa), opt);
    expect_close(r.fwd.outputs[0], run_forward(c, false).outputs[0], fp32_tol(12 * 9), str_cat(isa.name, " Y over Z"));
  }
}

// The rule's measured envelope (direct_rule.cpp, docs/direct_conv.md §2), pinned: on AVX2 the
// strided and weight-heavy 3x3 layers of ResNet-18 and ResNet-20 at 28x28; not 16 input channels
// on large maps, 1x1 layers, stems of 1-3 channels, nor anything on AVX-512.
TEST(DirectConvRule, TakesWhatWasMeasured) {
  auto geometry = [](int64_t ic, int64_t oc, int64_t hw, int64_t k, int64_t stride) {
    ops::ConvGeometry g;
    g.n = 1, g.ic = ic, g.ih = g.iw = hw, g.oc = oc, g.kh = g.kw = k, g.stride_h = g.stride_w = stride;
    g.pad_t = g.pad_l = g.pad_b = g.pad_r = k / 2;
    g.oh = g.ow = (hw + 2 * (k / 2) - k) / stride + 1;
    return g;
  };
  struct Case {
    const char* name;
    ops::ConvGeometry g;
    bool avx2;
  };
  const Case cases[] = {
      {"r18 64->128 3x3/2 @56", geometry(64, 128, 56, 3, 2), true},
      {"r18 512 3x3 @7", geometry(512, 512, 7, 3, 1), true},
      {"r20 16->32 3x3/2 @28", geometry(16, 32, 28, 3, 2), true},
      {"r20 32->64 3x3/2 @112", geometry(32, 64, 112, 3, 2), true},
      {"r20 16->32 3x3/2 @224", geometry(16, 32, 224, 3, 2), false},
      {"r20 pruned 24->40 3x3/2 @112", geometry(24, 40, 112, 3, 2), false},
      {"r18 1x1/2 downsample", geometry(64, 128, 56, 1, 2), false},
      {"r18 stem 3->64 7x7/2", geometry(3, 64, 224, 7, 2), false},
      {"12 output channels", geometry(64, 12, 28, 3, 1), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(kernels::direct_conv_takes(c.g, false), c.avx2) << c.name;
    EXPECT_FALSE(kernels::direct_conv_takes(c.g, true)) << c.name << " (AVX-512)";
  }
}

// Without injection: the direct kernel exactly where the rule says and Winograd (ahead of it in
// the list) does not take the layer; never in training, on dilated or grouped convolutions.
TEST(DirectConvConformance, DispatchFollowsTheRule) {
  const Cfg shapes[] = {{"r18_64to128_s2", {1, 64, 56, 56}, 128, 3, 3, 2, {1, 1, 1, 1}},
                        {"r18_512@7", {1, 512, 7, 7}, 512, 3, 3, 1, {1, 1, 1, 1}},
                        {"r18_stem", {1, 3, 224, 224}, 64, 7, 7, 2, {3, 3, 3, 3}},
                        {"mv2_1x1", {1, 24, 56, 56}, 144, 1, 1, 1, {0, 0, 0, 0}},
                        {"r20_16@28", {1, 16, 28, 28}, 16, 3, 3, 1, {1, 1, 1, 1}}};
  uint64_t seed = 900;
  for (const Cfg& s : shapes) {
    const OpCase c = conv_case(s, true, kActs[1], true, false, seed++);
    const ops::ConvGeometry g = ops::conv_geometry(single_node_graph(c).node(0), s.x, c.inputs[1].shape());
    const std::string got = run_forward(c, true).kernel;
    if (avx2_here() && kernels::winograd_tile(g, avx512_here()) != 0) {
      EXPECT_NE(got.find("winograd"), std::string::npos) << s.name;
    } else if (avx2_here() && kernels::direct_conv_takes(g, avx512_here())) {
      EXPECT_EQ(got, avx512_here() ? "cpu_fused_conv_f32_direct_avx512" : "cpu_fused_conv_f32_direct_avx2") << s.name;
    } else {
      EXPECT_EQ(got, "dnnl_fused_conv_f32") << s.name;
    }
  }
  const Forced forced;  // the rule would take them all: training and the geometry still refuse
  OpCase training = conv_case(kCfgs[3], false, kActs[0], true, false, 8);
  training.training = true;
  EXPECT_EQ(run_forward(training, true).kernel.find("direct"), std::string::npos);
  OpCase dilated = conv_case({"d", {1, 6, 12, 12}, 7, 3, 3, 1, {2, 2, 2, 2}}, false, kActs[0], false, false, 10);
  dilated.attrs.set("dilations", std::vector<int64_t>{2, 2});
  EXPECT_EQ(run_forward(dilated, true).kernel.find("direct"), std::string::npos);
  OpCase grouped = conv_case({"g", {1, 8, 9, 9}, 8, 3, 3, 1, {1, 1, 1, 1}}, false, kActs[0], false, false, 11);
  grouped.inputs[1] = Tensor::full({8, 4, 3, 3}, 0.5f);
  grouped.attrs.set("group", int64_t{2});
  EXPECT_EQ(run_forward(grouped, true).kernel.find("direct"), std::string::npos);
  if (avx2_here()) {  // and with injection, a plain strided conv is taken
    EXPECT_NE(run_forward(conv_case(kCfgs[3], false, kActs[0], true, false, 12), true).kernel.find("direct"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace leancnn::testing
