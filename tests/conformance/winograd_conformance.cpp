// The Winograd kernels (kernels/winograd) against the Conv and FusedConv references: F(2x2,3x3)
// and F(4x4,3x3) forced by injection, each ISA kernel by name (AVX-512 where the CPU and the ISA
// cap have it), over channels that are not multiples of 8 or 16, odd and tiny maps, pads 1, 0 and
// asymmetric, batch 1 and 3; every activation with and without bias and residual Z; unprepared
// (as the executor runs them), prepared (as a plan does: the constants replaced by NaN after
// prepare) and with X, Z and Y channels-last. Tolerance: docs/winograd.md (winograd_tol).
// Without injection the dispatcher follows the measured rule (leancnn/kernels/winograd_rule.h),
// never in training.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "conformance_util.h"
#include "isa_cases.h"
#include "kernel_coverage.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/direct_conv_rule.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/kernels/winograd_rule.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/op_table.h"
#include "prepared_run.h"

namespace leancnn::testing {
namespace {

const auto& kIsas = kFloatIsas;

std::string kernel_name(bool fused, const Isa& isa) {
  return std::string(fused ? "cpu_fused_conv_f32_winograd_" : "cpu_conv_f32_winograd_") + isa.name;
}

// Forces every layer's tile to m for its lifetime.
struct Tile {
  int m;
  explicit Tile(int tile) : m(tile) { kernels::inject_winograd_tile(&m); }
  ~Tile() { kernels::inject_winograd_tile(nullptr); }
};

// The tolerance of docs/winograd.md: fp32_tol(ic * 9) times the measured growth of the
// transforms' rounding error (F(2x2,3x3) x2, F(4x4,3x3) x8), which bounds every case here
// with a margin while an indexing error (O(1) differences) still fails by orders of magnitude.
double winograd_tol(int m, int64_t ic) { return fp32_tol(ic * 9) * (m == 2 ? 2.0 : 8.0); }

struct Cfg {
  const char* name;
  Shape x;
  int64_t oc;
  std::vector<int64_t> pads;
};
const Cfg kCfgs[] = {
    {"3to16_pad1", {1, 3, 28, 28}, 16, {1, 1, 1, 1}},
    {"5to7_odd", {1, 5, 13, 11}, 7, {1, 1, 1, 1}},
    {"17to19_pad0", {1, 17, 9, 12}, 19, {0, 0, 0, 0}},
    {"33to40_asym", {3, 33, 7, 10}, 40, {0, 1, 1, 0}},
    {"8to1_tiny", {1, 8, 1, 1}, 1, {1, 1, 1, 1}},
    {"16to33_3x3", {2, 16, 3, 3}, 33, {0, 0, 0, 0}},
    {"24to24_pad2", {1, 24, 6, 5}, 24, {2, 2, 2, 2}},
    {"64to70_wide", {1, 64, 30, 29}, 70, {1, 1, 1, 1}},
};

struct Act {
  const char* activation;
  std::vector<float> params;
};
const Act kActs[] = {{"", {}}, {"Relu", {}}, {"Clip", {-0.5f, 0.7f}}, {"HardSwish", {}}};

OpCase conv_case(const Cfg& s, bool fused, const Act& a, bool bias, bool residual, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = fused ? "FusedConv" : "Conv";
  c.domain = fused ? ir::kLeancnnDomain : "";
  c.inputs = {random_tensor(s.x, rng), random_tensor({s.oc, s.x[1], 3, 3}, rng),
              bias ? random_tensor({s.oc}, rng) : Tensor()};
  c.attrs.set("pads", s.pads);
  if (fused) {
    c.attrs.set("activation", std::string(a.activation));
    c.attrs.set("activation_params", a.params);
    if (residual) {
      const int64_t oh = s.x[2] + s.pads[0] + s.pads[2] - 2, ow = s.x[3] + s.pads[1] + s.pads[3] - 2;
      c.inputs.push_back(random_tensor({s.x[0], s.oc, oh, ow}, rng));
    }
  }
  return c;
}

// NCHW [n, c, h, w] -> the same values in channels-last order, and back.
Tensor to_nhwc(const Tensor& t, bool back = false) {
  const Shape& s = t.shape();
  Tensor out = Tensor::empty(s);
  const int64_t hw = s[2] * s[3];
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t i = 0; i < hw; ++i) {
        const int64_t nchw = (n * s[1] + c) * hw + i, nhwc = (n * hw + i) * s[1] + c;
        out.data<float>()[back ? nchw : nhwc] = t.data<float>()[back ? nhwc : nchw];
      }
  return out;
}

// As a plan runs the kernel with X, Z and Y channels-last: prepared, then run; Y back in NCHW.
Tensor run_channels_last(const OpCase& c, const std::string& kernel) {
  const ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpTable& ops = ops::op_table();
  const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
  ir::ForwardCtx ctx{n, c.inputs, {Tensor::full(types[0].shape, NAN)}};
  const kernels::Kernel* k = nullptr;
  for (const kernels::Kernel& cand : kernels::kernel_list(ops.get(n)))
    if (cand.name == kernel) k = &cand;
  if (!k || !k->channels_last) throw std::runtime_error(kernel + ": absent or NCHW only");
  uint32_t slots = ir::channels_last_input(0) | ir::channels_last_output(0);
  if (ctx.inputs.size() > 3 && ctx.inputs[3].defined()) slots |= ir::channels_last_input(3);
  EXPECT_EQ(k->channels_last(ctx).slots & slots, slots) << kernel;
  ctx.channels_last = slots;
  const std::shared_ptr<const void> state = k->prepare(ctx);
  ctx.prepared = state.get();
  ctx.inputs[0] = to_nhwc(c.inputs[0]);
  if (ctx.inputs.size() > 3 && ctx.inputs[3].defined()) ctx.inputs[3] = to_nhwc(c.inputs[3]);
  note_kernel(c.op_type, kernel, Coverage::runs);
  k->forward(ctx);
  return to_nhwc(ctx.outputs[0], true);
}

void expect_winograd(const OpCase& c, const std::string& kernel, int m, int64_t ic, const std::string& what) {
  const Tensor ref = run_forward(c, false).outputs[0];
  const double tol = winograd_tol(m, ic);
  expect_close(run_forward_with(c, kernel).outputs[0], ref, tol, what + " unprepared");
  const PreparedForward prepared = run_forward_prepared(c, kernel);
  ASSERT_TRUE(prepared.prepared) << what;
  expect_close(prepared.fwd.outputs[0], ref, tol, what + " prepared");
  expect_close(run_channels_last(c, kernel), ref, tol, what + " channels-last");
}

LEANCNN_COVERS_WHERE("WinogradConformance.Conv*", "Conv", "cpu_conv_f32_winograd_avx512", avx512_here);
LEANCNN_COVERS_WHERE("WinogradConformance.Conv*", "Conv", "cpu_conv_f32_winograd_avx2", avx2_here);
TEST(WinogradConformance, ConvEveryShapeTileAndIsa) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  uint64_t seed = 1;
  for (const Isa& isa : kIsas) {
    if (!isa.here()) continue;
    for (const int m : {2, 4}) {
      const Tile tile(m);
      for (const Cfg& s : kCfgs)
        for (const bool bias : {false, true})
          expect_winograd(conv_case(s, false, kActs[0], bias, false, seed++), kernel_name(false, isa), m, s.x[1],
                          str_cat(isa.name, " F", m, " ", s.name, " bias ", bias));
    }
  }
}

LEANCNN_COVERS_WHERE("WinogradConformance.FusedConv*", "FusedConv", "cpu_fused_conv_f32_winograd_avx512", avx512_here);
LEANCNN_COVERS_WHERE("WinogradConformance.FusedConv*", "FusedConv", "cpu_fused_conv_f32_winograd_avx2", avx2_here);
TEST(WinogradConformance, FusedConvEveryActivationBiasAndResidual) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  uint64_t seed = 500;
  for (const Isa& isa : kIsas) {
    if (!isa.here()) continue;
    for (const int m : {2, 4}) {
      const Tile tile(m);
      for (const Cfg& s : kCfgs)
        for (const Act& a : kActs)
          for (const int epi : {0, 1, 2, 3})
            expect_winograd(conv_case(s, true, a, epi & 1, epi & 2, seed++), kernel_name(true, isa), m, s.x[1],
                            str_cat(isa.name, " F", m, " ", s.name, " act '", a.activation, "' epilogue ", epi));
    }
  }
}

// A plan may put Y over the residual Z's storage (Z dies at this node): Z is read before Y is
// written, element by element, in every layout.
TEST(WinogradConformance, FusedConvOutputOverResidual) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const Tile tile(4);
  const Cfg s{"in_place", {1, 12, 11, 9}, 12, {1, 1, 1, 1}};
  for (const Isa& isa : kIsas) {
    if (!isa.here()) continue;
    const OpCase c = conv_case(s, true, kActs[1], true, true, 77);
    PrepareOptions opt;
    opt.output_over_input = 3;
    opt.runs = 2;
    const PreparedForward r = run_forward_prepared(c, kernel_name(true, isa), opt);
    expect_close(r.fwd.outputs[0], run_forward(c, false).outputs[0], winograd_tol(4, 12), str_cat(isa.name, " Y over Z"));
  }
}

// Without injection: Winograd exactly where the rule says (the AVX-512 kernel first, but for
// layers of 8 channels, which AVX2's kernel takes), the direct kernel or oneDNN elsewhere; never in training, on
// strided, dilated, grouped or non-3x3 convolutions.
TEST(WinogradConformance, DispatchFollowsTheRule) {
  const Cfg shapes[] = {{"r18_64@56", {1, 64, 56, 56}, 64, {1, 1, 1, 1}},
                        {"r18_512@7", {1, 512, 7, 7}, 512, {1, 1, 1, 1}},
                        {"r20_16@28", {1, 16, 28, 28}, 16, {1, 1, 1, 1}},
                        {"pruned_8@28", {1, 16, 28, 28}, 8, {1, 1, 1, 1}},
                        {"small", {1, 5, 13, 11}, 7, {1, 1, 1, 1}}};
  uint64_t seed = 900;
  for (const Cfg& s : shapes) {
    const OpCase c = conv_case(s, true, kActs[1], true, false, seed++);
    const ops::ConvGeometry g = ops::conv_geometry(single_node_graph(c).node(0), s.x, c.inputs[1].shape());
    std::string expected = "dnnl_fused_conv_f32";
    if (avx2_here() && kernels::winograd_tile(g, avx512_here()) != 0)
      expected = avx512_here() && kernels::winograd_wide_vectors(g) ? "cpu_fused_conv_f32_winograd_avx512"
                                                                     : "cpu_fused_conv_f32_winograd_avx2";
    else if (avx2_here() && kernels::direct_conv_takes(g, avx512_here()))  // next in the list (its own test)
      expected = avx512_here() ? "cpu_fused_conv_f32_direct_avx512" : "cpu_fused_conv_f32_direct_avx2";
    EXPECT_EQ(run_forward(c, true).kernel, expected) << s.name;
  }
  const Tile tile(4);  // the rule would take them all: the geometry still refuses
  OpCase training = conv_case(kCfgs[1], false, kActs[0], true, false, 8);
  training.training = true;
  EXPECT_EQ(run_forward(training, true).kernel.find("winograd"), std::string::npos);
  OpCase strided = conv_case(kCfgs[1], false, kActs[0], true, false, 9);
  strided.attrs.set("strides", std::vector<int64_t>{2, 2});
  EXPECT_EQ(run_forward(strided, true).kernel.find("winograd"), std::string::npos);
  OpCase dilated = conv_case({"d", {1, 6, 12, 12}, 7, {2, 2, 2, 2}}, false, kActs[0], false, false, 10);
  dilated.attrs.set("dilations", std::vector<int64_t>{2, 2});
  EXPECT_EQ(run_forward(dilated, true).kernel.find("winograd"), std::string::npos);
  OpCase grouped = conv_case({"g", {1, 8, 9, 9}, 8, {1, 1, 1, 1}}, false, kActs[0], false, false, 11);
  grouped.inputs[1] = Tensor::full({8, 4, 3, 3}, 0.5f);
  grouped.attrs.set("group", int64_t{2});
  EXPECT_EQ(run_forward(grouped, true).kernel.find("winograd"), std::string::npos);
  if (avx2_here()) {  // and with injection, a plain 3x3 is taken
    EXPECT_NE(run_forward(conv_case(kCfgs[1], false, kActs[0], true, false, 12), true).kernel.find("winograd"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace leancnn::testing
