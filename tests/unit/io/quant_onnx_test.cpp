// ONNX round trip of quantized graphs: QuantizeLinear / DequantizeLinear (per tensor and per
// axis), u8 / s8 / s32 initializers, ai.leancnn UnpackInt4 and the integer ops survive
// save_onnx + load_onnx with the same values, pass libonnx's checker, and compute the same.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "leancnn/io/onnx.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/quant_math.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"
#include "op_harness.h"

namespace leancnn::io {
namespace {

const ir::OpTable& ops() { return leancnn::ops::op_table(); }

// x f32 [1,2,5,5] -> Q -> DQ -> Conv(DQ(W s8 per-channel), DQ(B s32)) -> Relu -> Q -> DQ
//   -> Conv(DQ(UnpackInt4(W4 packed), per-tensor)) -> y
ir::Graph qdq_graph() {
  ir::Graph g;
  Rng rng(3);
  const ir::ValueId x = g.add_input("x", {1, 2, 5, 5});
  auto init = [&](const std::string& n, Tensor t) { return g.add_initializer(n, std::move(t), false); };
  auto node = [&](const std::string& op, std::vector<ir::ValueId> in, const std::string& out, ir::Attributes a = {},
                  const std::string& domain = "") {
    const ir::ValueId v = g.add_value(out);
    g.add_node(op, in, {v}, std::move(a), out + "_node", domain);
    return v;
  };
  const ir::ValueId xs = init("xs", Tensor::from_floats({}, {0.01f})), xz = init("xz", Tensor::from_ints({}, {128}, DType::u8));
  const ir::ValueId xq = node("QuantizeLinear", {x, xs, xz}, "xq");
  const ir::ValueId xd = node("DequantizeLinear", {xq, xs, xz}, "xd");
  std::vector<int64_t> w(3 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int64_t>(i * 37 % 255) - 127;
  ir::Attributes axis0;
  axis0.set("axis", int64_t{0});
  const ir::ValueId wd = node("DequantizeLinear",
                              {init("w", Tensor::from_ints({3, 2, 3, 3}, w, DType::s8)),
                               init("ws", Tensor::from_floats({3}, {0.01f, 0.02f, 0.005f})),
                               init("wz", Tensor::zeros({3}, DType::s8))},
                              "wd", axis0);
  const ir::ValueId bd = node("DequantizeLinear",
                              {init("b", Tensor::from_ints({3}, {100, -2000, 70000}, DType::s32)),
                               init("bs", Tensor::from_floats({3}, {1e-4f, 2e-4f, 5e-5f}))},
                              "bd", axis0);
  ir::Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const ir::ValueId c1 = node("Conv", {xd, wd, bd}, "c1", pads);
  const ir::ValueId r1 = node("Relu", {c1}, "r1");
  const ir::ValueId ys = init("ys", Tensor::from_floats({}, {0.05f})), yz = init("yz", Tensor::from_ints({}, {0}, DType::u8));
  const ir::ValueId yd = node("DequantizeLinear", {node("QuantizeLinear", {r1, ys, yz}, "yq"), ys, yz}, "yd");
  std::vector<int8_t> w4(4 * 3);
  for (size_t i = 0; i < w4.size(); ++i) w4[i] = static_cast<int8_t>(static_cast<int>(i % 15) - 7);
  const std::vector<uint8_t> packed = ops::pack_int4(w4.data(), static_cast<int64_t>(w4.size()));
  ir::Attributes shape;
  shape.set("shape", std::vector<int64_t>{4, 3, 1, 1});
  const ir::ValueId w4u = node("UnpackInt4",
                               {init("w4", Tensor::from_ints({static_cast<int64_t>(packed.size())},
                                                             std::vector<int64_t>(packed.begin(), packed.end()), DType::u8))},
                               "w4u", shape, ir::kLeancnnDomain);
  const ir::ValueId w4d = node("DequantizeLinear", {w4u, init("w4s", Tensor::from_floats({}, {0.1f}))}, "w4d");
  g.mark_output(node("Conv", {yd, w4d}, "y"));
  ir::infer_shapes(g, ops());
  return g;
}

TEST(QuantOnnx, QdqGraphRoundTripsWithItsTypesAndValues) {
  ir::Graph g = qdq_graph();
  const std::string path = ::testing::TempDir() + "/qdq_round_trip.onnx";
  save_onnx(g, path);
  EXPECT_EQ(onnx_check(path), "");
  ir::Graph back = load_onnx(path, ops());
  for (const char* name : {"w", "wz", "b", "w4", "xz"}) {
    const ir::ValueId a = g.find_value(name), b = back.find_value(name);
    ASSERT_NE(b, ir::kNone) << name;
    ASSERT_TRUE(back.value(b).is_initializer()) << name;
    EXPECT_EQ(back.value(b).dtype, g.value(a).dtype) << name;
    EXPECT_EQ(back.value(b).data.shape(), g.value(a).data.shape()) << name;
    EXPECT_EQ(std::memcmp(back.value(b).data.raw(), g.value(a).data.raw(), g.value(a).data.nbytes()), 0) << name;
    EXPECT_FALSE(back.value(b).trainable) << name;
  }
  Rng rng(5);
  const Tensor x = testing::random_tensor({2, 2, 5, 5}, rng, -1.f, 1.f);
  runtime::Executor e1(g, ops(), {.training = false, .use_kernels = false});
  runtime::Executor e2(back, ops(), {.training = false, .use_kernels = false});
  const Tensor y1 = e1.forward({{"x", x}}).at(0), y2 = e2.forward({{"x", x}}).at(0);
  EXPECT_EQ(testing::max_rel_diff(y1, y2), 0.0);
  std::remove(path.c_str());
}

// The lowered graph (ai.leancnn QLinearFusedConv, s32 biases, u8 values between integer ops)
// saves and loads too, and computes the same.
TEST(QuantOnnx, LoweredIntegerGraphRoundTrips) {
  const ir::Graph g = qdq_graph();
  runtime::Plan plan = runtime::Plan::compile(g);
  Rng rng(6);
  const Tensor x = testing::random_tensor({1, 2, 5, 5}, rng, -1.f, 1.f);
  const Tensor want = plan.run({x}).at(0);
  int integer = 0;
  for (ir::NodeId id : plan.graph().node_ids()) integer += plan.graph().node(id).op_type == "QLinearFusedConv";
  EXPECT_EQ(integer, 1);  // the 4-bit conv's output is not quantized: it stays fake-quant
  const std::string path = ::testing::TempDir() + "/qdq_lowered.onnx";
  save_onnx(plan.graph(), path);
  ir::Graph back = load_onnx(path, ops());
  // The saved and the loaded lowered graphs run by the same executor compute the same bits.
  ir::Graph before = plan.graph();
  runtime::Executor exec_before(before, ops(), {.training = false, .use_kernels = true});
  runtime::Executor exec(back, ops(), {.training = false, .use_kernels = true});
  const Tensor got = exec.forward({{"x", x}}).at(0);
  EXPECT_EQ(testing::max_rel_diff(got, exec_before.forward({{"x", x}}).at(0)), 0.0);
  // And the plan's: its float 1x1 conv (the 4-bit layer, kept fake-quant) may be another oneDNN
  // implementation than the executor's unprepared one (on AVX2: gemm vs jit_1x1), which sums the
  // three products in another order: equal to float rounding (a few ulps), not bit for bit.
  EXPECT_LT(testing::max_rel_diff(got, want), 1e-6);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace leancnn::io
