// ai.leancnn FusedInvertedResidual: its reference against the three convolutions it stands for
// (FusedConv references chained), and the row-pass kernels (kernels/inverted_residual) against
// the reference over channels that are not multiples of 8 or 16, with and without the expansion,
// 3x3, 5x5, 7x7 and 3x5 depthwise windows (3x3 and 5x5 at strides 1 and 2), strides 1 and 2 (and 1x2), symmetric, zero and
// asymmetric pads, tiny maps, batch 1 and 3, every activation per stage, with and without biases
// and the residual Z; unprepared (as the executor runs them), prepared (as a plan does: the
// weights replaced by NaN after prepare), with X, Z and Y channels-last, and on 1 and 2 threads
// (each thread starts its own ring of rows).
#include <gtest/gtest.h>

#include <string>

#include "conformance_util.h"
#include "isa_cases.h"
#include "kernel_coverage.h"
#include "layout_util.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/fused_inverted_residual.h"
#include "prepared_run.h"

namespace leancnn::testing {
namespace {

const auto& kIsas = kFloatIsas;

struct Cfg {
  const char* name;
  Shape x;      // N, C, H, W
  int64_t m;    // expanded channels; 0: no expansion (the depthwise reads X)
  int64_t oc;
  std::vector<int64_t> kernel, strides, pads;
};
const Cfg kCfgs[] = {
    {"mnv2_block1_s2", {1, 16, 20, 20}, 96, 24, {3, 3}, {2, 2}, {1, 1, 1, 1}},
    {"mnv2_block2_s1", {1, 24, 14, 13}, 144, 24, {3, 3}, {1, 1}, {1, 1, 1, 1}},
    {"no_expand", {1, 32, 11, 12}, 0, 16, {3, 3}, {1, 1}, {1, 1, 1, 1}},
    {"odd_5to37to19", {3, 5, 9, 7}, 37, 19, {3, 3}, {1, 1}, {1, 1, 1, 1}},
    {"k5_s2_odd", {1, 7, 13, 11}, 21, 9, {5, 5}, {2, 2}, {2, 2, 2, 2}},
    {"k5_s1", {1, 9, 10, 13}, 27, 11, {5, 5}, {1, 1}, {2, 2, 2, 2}},
    {"k7_pad3", {2, 8, 9, 10}, 40, 33, {7, 7}, {1, 1}, {3, 3, 3, 3}},
    {"k3x5_s1x2_asym", {1, 6, 8, 15}, 18, 70, {3, 5}, {1, 2}, {0, 2, 1, 1}},
    {"pad0", {1, 12, 6, 6}, 48, 12, {3, 3}, {1, 1}, {0, 0, 0, 0}},
    {"tiny_1x1", {1, 16, 1, 1}, 32, 17, {3, 3}, {1, 1}, {1, 1, 1, 1}},
    {"no_expand_odd_s2", {2, 13, 7, 9}, 0, 5, {3, 3}, {2, 2}, {1, 1, 1, 1}},
};

struct Act {
  const char* activation;
  std::vector<float> params;
};
const Act kActs[] = {{"", {}}, {"Relu", {}}, {"Clip", {0.f, 6.f}}, {"HardSwish", {}}, {"Clip", {-0.5f, 0.7f}}};

Shape output_shape(const Cfg& s) {
  const int64_t oh = (s.x[2] + s.pads[0] + s.pads[2] - s.kernel[0]) / s.strides[0] + 1;
  const int64_t ow = (s.x[3] + s.pads[1] + s.pads[3] - s.kernel[1]) / s.strides[1] + 1;
  return {s.x[0], s.oc, oh, ow};
}

int64_t dw_channels(const Cfg& s) { return s.m ? s.m : s.x[1]; }

// Stage activations: expansion, depthwise, output. biases: bit 0 Be, 1 Bd, 2 Bp.
OpCase block_case(const Cfg& s, const Act& ea, const Act& da, const Act& oa, int biases, bool residual,
                  uint64_t seed) {
  Rng rng(seed);
  const int64_t m = dw_channels(s);
  OpCase c;
  c.op_type = "FusedInvertedResidual";
  c.domain = ir::kLeancnnDomain;
  c.inputs.resize(ops::kIrSlots);
  c.inputs[ops::kIrX] = random_tensor(s.x, rng);
  if (s.m) {
    c.inputs[ops::kIrWe] = random_tensor({m, s.x[1], 1, 1}, rng, -0.5f, 0.5f);
    if (biases & 1) c.inputs[ops::kIrBe] = random_tensor({m}, rng);
  }
  c.inputs[ops::kIrWd] = random_tensor({m, 1, s.kernel[0], s.kernel[1]}, rng, -0.5f, 0.5f);
  if (biases & 2) c.inputs[ops::kIrBd] = random_tensor({m}, rng);
  c.inputs[ops::kIrWp] = random_tensor({s.oc, m, 1, 1}, rng, -0.5f, 0.5f);
  if (biases & 4) c.inputs[ops::kIrBp] = random_tensor({s.oc}, rng);
  if (residual) c.inputs[ops::kIrZ] = random_tensor(output_shape(s), rng);
  else c.inputs.resize(ops::kIrZ);
  c.attrs.set("kernel_shape", s.kernel);
  c.attrs.set("strides", s.strides);
  c.attrs.set("pads", s.pads);
  c.attrs.set("group", m);
  for (const auto& [prefix, a] : {std::pair{"expand_", &ea}, std::pair{"dw_", &da}, std::pair{"", &oa}}) {
    c.attrs.set(std::string(prefix) + "activation", std::string(a->activation));
    c.attrs.set(std::string(prefix) + "activation_params", a->params);
  }
  return c;
}

// Three stages of sums: the expansion over c, the depthwise over its taps, the projection over m.
double block_tol(const Cfg& s) { return 4 * fp32_tol(s.x[1] + s.kernel[0] * s.kernel[1] + dw_channels(s)); }

OpCase fused_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& z, const Act& a) {
  OpCase c;
  c.op_type = "FusedConv";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {x, w, b};
  if (z.defined()) c.inputs.push_back(z);
  c.attrs.set("activation", std::string(a.activation));
  c.attrs.set("activation_params", a.params);
  return c;
}

// The oracle itself: the reference equals FusedConv's reference run three times.
TEST(InvertedResidualConformance, ReferenceIsTheThreeConvolutions) {
  uint64_t seed = 1;
  for (const Cfg& s : kCfgs) {
    const OpCase c = block_case(s, kActs[2], kActs[3], kActs[1], 7, true, seed++);
    const Tensor ref = run_reference(c).outputs[0];
    Tensor e = c.inputs[ops::kIrX];
    if (s.m) e = run_reference(fused_conv(e, c.inputs[ops::kIrWe], c.inputs[ops::kIrBe], Tensor(), kActs[2])).outputs[0];
    OpCase dw = fused_conv(e, c.inputs[ops::kIrWd], c.inputs[ops::kIrBd], Tensor(), kActs[3]);
    dw.attrs.set("kernel_shape", s.kernel);
    dw.attrs.set("strides", s.strides);
    dw.attrs.set("pads", s.pads);
    dw.attrs.set("group", dw_channels(s));
    const Tensor d = run_reference(dw).outputs[0];
    const Tensor y = run_reference(fused_conv(d, c.inputs[ops::kIrWp], c.inputs[ops::kIrBp], c.inputs[ops::kIrZ],
                                              kActs[1]))
                         .outputs[0];
    expect_close(ref, y, block_tol(s), s.name);
  }
}

TEST(InvertedResidualConformance, BadShapesAreRefused) {
  const Cfg& s = kCfgs[0];
  OpCase c = block_case(s, kActs[0], kActs[0], kActs[0], 7, false, 3);
  c.attrs.set("group", int64_t{1});
  EXPECT_THROW(run_reference(c), Error);
  c = block_case(s, kActs[0], kActs[0], kActs[0], 7, false, 3);
  c.inputs[ops::kIrWp] = Tensor::zeros({s.oc, s.m + 1, 1, 1});
  EXPECT_THROW(run_reference(c), Error);
  c = block_case(s, kActs[0], kActs[0], kActs[0], 7, true, 3);
  c.inputs[ops::kIrZ] = Tensor::zeros({1, s.oc, 3, 3});
  EXPECT_THROW(run_reference(c), Error);
  c = block_case(s, kActs[0], kActs[0], {"Clip", {0.f}}, 7, false, 3);
  EXPECT_THROW(run_reference(c), Error);
}

std::string kernel_name(const Isa& isa) { return std::string("cpu_fused_inverted_residual_f32_") + isa.name; }
constexpr const char* kDnnl = "dnnl_fused_inverted_residual_f32";


void expect_block(const OpCase& c, const Cfg& s, const std::string& kernel, const std::string& what) {
  const Tensor ref = run_forward(c, false).outputs[0];
  const double tol = block_tol(s);
  expect_close(run_forward_with(c, kernel).outputs[0], ref, tol, what + " unprepared");
  PrepareOptions opt;
  opt.constant = {ops::kIrWe, ops::kIrBe, ops::kIrWd, ops::kIrBd, ops::kIrWp, ops::kIrBp};
  opt.runs = 2;
  const PreparedForward prepared = run_forward_prepared(c, kernel, opt);
  ASSERT_TRUE(prepared.prepared) << what;
  expect_close(prepared.fwd.outputs[0], ref, tol, what + " prepared");
  uint32_t bits = ir::channels_last_input(ops::kIrX) | ir::channels_last_output(0);
  if (c.inputs.size() > ops::kIrZ && c.inputs[ops::kIrZ].defined()) bits |= ir::channels_last_input(ops::kIrZ);
  expect_close(run_with_layouts(c, kernel, bits), ref, tol, what + " channels-last");
}

LEANCNN_COVERS_WHERE("InvertedResidualConformance.Kernel*", "FusedInvertedResidual",
                     "cpu_fused_inverted_residual_f32_avx512", avx512_here);
LEANCNN_COVERS_WHERE("InvertedResidualConformance.Kernel*", "FusedInvertedResidual",
                     "cpu_fused_inverted_residual_f32_avx2", avx2_here);
TEST(InvertedResidualConformance, KernelEveryShapeAndIsa) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  uint64_t seed = 100;
  for (const Isa& isa : kIsas) {
    if (!isa.here()) continue;
    for (const int threads : {1, 2}) {
      const ThreadScope scope(threads);
      for (const Cfg& s : kCfgs)
        for (const int epi : {0, 7})
          for (const bool residual : {false, true})
            expect_block(block_case(s, kActs[2], kActs[2], kActs[0], epi, residual, seed++), s, kernel_name(isa),
                         str_cat(isa.name, " ", threads, " threads ", s.name, " biases ", epi, " residual ", residual));
    }
  }
}

TEST(InvertedResidualConformance, KernelEveryActivationPerStage) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  uint64_t seed = 700;
  for (const Isa& isa : kIsas) {
    if (!isa.here()) continue;
    for (const Cfg* s : {&kCfgs[3], &kCfgs[2]})
      for (const Act& ea : kActs)
        for (const Act& da : kActs)
          for (const Act& oa : {kActs[0], kActs[1], kActs[3], kActs[4]})
            expect_block(block_case(*s, ea, da, oa, 7, true, seed++), *s, kernel_name(isa),
                         str_cat(isa.name, " ", s->name, " acts '", ea.activation, "' '", da.activation, "' '",
                                 oa.activation, "'"));
  }
}

// A plan may put Y over the residual Z's storage: Z is read before Y is written, element by element.
TEST(InvertedResidualConformance, KernelOutputOverResidual) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 + FMA here";
  const Cfg& s = kCfgs[1];
  for (const Isa& isa : kIsas) {
    if (!isa.here()) continue;
    const OpCase c = block_case(s, kActs[2], kActs[2], kActs[0], 7, true, 77);
    PrepareOptions opt;
    opt.constant = {ops::kIrWe, ops::kIrBe, ops::kIrWd, ops::kIrBd, ops::kIrWp, ops::kIrBp};
    opt.output_over_input = ops::kIrZ;
    opt.runs = 2;
    const PreparedForward r = run_forward_prepared(c, kernel_name(isa), opt);
    expect_close(r.fwd.outputs[0], run_forward(c, false).outputs[0], block_tol(s), str_cat(isa.name, " Y over Z"));
  }
}

// The three oneDNN convolutions: every shape, activation and epilogue, dilated windows too.
LEANCNN_COVERS("InvertedResidualConformance.Dnnl*", "FusedInvertedResidual", "dnnl_fused_inverted_residual_f32");
TEST(InvertedResidualConformance, DnnlEveryShapeAndEpilogue) {
  uint64_t seed = 300;
  for (const Cfg& s : kCfgs)
    for (const int epi : {0, 7})
      for (const bool residual : {false, true})
        expect_block(block_case(s, kActs[2], kActs[3], kActs[4], epi, residual, seed++), s, kDnnl,
                     str_cat("dnnl ", s.name, " biases ", epi, " residual ", residual));
  Cfg dilated = kCfgs[3];
  dilated.pads = {2, 2, 2, 2};
  OpCase c = block_case(dilated, kActs[1], kActs[2], kActs[0], 7, false, 5);
  c.attrs.set("dilations", std::vector<int64_t>{2, 2});
  expect_close(run_forward_with(c, kDnnl).outputs[0], run_reference(c).outputs[0], block_tol(dilated), "dilated");
}

// The row pass (AVX-512 first) at every batch; oneDNN's three convolutions for dilated windows,
// windows taller than the ring's 16 rows and CPUs without AVX2; never in training.
TEST(InvertedResidualConformance, DispatchFollowsTheGeometry) {
  const std::string row_pass = avx512_here() ? kernel_name(kIsas[0]) : avx2_here() ? kernel_name(kIsas[1]) : kDnnl;
  Cfg s = kCfgs[1];
  EXPECT_EQ(run_forward(block_case(s, kActs[2], kActs[2], kActs[0], 7, true, 1), true).kernel, row_pass);
  s.x[0] = 2;
  EXPECT_EQ(run_forward(block_case(s, kActs[2], kActs[2], kActs[0], 7, true, 2), true).kernel, row_pass);
  Cfg d = kCfgs[3];  // batch 3
  d.pads = {2, 2, 2, 2};
  OpCase c = block_case(d, kActs[0], kActs[0], kActs[0], 7, false, 5);
  c.attrs.set("dilations", std::vector<int64_t>{2, 2});
  EXPECT_EQ(run_forward(c, true).kernel, kDnnl);
  Cfg tall = kCfgs[3];
  tall.x = {2, 5, 20, 7};
  tall.kernel = {17, 3};
  tall.pads = {8, 1, 8, 1};
  c = block_case(tall, kActs[0], kActs[0], kActs[0], 7, false, 6);
  EXPECT_EQ(run_forward(c, true).kernel, kDnnl);
  OpCase training = block_case(kCfgs[3], kActs[0], kActs[0], kActs[0], 7, false, 7);
  training.training = true;
  EXPECT_EQ(run_forward(training, true).kernel, "reference");
}

}  // namespace
}  // namespace leancnn::testing
