// Int8 convolution: every fast kernel of QLinearFusedConv / QLinearConv (oneDNN's u8 x s8, the
// s16 AVX2 kernel) against the integer reference, bit for bit, over 1x1, 3x3, 7x7, stride 2,
// asymmetric pads, dilation, groups, depthwise, odd channel counts, batch 1 and 2, per-tensor and
// per-channel scales, zero points 0 and not, u8 and s8 outputs, no activation / Relu / Clip,
// with and without bias, ties of the rounding, the s16 kernel's K chunks and row blocks;
// unprepared and prepared. Plus the dispatch rule (no VNNI, wide weights, no AVX2), which each
// run asserts for this CPU (natively and under LEANCNN_MAX_CPU_ISA=avx2).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "int8_conformance.h"
#include "kernel_coverage.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/int8_exactness.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/qlinear.h"

namespace leancnn::testing {
namespace {

constexpr const char* kDnnl = "dnnl_qconv_u8s8";
constexpr const char* kS16 = "cpu_qconv_s16_avx2";

struct ShapeCfg {
  const char* name;
  Shape x, w;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group;
};

const std::vector<ShapeCfg>& shapes() {
  static const std::vector<ShapeCfg> s = {
      {"1x1", {1, 16, 7, 9}, {24, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
      {"1x1_odd", {2, 5, 6, 5}, {3, 5, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
      {"3x3_pad", {1, 16, 10, 11}, {32, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
      {"3x3_s2_asym", {2, 7, 13, 12}, {9, 7, 3, 3}, {2, 2}, {1, 0, 2, 1}, {1, 1}, 1},
      {"7x7_s2_stem", {1, 3, 23, 23}, {16, 3, 7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1},
      {"3x3_dil2", {1, 8, 12, 12}, {8, 8, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1},
      {"groups2", {1, 8, 9, 9}, {12, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2},
      {"depthwise", {2, 32, 9, 8}, {32, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 32},
      {"depthwise_s2", {1, 17, 11, 11}, {17, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 17},
      {"wide_k", {1, 64, 5, 5}, {20, 64, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
      // The s16 kernel's blocking: K over several 512-value chunks, rows over several blocks,
      // a partial last panel of output channels.
      {"k_chunks", {1, 130, 4, 5}, {18, 130, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
      {"row_blocks", {1, 8, 30, 33}, {40, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
  };
  return s;
}

struct QCfg {
  bool per_channel;
  int x_zp, y_zp;
  DType y_dtype;
  const char* activation;  // "", "Relu", "Clip"
  bool bias;
};

// A case whose outputs spread over the whole output range (so clamping and both signs occur).
OpCase qconv_case(const ShapeCfg& s, const QCfg& q, uint64_t seed, const char* op = "QLinearFusedConv") {
  Rng rng(seed);
  OpCase c;
  c.op_type = op;
  c.domain = std::string(op) == "QLinearConv" ? "" : ir::kLeancnnDomain;
  const int64_t oc = s.w[0], k = s.w[1] * s.w[2] * s.w[3];
  const float xs = 0.02f;
  Tensor ws = Tensor::empty({q.per_channel ? oc : 1});
  rng.fill_uniform(ws, 0.004f, 0.012f);
  const float ys = xs * 0.008f * std::sqrt(static_cast<float>(k)) * 74.f * 73.f / 60.f;
  const int ylo = q.y_dtype == DType::u8 ? 0 : -128, yhi = q.y_dtype == DType::u8 ? 255 : 127;
  c.inputs = {random_ints(s.x, DType::u8, rng, 0, 255),
              scalar_f(xs),
              Tensor::from_ints({}, {q.x_zp}, DType::u8),
              random_ints(s.w, DType::s8, rng, -127, 127),
              ws,
              Tensor::zeros({ws.numel()}, DType::s8),
              scalar_f(ys),
              Tensor::from_ints({}, {std::clamp(q.y_zp, ylo, yhi)}, q.y_dtype)};
  if (q.bias) c.inputs.push_back(random_ints({oc}, DType::s32, rng, -20000, 20000));
  c.attrs.set("strides", s.strides);
  c.attrs.set("pads", s.pads);
  c.attrs.set("dilations", s.dilations);
  c.attrs.set("group", s.group);
  if (std::string(op) != "QLinearConv" && *q.activation) {
    c.attrs.set("activation", std::string(q.activation));
    if (std::string(q.activation) == "Clip") c.attrs.set("activation_params", std::vector<float>{-30.f * ys, 40.f * ys});
  }
  return c;
}

void check_case(const OpCase& c, const std::string& what) {
  const Tensor y = check_int8_kernels(c, kDnnl, kS16, what);
  // The case must exercise the requantization: many distinct output values, not all clamped.
  std::set<int> distinct;
  for (int64_t i = 0; i < y.numel(); ++i) distinct.insert(y.dtype() == DType::u8 ? y.data<uint8_t>()[i] : y.data<int8_t>()[i]);
  EXPECT_GE(distinct.size(), std::min<size_t>(12, y.numel() / 8)) << what << ": outputs barely vary";
}

// The cases' weights use all 8 bits: oneDNN takes them where its pair sums cannot saturate.
LEANCNN_COVERS_WHERE("QConvConformance.EveryShapeAndQuantizationBitExact", "QLinearFusedConv", kDnnl,
                     int8_dnnl_takes_8bit_weights_here);
LEANCNN_COVERS_WHERE("QConvConformance.EveryShapeAndQuantizationBitExact", "QLinearFusedConv", kS16,
                     int8_s16_kernels_run_here);
TEST(QConvConformance, EveryShapeAndQuantizationBitExact) {
  const std::vector<QCfg> qs = {
      {false, 0, 0, DType::u8, "", true},        {true, 131, 77, DType::u8, "", true},
      {true, 128, 0, DType::u8, "Relu", true},   {true, 120, 100, DType::u8, "Clip", false},
      {false, 250, -5, DType::s8, "", false},    {true, 17, 10, DType::s8, "Relu", true},
  };
  uint64_t seed = 1;
  for (const ShapeCfg& s : shapes())
    for (size_t i = 0; i < qs.size(); ++i) {
      const QCfg& q = qs[i];
      check_case(qconv_case(s, q, seed++),
                 str_cat(s.name, " per_channel=", q.per_channel, " x_zp=", q.x_zp, " y_zp=", q.y_zp, " ",
                         dtype_name(q.y_dtype), " act='", q.activation, "' bias=", q.bias));
    }
}

LEANCNN_COVERS_WHERE("QConvConformance.OnnxQLinearConvBitExact", "QLinearConv", kDnnl, int8_dnnl_takes_8bit_weights_here);
LEANCNN_COVERS_WHERE("QConvConformance.OnnxQLinearConvBitExact", "QLinearConv", kS16, int8_s16_kernels_run_here);
TEST(QConvConformance, OnnxQLinearConvBitExact) {
  uint64_t seed = 100;
  for (const ShapeCfg& s : shapes()) check_case(qconv_case(s, {true, 100, 128, DType::u8, "", true}, seed++, "QLinearConv"), s.name);
}

// A multiplier of 0.5 on small odd and even accumulators puts half the results exactly on .5:
// both sides must round half to even.
TEST(QConvConformance, RoundingTiesHalfToEven) {
  OpCase c = qconv_case(shapes()[0], {false, 128, 128, DType::u8, "", true}, 7);
  Rng rng(8);
  c.inputs[ops::kQX] = random_ints(c.inputs[ops::kQX].shape(), DType::u8, rng, 120, 136);
  c.inputs[ops::kQW] = random_ints(c.inputs[ops::kQW].shape(), DType::s8, rng, -1, 1);
  c.inputs[ops::kQBias] = random_ints({c.inputs[ops::kQW].dim(0)}, DType::s32, rng, -3, 3);
  c.inputs[ops::kQXScale] = scalar_f(0.5f);
  c.inputs[ops::kQWScale] = Tensor::from_floats({1}, {0.5f});
  c.inputs[ops::kQYScale] = scalar_f(0.5f);  // multiplier 0.5
  check_case(c, "ties");
  // Count the ties: odd accumulators. Computed again in float64 from the definition.
  const Tensor& x = c.inputs[ops::kQX];
  const Tensor& w = c.inputs[ops::kQW];
  const int64_t ic = w.dim(1), oc = w.dim(0), hw = x.dim(2) * x.dim(3);
  int64_t ties = 0;
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t p = 0; p < hw; ++p) {
      int64_t acc = c.inputs[ops::kQBias].data<int32_t>()[o];
      for (int64_t i = 0; i < ic; ++i) acc += (x.data<uint8_t>()[i * hw + p] - 128) * w.data<int8_t>()[o * ic + i];
      ties += acc % 2 != 0;
    }
  EXPECT_GT(ties, oc * hw / 4) << "the case must hold many ties";
}

// The dispatch on a CPU without VNNI (injected): oneDNN keeps 7-bit weights, the s16 kernel takes
// wider ones (oneDNN's refusal logged), and without AVX2 either the exact reference runs.
// With the CPU injected as AVX2 without VNNI, both kernels run (under any cap, on AVX2 CPUs).
LEANCNN_COVERS_WHERE("QConvConformance.WithoutVnniWideWeightsRunOnTheS16Kernel", "QLinearFusedConv", kDnnl,
                     int8_s16_kernels_run_here);
LEANCNN_COVERS_WHERE("QConvConformance.WithoutVnniWideWeightsRunOnTheS16Kernel", "QLinearFusedConv", kS16,
                     int8_s16_kernels_run_here);
TEST(QConvConformance, WithoutVnniWideWeightsRunOnTheS16Kernel) {
  CpuFeatures no_vnni;
  no_vnni.sse42 = no_vnni.avx2 = no_vnni.fma = no_vnni.avx512f = no_vnni.avx512bw = true;
  EXPECT_EQ(kernels::int8_pair_sum_refusal(no_vnni, 64), "");
  EXPECT_NE(kernels::int8_pair_sum_refusal(no_vnni, 65), "");
  CpuFeatures vnni = no_vnni;
  vnni.avx512vnni = true;
  EXPECT_EQ(kernels::int8_pair_sum_refusal(vnni, 127), "");
  CpuFeatures avx_vnni = no_vnni;
  avx_vnni.avx_vnni = true;
  EXPECT_EQ(kernels::int8_pair_sum_refusal(avx_vnni, 128), "");
  CpuFeatures sse_only;
  sse_only.sse42 = true;

  OpCase wide = qconv_case(shapes()[2], {true, 128, 128, DType::u8, "Relu", true}, 9);
  OpCase narrow = wide;
  {
    Rng rng(4);
    narrow.inputs[ops::kQW] = random_ints(wide.inputs[ops::kQW].shape(), DType::s8, rng, -64, 64);
  }
  const Tensor want_wide = run_forward(wide, false).outputs[0], want_narrow = run_forward(narrow, false).outputs[0];
  KernelForward wide_run, narrow_run, old_cpu_run;
  std::string log;
  try {
    kernels::inject_int8_cpu_features(&no_vnni);
    log = dispatch_log_of([&] { wide_run = run_forward(wide, true); });
    narrow_run = run_forward(narrow, true);
    kernels::inject_int8_cpu_features(&sse_only);
    old_cpu_run = run_forward(wide, true);
  } catch (...) {
    kernels::inject_int8_cpu_features(nullptr);
    throw;
  }
  kernels::inject_int8_cpu_features(nullptr);
  EXPECT_EQ(wide_run.kernel, kS16);
  EXPECT_NE(log.find("exceed 7 bits"), std::string::npos) << log;
  expect_identical(wide_run.outputs[0], want_wide, "8-bit weights without VNNI");
  EXPECT_EQ(narrow_run.kernel, kDnnl);
  expect_identical(narrow_run.outputs[0], want_narrow, "7-bit weights without VNNI");
  EXPECT_EQ(old_cpu_run.kernel, "reference");
  // Back on this machine's features (under any LEANCNN_MAX_CPU_ISA cap) the rule still holds.
  EXPECT_EQ(run_forward(wide, true).kernel, expected_int8_kernel(wide, kDnnl, kS16));
}

// What oneDNN's kernel does not take (asymmetric or u8 weights, s8 activations) the s16 kernel
// runs exactly.
LEANCNN_COVERS_WHERE("QConvConformance.AsymmetricWeightsAndS8ActivationsRunOnTheS16Kernel", "QLinearFusedConv", kS16,
                     int8_s16_kernels_run_here);
TEST(QConvConformance, AsymmetricWeightsAndS8ActivationsRunOnTheS16Kernel) {
  OpCase asym = qconv_case(shapes()[2], {true, 0, 0, DType::u8, "", true}, 11);
  Rng rng(1);
  asym.inputs[ops::kQWZp] = random_ints(asym.inputs[ops::kQWZp].shape(), DType::s8, rng, -9, 9);
  EXPECT_FALSE(kernel_accepts(asym, kDnnl));
  check_case(asym, "asymmetric s8 weights");
  OpCase s8x = qconv_case(shapes()[3], {false, 0, 3, DType::u8, "", false}, 12);
  s8x.inputs[ops::kQX] = random_ints(s8x.inputs[ops::kQX].shape(), DType::s8, rng, -128, 127);
  s8x.inputs[ops::kQXZp] = Tensor::from_ints({}, {-7}, DType::s8);
  EXPECT_FALSE(kernel_accepts(s8x, kDnnl));
  check_case(s8x, "s8 activations");
  OpCase u8w = qconv_case(shapes()[7], {true, 100, 50, DType::u8, "Relu", true}, 13);
  u8w.inputs[ops::kQW] = random_ints(u8w.inputs[ops::kQW].shape(), DType::u8, rng, 0, 255);
  u8w.inputs[ops::kQWZp] = random_ints(u8w.inputs[ops::kQWZp].shape(), DType::u8, rng, 100, 150);
  EXPECT_FALSE(kernel_accepts(u8w, kDnnl));
  check_case(u8w, "u8 weights with zero points (depthwise)");
}

}  // namespace
}  // namespace leancnn::testing
