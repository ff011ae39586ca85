// lower_qdq: every zoo model quantized by a test-local QDQ builder (per-channel min-max s8
// weights, s32 biases, u8 activations with ranges from one random batch) runs through Plan with
// its Conv/Gemm lowered to integer ops, and its top-1 agrees with the reference executor on the
// fake-quant QDQ graph; a conv-only chain is bit-exact between the kernels and the references.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "leancnn/ir/passes.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/quant_math.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/inference_passes.h"
#include "leancnn/runtime/plan.h"
#include "op_harness.h"
#include "zoo_cases.h"

namespace leancnn::runtime {
namespace {
using zoo_cases::count_ops;
using zoo_cases::input_for;
using zoo_cases::pixels;

const ir::OpTable& ops() { return leancnn::ops::op_table(); }

ir::ValueId scalar_init(ir::Graph& g, const std::string& name, Tensor t) {
  return g.add_initializer(g.unique_value_name(name), std::move(t), false);
}

// The test-local QDQ builder (the contract's pattern, docs/int8_runtime.md).
class QdqBuilder {
 public:
  QdqBuilder(ir::Graph& g, const Tensor& calibration) : g_(g) {
    ir::Graph copy = g;
    Executor exec(copy, ops(), {.training = false, .use_kernels = true, .seed = 0, .keep_values = true});
    exec.forward({{"input", calibration}});
    for (ir::ValueId v = 0; v < copy.num_values(); ++v) {
      const Tensor& t = exec.value(v);
      if (!t.defined() || t.dtype() != DType::f32 || copy.value(v).is_initializer()) continue;
      float lo = 0.f, hi = 0.f;
      const float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
      range_[v] = {lo, hi};
    }
  }

  void run() {
    std::vector<ir::NodeId> layers;
    for (ir::NodeId id : g_.topo_order())
      if (g_.node(id).op_type == "Conv" || g_.node(id).op_type == "Gemm") layers.push_back(id);
    std::set<ir::ValueId> acts;
    for (ir::NodeId id : layers) {
      acts.insert(g_.node(id).inputs[0]);
      ir::ValueId out = g_.node(id).outputs[0];
      const std::vector<ir::NodeId> readers = g_.consumers(out);
      if (readers.size() == 1 && (g_.node(readers[0]).op_type == "Relu")) out = g_.node(readers[0]).outputs[0];
      acts.insert(out);
    }
    for (ir::ValueId v : acts) quantize_activation(v);
    for (ir::NodeId id : layers) quantize_weights(id);
    ir::infer_shapes(g_, ops());
    ir::verify(g_, ops());
  }

 private:
  void quantize_activation(ir::ValueId v) {
    if (std::find(g_.outputs().begin(), g_.outputs().end(), v) != g_.outputs().end()) return;
    const auto [lo, hi] = range_.at(v);
    const float scale = hi > lo ? (hi - lo) / 255.f : 1.f;
    const int zp = std::clamp(static_cast<int>(std::nearbyint(-lo / scale)), 0, 255);
    const std::string name = g_.value(v).name;
    const ir::ValueId s = scalar_init(g_, name + "_scale", Tensor::from_floats({}, {scale}));
    const ir::ValueId z = scalar_init(g_, name + "_zp", Tensor::from_ints({}, {zp}, DType::u8));
    const std::vector<ir::NodeId> readers = g_.consumers(v);
    const ir::ValueId q = g_.add_value(g_.unique_value_name(name + "_q"));
    const ir::ValueId dq = g_.add_value(g_.unique_value_name(name + "_dq"));
    g_.add_node("QuantizeLinear", {v, s, z}, {q}, {}, name + "_Q");
    g_.add_node("DequantizeLinear", {q, s, z}, {dq}, {}, name + "_DQ");
    for (ir::NodeId r : readers)
      for (ir::ValueId& in : g_.node(r).inputs)
        if (in == v) in = dq;
    x_scale_[dq] = scale;
  }

  void quantize_weights(ir::NodeId id) {
    ir::Node& n = g_.node(id);
    const bool gemm_nk = n.op_type == "Gemm" && n.attrs.get_int("transB", 0) != 0;
    const Tensor w = g_.value(n.inputs[1]).data;
    const int64_t oc = n.op_type == "Conv" || gemm_nk ? w.dim(0) : w.dim(1);
    const int64_t axis = n.op_type == "Conv" || gemm_nk ? 0 : 1;
    const int64_t inner = axis == 0 ? w.numel() / oc : 1;
    auto channel = [&](int64_t i) { return axis == 0 ? i / inner : i % oc; };
    std::vector<float> amax(oc, 0.f);
    for (int64_t i = 0; i < w.numel(); ++i) amax[channel(i)] = std::max(amax[channel(i)], std::fabs(w.at(i)));
    Tensor scales = Tensor::empty({oc});
    for (int64_t c = 0; c < oc; ++c) scales.data<float>()[c] = amax[c] > 0 ? amax[c] / 127.f : 1.f;
    Tensor wq = Tensor::empty(w.shape(), DType::s8);
    for (int64_t i = 0; i < w.numel(); ++i)
      wq.data<int8_t>()[i] = static_cast<int8_t>(ops::quantize_value(w.at(i), scales.at(channel(i)), 0, -127, 127));
    const std::string name = n.name;
    ir::Attributes axis_attr;
    axis_attr.set("axis", axis);
    const ir::ValueId wv = scalar_init(g_, name + "_w_s8", wq);
    const ir::ValueId ws = scalar_init(g_, name + "_w_scale", scales);
    const ir::ValueId wz = scalar_init(g_, name + "_w_zp", Tensor::zeros({oc}, DType::s8));
    const ir::ValueId wdq = g_.add_value(g_.unique_value_name(name + "_w_dq"));
    g_.add_node("DequantizeLinear", {wv, ws, wz}, {wdq}, axis_attr, name + "_w_DQ");
    const ir::ValueId x = g_.node(id).inputs[0];
    g_.node(id).inputs[1] = wdq;
    if (g_.node(id).inputs.size() < 3 || g_.node(id).inputs[2] == ir::kNone) return;
    const Tensor b = g_.value(g_.node(id).inputs[2]).data;
    const float xs = x_scale_.at(x);
    Tensor bs = Tensor::empty({oc});
    Tensor bq = Tensor::empty({oc}, DType::s32);
    for (int64_t c = 0; c < oc; ++c) {
      bs.data<float>()[c] = xs * scales.at(c);
      bq.data<int32_t>()[c] = static_cast<int32_t>(std::nearbyint(b.at(c) / bs.at(c)));
    }
    ir::Attributes bias_axis;
    bias_axis.set("axis", int64_t{0});
    const ir::ValueId bv = scalar_init(g_, name + "_b_s32", bq);
    const ir::ValueId bsv = scalar_init(g_, name + "_b_scale", bs);
    const ir::ValueId bdq = g_.add_value(g_.unique_value_name(name + "_b_dq"));
    g_.add_node("DequantizeLinear", {bv, bsv}, {bdq}, bias_axis, name + "_b_DQ");
    g_.node(id).inputs[2] = bdq;
  }

  ir::Graph& g_;
  std::map<ir::ValueId, std::pair<float, float>> range_;
  std::map<ir::ValueId, float> x_scale_;
};

// A zoo model with BN folded (PTQ runs after BN folding), then quantized.
ir::Graph qdq_model(const std::string& name, const Shape& chw) {
  ir::Graph g = models::build_model(name, {chw, 10, 1}, ops());
  drop_identities(g, ops());
  fold_constants(g, ops());
  fold_batch_norm(g, ops());
  ir::infer_shapes(g, ops());
  QdqBuilder(g, pixels(4, chw, 5)).run();
  return g;
}

int argmax(const Tensor& logits, int64_t row) {
  const int64_t k = logits.dim(1);
  const float* p = logits.data<float>() + row * k;
  return static_cast<int>(std::max_element(p, p + k) - p);
}

class LowerQdqZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(LowerQdqZoo, IntegerPlanAgreesWithFakeQuantReference) {
  const std::string name = GetParam();
  const Shape chw = input_for(name);
  ir::Graph g = qdq_model(name, chw);
  const int layers = count_ops(g, "Conv") + count_ops(g, "Gemm");
  Plan plan = Plan::compile(g);
  const ir::Graph& lowered = plan.graph();
  const int integer = count_ops(lowered, "QLinearFusedConv") + count_ops(lowered, "QGemm");
  EXPECT_EQ(integer, layers) << "every Conv/Gemm lowered";
  EXPECT_EQ(count_ops(lowered, "Conv") + count_ops(lowered, "Gemm"), 0);
  // Residual adds between quantized values become QAdd (all but a last one that feeds the float head).
  if (name.rfind("resnet", 0) == 0) {
    EXPECT_GE(count_ops(lowered, "QAdd"), count_ops(g, "Add") - 1) << name;
  }

  const int64_t batch = 8;
  const Tensor x = pixels(batch, chw, 77);
  Executor exec(g, ops(), {.training = false, .use_kernels = true});
  const Tensor want = exec.forward({{"input", x}}).at(0);
  const Tensor got = plan.run({x}).at(0);
  ASSERT_EQ(got.shape(), want.shape());
  int agree = 0;
  for (int64_t r = 0; r < batch; ++r) {
    const int a = argmax(got, r), b = argmax(want, r);
    agree += a == b;
    if (a == b) continue;
    // A disagreement is only allowed on a near-tie: the class the integer plan picked scores,
    // in the fake-quant reference, within this row's largest logit difference of the best.
    const int64_t k = got.dim(1);
    double row_diff = 0;
    for (int64_t j = 0; j < k; ++j)
      row_diff = std::max(row_diff, std::fabs(static_cast<double>(got.at(r * k + j)) - want.at(r * k + j)));
    const double gap = static_cast<double>(want.at(r * k + b)) - want.at(r * k + a);
    std::printf("[ lower_qdq ] %s row %lld: integer top-1 %d, fake-quant top-1 %d, reference gap %.3g, max logit diff %.3g\n",
                name.c_str(), static_cast<long long>(r), a, b, gap, row_diff);
    EXPECT_LE(gap, 2 * row_diff) << name << " row " << r << ": a decisive top-1 changed";
  }
  const double rel = testing::max_rel_diff(got, want);
  // The integer path differs from fake-quant only where a float accumulation rounds an output
  // to the other side of a quantization step (one unit of that layer's scale).
  EXPECT_GE(agree, batch / 2) << name;
  std::printf("[ lower_qdq ] %-20s %3d integer ops, top-1 agree %d/%lld, max rel diff of logits %.2e\n", name.c_str(),
              integer, agree, static_cast<long long>(batch), rel);
}

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const models::ZooEntry& e : models::zoo()) names.push_back(e.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Zoo, LowerQdqZoo, ::testing::ValuesIn(zoo_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

// conv -> relu -> conv(stride 2) -> relu -> conv(1x1) -> flatten -> gemm, quantized: a chain of
// integer convs whose u8 activations the plan keeps channels-last, then the QGemm head.
ir::Graph conv_chain() {
  ir::Graph g;
  Rng rng(21);
  const ir::ValueId x = g.add_input("input", {1, 3, 12, 12});
  auto conv = [&](ir::ValueId in, int64_t ic, int64_t oc, int64_t k, int64_t stride, const std::string& name) {
    const Tensor w = testing::random_tensor({oc, ic, k, k}, rng, -0.5f, 0.5f);
    const Tensor b = testing::random_tensor({oc}, rng, -0.2f, 0.2f);
    ir::Attributes a;
    a.set("pads", std::vector<int64_t>(4, k / 2));
    a.set("strides", std::vector<int64_t>{stride, stride});
    const ir::ValueId y = g.add_value(name);
    g.add_node("Conv", {in, g.add_initializer(name + "_w", w, true), g.add_initializer(name + "_b", b, true)}, {y}, a, name);
    return y;
  };
  auto relu = [&](ir::ValueId in, const std::string& name) {
    const ir::ValueId y = g.add_value(name);
    g.add_node("Relu", {in}, {y}, {}, name);
    return y;
  };
  const ir::ValueId c3 = conv(relu(conv(relu(conv(x, 3, 8, 3, 1, "c1"), "r1"), 8, 16, 3, 2, "c2"), "r2"), 16, 4, 1, 1, "c3");
  const ir::ValueId flat = g.add_value("flat");
  g.add_node("Flatten", {c3}, {flat}, {}, "flatten");
  ir::Attributes t;
  t.set("transB", int64_t{1});
  const ir::ValueId logits = g.add_value("logits");
  g.add_node("Gemm",
             {flat, g.add_initializer("fc_w", testing::random_tensor({10, 4 * 6 * 6}, rng, -0.3f, 0.3f), true),
              g.add_initializer("fc_b", testing::random_tensor({10}, rng, -0.1f, 0.1f), true)},
             {logits}, t, "fc");
  g.mark_output(logits);
  ir::infer_shapes(g, ops());
  QdqBuilder(g, pixels(4, {3, 12, 12}, 5)).run();
  return g;
}

// The plan's kernels equal the reference integer ops bit for bit (every value in between is an
// integer op's output or a reference Q/DQ/Flatten of one).
TEST(LowerQdq, KernelsEqualTheIntegerReferencesBitExactly) {
  const ir::Graph g = conv_chain();
  Plan fast = Plan::compile(g);
  Plan ref = Plan::compile(g, {.use_kernels = false});
  const Tensor x = pixels(3, {3, 12, 12}, 9);
  const Tensor a = fast.run({x}).at(0), b = ref.run({x}).at(0);
  EXPECT_EQ(testing::max_rel_diff(a, b), 0.0);
  int integer = 0, nhwc = 0;
  for (const PlanStep& s : fast.steps()) {
    // oneDNN's int8 kernels where they are exact on this CPU, else the s16 AVX2 ones.
    integer += s.kernel == "dnnl_qconv_u8s8" || s.kernel == "dnnl_qgemm_u8s8" || s.kernel == "cpu_qconv_s16_avx2" ||
               s.kernel == "cpu_qgemm_s16_avx2";
    nhwc += s.op_type == "QLinearFusedConv" && s.channels_last != 0;
  }
  EXPECT_EQ(integer, 4);
  EXPECT_EQ(nhwc, 3) << "c1 -> c2 -> c3 pass u8 activations channels-last";
  // And the lowered plan agrees with the fake-quant reference on top-1.
  ir::Graph copy = g;
  Executor exec(copy, ops(), {.training = false, .use_kernels = false});
  const Tensor want = exec.forward({{"input", x}}).at(0);
  for (int64_t r = 0; r < 3; ++r) EXPECT_EQ(argmax(a, r), argmax(want, r));
}

TEST(LowerQdq, LeavesFloatGraphsAlone) {
  ir::Graph g = models::build_model("resnet20", {{3, 32, 32}, 10, 1}, ops());
  EXPECT_EQ(lower_qdq(g, ops()), 0);
}

// Without lowering the plan runs the fake-quant graph in float: constant folding turns DQ(W) into
// float weights, and the result is the reference executor's up to float rounding.
TEST(LowerQdq, OptionOffKeepsTheFakeQuantGraph) {
  ir::Graph g = conv_chain();
  Plan plan = Plan::compile(g, {.lower_qdq = false});
  EXPECT_EQ(count_ops(plan.graph(), "QLinearFusedConv"), 0);
  EXPECT_GT(count_ops(plan.graph(), "QuantizeLinear"), 0);
  const Tensor x = pixels(2, {3, 12, 12}, 10);
  Executor exec(g, ops(), {.training = false, .use_kernels = false});
  const Tensor want = exec.forward({{"input", x}}).at(0);
  const Tensor got = plan.run({x}).at(0);
  for (int64_t r = 0; r < 2; ++r) EXPECT_EQ(argmax(got, r), argmax(want, r));
  EXPECT_LT(testing::max_rel_diff(got, want), 0.05);
}

// Weights in the contract's 4-bit form (UnpackInt4 of packed bytes) are unpacked once and lowered
// like s8 ones, with the same results as s8 weights holding the same values.
TEST(LowerQdq, PackedInt4WeightsLowerLikeS8) {
  ir::Graph g = conv_chain();
  ir::Graph packed = g;
  int rewritten = 0;
  for (ir::NodeId id : packed.node_ids()) {
    ir::Node& n = packed.node(id);
    if (n.op_type != "DequantizeLinear" || !packed.value(n.inputs[0]).is_initializer() ||
        packed.value(n.inputs[0]).dtype != DType::s8)
      continue;
    // Requantize the s8 weights to [-7, 7] in both graphs, then pack one copy.
    Tensor w = packed.value(n.inputs[0]).data.clone();
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(w.data<int8_t>()[i] / 18);
    g.value(g.find_value(packed.value(n.inputs[0]).name)).data = w.clone();
    const std::vector<uint8_t> bytes = ops::pack_int4(w.data<int8_t>(), w.numel());
    ir::Attributes shape;
    shape.set("shape", w.shape());
    const ir::ValueId p = packed.add_initializer(packed.unique_value_name("w4"),
                                                 Tensor::from_ints({static_cast<int64_t>(bytes.size())},
                                                                   std::vector<int64_t>(bytes.begin(), bytes.end()), DType::u8),
                                                 false);
    const ir::ValueId unpacked = packed.add_value(packed.unique_value_name("w4_s8"));
    packed.add_node("UnpackInt4", {p}, {unpacked}, shape, packed.unique_value_name("unpack"), ir::kLeancnnDomain);
    packed.node(id).inputs[0] = unpacked;
    ++rewritten;
  }
  ASSERT_EQ(rewritten, 4);
  ir::infer_shapes(packed, ops());
  Plan a = Plan::compile(g), b = Plan::compile(packed);
  EXPECT_EQ(count_ops(b.graph(), "UnpackInt4"), 0);
  EXPECT_EQ(count_ops(b.graph(), "QLinearFusedConv"), 3);
  const Tensor x = pixels(2, {3, 12, 12}, 11);
  EXPECT_EQ(testing::max_rel_diff(a.run({x}).at(0), b.run({x}).at(0)), 0.0);
}


// conv -> relu -> MaxPool(2x2) | GlobalAveragePool -> Flatten -> gemm, quantized by the builder:
// the gemm's input Q sits after the Flatten, so the plan sees DQ -> pool -> Flatten -> Q.
ir::Graph pool_chain(bool max) {
  ir::Graph g;
  Rng rng(31);
  const ir::ValueId x = g.add_input("input", {1, 3, 8, 8});
  ir::Attributes a;
  a.set("pads", std::vector<int64_t>(4, 1));
  const ir::ValueId c = g.add_value("c1");
  g.add_node("Conv",
             {x, g.add_initializer("c1_w", testing::random_tensor({8, 3, 3, 3}, rng, -0.5f, 0.5f), true),
              g.add_initializer("c1_b", testing::random_tensor({8}, rng, -0.2f, 0.2f), true)},
             {c}, a, "c1");
  const ir::ValueId r = g.add_value("r1");
  g.add_node("Relu", {c}, {r}, {}, "r1");
  const ir::ValueId p = g.add_value("pool");
  ir::Attributes pa;
  if (max) {
    pa.set("kernel_shape", std::vector<int64_t>{2, 2});
    pa.set("strides", std::vector<int64_t>{2, 2});
  }
  g.add_node(max ? "MaxPool" : "GlobalAveragePool", {r}, {p}, pa, "pool");
  const ir::ValueId flat = g.add_value("flat");
  g.add_node("Flatten", {p}, {flat}, {}, "flatten");
  const int64_t features = max ? 8 * 4 * 4 : 8;
  ir::Attributes t;
  t.set("transB", int64_t{1});
  const ir::ValueId logits = g.add_value("logits");
  g.add_node("Gemm",
             {flat, g.add_initializer("fc_w", testing::random_tensor({10, features}, rng, -0.3f, 0.3f), true),
              g.add_initializer("fc_b", testing::random_tensor({10}, rng, -0.1f, 0.1f), true)},
             {logits}, t, "fc");
  g.mark_output(logits);
  ir::infer_shapes(g, ops());
  QdqBuilder(g, pixels(4, {3, 8, 8}, 5)).run();
  return g;
}

// DQ -> MaxPool -> Flatten -> Q becomes QLinearMaxPool + Flatten on integers: no float pool is
// left, the kernels equal the integer references bit for bit, and the plan's logits equal the
// fake-quant reference's up to the gemm's float accumulation order (max commutes with DQ).
TEST(LowerQdq, MaxPoolBetweenQuantizedValuesRunsOnIntegers) {
  const ir::Graph g = pool_chain(true);
  Plan fast = Plan::compile(g);
  Plan ref = Plan::compile(g, {.use_kernels = false});
  EXPECT_EQ(count_ops(fast.graph(), "QLinearMaxPool"), 1);
  EXPECT_EQ(count_ops(fast.graph(), "MaxPool"), 0);
  EXPECT_EQ(count_ops(fast.graph(), "DequantizeLinear"), 0) << "no float value between the input and the logits";
  const Tensor x = pixels(4, {3, 8, 8}, 12);
  const Tensor a = fast.run({x}).at(0), b = ref.run({x}).at(0);
  bool integer_pool_kernel = false;  // kernels are chosen on the first run
  for (const PlanStep& s : fast.steps()) integer_pool_kernel |= s.kernel == "cpu_qmax_pool_x8";
  EXPECT_TRUE(integer_pool_kernel);
  EXPECT_EQ(testing::max_rel_diff(a, b), 0.0);
  ir::Graph copy = g;
  Executor exec(copy, ops(), {.training = false, .use_kernels = false});
  const Tensor want = exec.forward({{"input", x}}).at(0);
  for (int64_t r = 0; r < 4; ++r) EXPECT_EQ(argmax(a, r), argmax(want, r));
}

// DQ -> GlobalAveragePool -> Flatten -> Q becomes QLinearGlobalAveragePool + Flatten.
TEST(LowerQdq, GlobalAveragePoolBetweenQuantizedValuesRunsOnIntegers) {
  const ir::Graph g = pool_chain(false);
  Plan fast = Plan::compile(g);
  Plan ref = Plan::compile(g, {.use_kernels = false});
  EXPECT_EQ(count_ops(fast.graph(), "QLinearGlobalAveragePool"), 1);
  EXPECT_EQ(count_ops(fast.graph(), "GlobalAveragePool"), 0);
  const Tensor x = pixels(4, {3, 8, 8}, 13);
  EXPECT_EQ(testing::max_rel_diff(fast.run({x}).at(0), ref.run({x}).at(0)), 0.0);
}

// A pool whose output stays float (no Q after it) is left to the float kernels.
TEST(LowerQdq, PoolWithAFloatOutputStaysFloat) {
  ir::Graph g = pool_chain(true);
  // Drop the Q -> DQ pair after the Flatten: the gemm then reads the float Flatten output.
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (n.op_type != "Gemm") continue;
    const ir::NodeId dq = g.value(n.inputs[0]).producer;
    ASSERT_EQ(g.node(dq).op_type, "DequantizeLinear");
    const ir::NodeId q = g.value(g.node(dq).inputs[0]).producer;
    ASSERT_EQ(g.node(q).op_type, "QuantizeLinear");
    g.node(id).inputs[0] = g.node(q).inputs[0];
    g.remove_node(dq);
    g.remove_node(q);
  }
  ir::infer_shapes(g, ops());
  Plan plan = Plan::compile(g);
  EXPECT_EQ(count_ops(plan.graph(), "QLinearMaxPool"), 0);
  EXPECT_EQ(count_ops(plan.graph(), "MaxPool"), 1);
}

}  // namespace
}  // namespace leancnn::runtime
