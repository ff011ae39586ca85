// Workload extraction: Conv/Gemm nodes become loop-nest problems with the model's shapes,
// bit-widths and weight densities; depthwise and fully connected are special cases.
#include <gtest/gtest.h>

#include "leancnn/accel/workload.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::accel {
namespace {

TEST(Workload, ResNet20LayersAndMacs) {
  const ir::Graph g = models::build_model("resnet20", {{3, 32, 32}, 10, 0}, ops::op_table());
  const std::vector<Problem> layers = extract_workload(g, ops::op_table());
  ASSERT_EQ(layers.size(), 22u);  // 19 3x3 convs, 2 projection shortcuts, the classifier
  const Problem& first = layers.front();
  EXPECT_EQ(first.op, "Conv");
  EXPECT_EQ(first.dim(Dim::M), 16);
  EXPECT_EQ(first.dim(Dim::C), 3);
  EXPECT_EQ(first.dim(Dim::P), 32);
  EXPECT_EQ(first.dim(Dim::Q), 32);
  EXPECT_EQ(first.dim(Dim::R), 3);
  EXPECT_EQ(first.dim(Dim::S), 3);
  EXPECT_EQ(first.pad_t, 1);
  EXPECT_EQ(first.bits, (std::array<int, 3>{16, 16, 16}));  // f32 weights at the default precision
  EXPECT_DOUBLE_EQ(first.weight_density, 1.0);
  // Inputs: the padded 34x34 window of 3 channels.
  EXPECT_EQ(first.size(Operand::inputs), 3 * 34 * 34);
  EXPECT_EQ(first.size(Operand::weights), 16 * 3 * 9);
  EXPECT_EQ(first.size(Operand::outputs), 16 * 32 * 32);

  const Problem& fc = layers.back();
  EXPECT_EQ(fc.op, "Gemm");
  EXPECT_EQ(fc.dim(Dim::N), 1);
  EXPECT_EQ(fc.dim(Dim::M), 10);
  EXPECT_EQ(fc.dim(Dim::C), 64);
  EXPECT_EQ(fc.dim(Dim::P) * fc.dim(Dim::Q) * fc.dim(Dim::R) * fc.dim(Dim::S), 1);

  int strided_1x1 = 0;
  for (const Problem& p : layers)
    if (p.dim(Dim::R) == 1 && p.op == "Conv") {
      EXPECT_EQ(p.stride_h, 2);
      // A 1x1 stride-2 conv reads every other row and column: P·Q positions, not (2P-1)².
      EXPECT_EQ(p.size(Operand::inputs), p.dim(Dim::C) * p.dim(Dim::P) * p.dim(Dim::Q));
      ++strided_1x1;
    }
  EXPECT_EQ(strided_1x1, 2);

  // The MACs agree with the IR summary's for every Conv/Gemm.
  const ir::Summary s = ir::summarize(g, ops::op_table());
  int64_t summary_macs = 0, model_macs = 0;
  for (const ir::SummaryRow& r : s.rows)
    if (r.op_type == "Conv" || r.op_type == "Gemm") summary_macs += r.macs;
  for (const Problem& p : layers) model_macs += p.macs();
  EXPECT_EQ(model_macs, summary_macs);
}

TEST(Workload, DepthwiseDensityAndOverrides) {
  ir::Graph g;
  ir::Builder b(g, ops::op_table(), 3);
  ir::ValueId x = b.input("input", {1, 8, 16, 16});
  x = b.conv(x, 8, 3, 2, 1, /*groups=*/8, false, 1, "dw");
  x = b.conv(x, 16, 1, 1, 0, 1, false, 1, "pw");
  b.output(x);
  // Prune half of the pointwise weights.
  const ir::Value& w = g.value(g.find_value("pw.weight"));
  float* data = w.data.data<float>();
  for (int64_t i = 0; i < w.data.numel(); i += 2) data[i] = 0.f;

  WorkloadOptions opts;
  opts.activation_density["pw"] = 0.4;
  opts.weight_bits = 4;
  std::vector<Problem> layers = extract_workload(g, ops::op_table(), opts);
  ASSERT_EQ(layers.size(), 2u);
  const Problem& dw = layers[0];
  EXPECT_EQ(dw.dim(Dim::G), 8);
  EXPECT_EQ(dw.dim(Dim::M), 1);
  EXPECT_EQ(dw.dim(Dim::C), 1);
  EXPECT_EQ(dw.dim(Dim::P), 8);
  EXPECT_EQ(dw.stride_h, 2);
  EXPECT_EQ(dw.macs(), 8 * 8 * 8 * 9);
  EXPECT_EQ(dw.bits[0], 4);
  EXPECT_EQ(dw.bits[1], 16);
  const Problem& pw = layers[1];
  EXPECT_DOUBLE_EQ(pw.weight_density, 0.5);
  EXPECT_DOUBLE_EQ(pw.input_density, 0.4);
  EXPECT_DOUBLE_EQ(dw.input_density, 1.0);
}

TEST(Workload, QuantizedConvTakesItsBitsFromTheModel) {
  // QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp) with u8 activations and
  // s8 weights: 8-bit operands.
  ir::Graph g;
  const ir::ValueId x = g.add_input("x", {1, 4, 6, 6}, DType::u8);
  const ir::ValueId xs = g.add_initializer("xs", Tensor::full({}, 0.1f), false);
  const ir::ValueId xz = g.add_initializer("xz", Tensor::from_ints({}, {0}, DType::u8), false);
  const ir::ValueId w = g.add_initializer("w", Tensor::from_ints({2, 4, 3, 3}, std::vector<int64_t>(72, 1), DType::s8), false);
  const ir::ValueId y = g.add_value("y");
  g.value(y).shape = {1, 2, 4, 4};
  g.value(y).shape_known = true;
  g.add_node("QLinearConv", {x, xs, xz, w, xs, xz, xs, xz}, {y}, {}, "qconv");
  const std::vector<Problem> layers = extract_workload(g, ops::op_table());
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].bits, (std::array<int, 3>{8, 8, 8}));
  EXPECT_EQ(layers[0].dim(Dim::M), 2);
  EXPECT_EQ(layers[0].dim(Dim::P), 4);
}

// A QDQ Conv (the quantization contract): the weights' bits, density and the input's bits are
// read behind DequantizeLinear and UnpackInt4 through the op schemas' storage views.
TEST(Workload, QdqLayersAtTheirStoredWidths) {
  for (const bool packed : {false, true}) {
    ir::Graph g;
    const ir::ValueId x = g.add_input("x", {1, 4, 6, 6});
    const ir::ValueId s = g.add_initializer("s", Tensor::full({}, 0.1f), false);
    const ir::ValueId z = g.add_initializer("z", Tensor::from_ints({}, {0}, DType::u8), false);
    const ir::ValueId xq = g.add_value("xq"), xd = g.add_value("xd"), wd = g.add_value("wd"), y = g.add_value("y");
    g.add_node("QuantizeLinear", {x, s, z}, {xq}, {}, "q");
    g.add_node("DequantizeLinear", {xq, s, z}, {xd}, {}, "dq");
    std::vector<int64_t> codes(72, 3);
    for (int i = 0; i < 18; ++i) codes[i] = 0;  // a quarter of the weights pruned
    ir::ValueId stored;
    if (packed) {
      std::vector<int8_t> c8(codes.begin(), codes.end());
      const std::vector<uint8_t> bytes = ops::pack_int4(c8.data(), 72);
      stored = g.add_initializer("w4", Tensor::from_ints({36}, std::vector<int64_t>(bytes.begin(), bytes.end()), DType::u8), false);
      const ir::ValueId unpacked = g.add_value("w8");
      ir::Attributes a;
      a.set("shape", std::vector<int64_t>{2, 4, 3, 3});
      g.add_node("UnpackInt4", {stored}, {unpacked}, a, "unpack", ir::kLeancnnDomain);
      stored = unpacked;
    } else {
      stored = g.add_initializer("w8", Tensor::from_ints({2, 4, 3, 3}, codes, DType::s8), false);
    }
    const ir::ValueId wz = g.add_initializer("wz", Tensor::from_ints({}, {0}, DType::s8), false);
    g.add_node("DequantizeLinear", {stored, s, wz}, {wd}, {}, "wdq");
    g.add_node("Conv", {xd, wd}, {y}, {}, "conv");
    ir::infer_shapes(g, ops::op_table());
    const std::vector<Problem> layers = extract_workload(g, ops::op_table());
    ASSERT_EQ(layers.size(), 1u);
    const int wb = packed ? 4 : 8;
    EXPECT_EQ(layers[0].bits, (std::array<int, 3>{wb, 8, 8})) << (packed ? "packed" : "s8");
    EXPECT_DOUBLE_EQ(layers[0].weight_density, 0.75);
  }
}

TEST(Workload, ProblemValidationNamesTheField) {
  Problem p;
  p.name = "bad";
  p.weight_density = 0;
  try {
    p.validate();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("weight density"), std::string::npos) << e.what();
  }
  p.weight_density = 1;
  p.dim(Dim::C) = 0;
  EXPECT_THROW(p.validate(), Error);
}

}  // namespace
}  // namespace leancnn::accel
