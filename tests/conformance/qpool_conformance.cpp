// Integer pooling: cpu_qmax_pool_x8 and cpu_qglobal_average_pool_x8 against the QLinearMaxPool /
// QLinearGlobalAveragePool references, bit for bit, over odd shapes, strides, asymmetric pads,
// dilation, ceil_mode, auto_pad, rows and channel counts past the kernels' blocks, tensors big
// enough for the OpenMP path, u8/s8 in and out, equal and different scales; NCHW and every
// channels-last combination the kernels declare, called directly and through inference plans
// (integer convs around the pools keep their activations NHWC).
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "int8_conformance.h"
#include "layout_util.h"
#include "kernel_coverage.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::testing {
namespace {

constexpr const char* kMaxPool = "cpu_qmax_pool_x8";
constexpr const char* kGap = "cpu_qglobal_average_pool_x8";

struct QCfg {
  DType x_type;
  float x_scale;
  int x_zp;
  DType y_type;
  float y_scale;
  int y_zp;
};

const std::vector<QCfg>& quantizations() {
  static const std::vector<QCfg> q = {
      {DType::u8, 0.05f, 128, DType::u8, 0.05f, 128},  // equal: the identity table
      {DType::u8, 0.037f, 131, DType::u8, 0.011f, 17},
      {DType::u8, 0.02f, 0, DType::s8, 0.045f, -3},
      {DType::s8, 0.03f, -7, DType::s8, 0.03f, -7},    // equal, s8
      {DType::s8, 0.011f, 5, DType::u8, 0.013f, 100},
      {DType::s8, 1.f / 3.f, 0, DType::s8, 2.f / 3.f, 0},
  };
  return q;
}

OpCase qpool_case(const char* op, const Shape& x, const QCfg& q, const ir::Attributes& attrs, uint64_t seed) {
  OpCase c;
  c.op_type = op;
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_q8(x, q.x_type, seed), scalar_f(q.x_scale), Tensor::from_ints({}, {q.x_zp}, q.x_type),
              scalar_f(q.y_scale), Tensor::from_ints({}, {q.y_zp}, q.y_type)};
  c.attrs = attrs;
  return c;
}

ir::Attributes pool_attrs(std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> pads,
                          std::vector<int64_t> dil = {1, 1}, int64_t ceil_mode = 0) {
  ir::Attributes a;
  a.set("kernel_shape", k);
  a.set("strides", s);
  a.set("pads", pads);
  a.set("dilations", dil);
  a.set("ceil_mode", ceil_mode);
  return a;
}

struct MaxGeo {
  const char* name;
  Shape x;
  ir::Attributes attrs;
};

const std::vector<MaxGeo>& max_geometries() {
  static const std::vector<MaxGeo> g = [] {
    ir::Attributes same_lower = pool_attrs({3, 2}, {2, 3}, {0, 0, 0, 0});
    same_lower.erase("pads");
    same_lower.set("auto_pad", std::string("SAME_LOWER"));
    return std::vector<MaxGeo>{
        {"2x2_s2", {1, 32, 28, 28}, pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0})},
        {"2x2_s2_odd", {2, 5, 7, 9}, pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0})},
        {"3x3_s2_pad1_stem", {1, 16, 17, 15}, pool_attrs({3, 3}, {2, 2}, {1, 1, 1, 1})},
        {"3x3_s1_asym", {2, 3, 6, 11}, pool_attrs({3, 3}, {1, 1}, {2, 0, 0, 2})},
        {"stride3", {1, 7, 13, 14}, pool_attrs({2, 4}, {3, 3}, {1, 1, 1, 2})},
        {"dilated", {1, 6, 12, 13}, pool_attrs({3, 3}, {2, 1}, {2, 2, 1, 2}, {2, 3})},
        {"ceil_mode", {1, 9, 10, 11}, pool_attrs({3, 3}, {2, 2}, {0, 1, 0, 0}, {1, 1}, 1)},
        {"same_lower", {2, 4, 9, 10}, same_lower},
        {"1x1_window", {1, 3, 5, 5}, pool_attrs({1, 1}, {2, 2}, {0, 0, 0, 0})},
        {"wide_rows", {1, 2, 3, 1100}, pool_attrs({1, 3}, {1, 1}, {0, 1, 0, 1})},         // past the 512-column block
        {"wide_rows_s2", {1, 1, 2, 1301}, pool_attrs({2, 3}, {1, 2}, {0, 1, 1, 1}, {1, 1}, 1)},
        {"many_channels", {1, 600, 5, 4}, pool_attrs({2, 2}, {2, 2}, {0, 0, 1, 0})},      // past the 512-channel block
        {"parallel", {2, 64, 40, 40}, pool_attrs({3, 3}, {2, 2}, {1, 1, 1, 1})},          // 200 KiB: the OpenMP path
    };
  }();
  return g;
}

const std::vector<Shape>& gap_shapes() {
  static const std::vector<Shape> s = {{1, 1280, 7, 7}, {2, 17, 5, 3}, {3, 600, 1, 1}, {1, 3, 64, 64},
                                       {1, 9, 1, 13},   {2, 64, 40, 40}, {1, 1, 1, 1}};
  return s;
}

void check_case(const OpCase& c, const char* kernel, const std::string& what, bool output_layouts) {
  const KernelForward ref = run_forward(c, false);
  ASSERT_EQ(ref.kernel, "reference");
  const KernelForward fast = run_forward(c, true);
  EXPECT_EQ(fast.kernel, kernel) << what;
  expect_identical(fast.outputs[0], ref.outputs[0], what + " (dispatched, NCHW)");
  expect_identical(run_with_layout(c, kernel, true, false), ref.outputs[0], what + " (NHWC x, NCHW y)");
  if (!output_layouts) return;
  expect_identical(run_with_layout(c, kernel, false, true), ref.outputs[0], what + " (NCHW x, NHWC y)");
  expect_identical(run_with_layout(c, kernel, true, true), ref.outputs[0], what + " (NHWC x, NHWC y)");
}

LEANCNN_COVERS("QPoolConformance.MaxPoolEveryGeometryAndQuantizationBitExact", "QLinearMaxPool", kMaxPool);
TEST(QPoolConformance, MaxPoolEveryGeometryAndQuantizationBitExact) {
  uint64_t seed = 1;
  for (const MaxGeo& g : max_geometries())
    for (const QCfg& q : quantizations()) {
      const OpCase c = qpool_case("QLinearMaxPool", g.x, q, g.attrs, seed++);
      check_case(c, kMaxPool,
                 str_cat(g.name, " ", dtype_name(q.x_type), "->", dtype_name(q.y_type), " scales ", q.x_scale, "/",
                         q.y_scale, " zps ", q.x_zp, "/", q.y_zp),
                 true);
    }
}

TEST(QPoolConformance, MaxPoolOutputsSpanTheRange) {
  // The cases exercise the table: with a finer output grid many distinct values and saturation.
  const OpCase c = qpool_case("QLinearMaxPool", {1, 8, 16, 16}, quantizations()[1], pool_attrs({2, 2}, {1, 1}, {0, 0, 0, 0}), 3);
  const Tensor y = run_forward(c, true).outputs[0];
  std::set<int> distinct;
  int saturated = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    distinct.insert(y.data<uint8_t>()[i]);
    saturated += y.data<uint8_t>()[i] == 255;
  }
  EXPECT_GE(distinct.size(), 60u);  // x in [126, 202] maps to distinct values, above saturates
  EXPECT_GT(saturated, 0);
}

LEANCNN_COVERS("QPoolConformance.GlobalAveragePool*", "QLinearGlobalAveragePool", kGap);
TEST(QPoolConformance, GlobalAveragePoolEveryShapeAndQuantizationBitExact) {
  uint64_t seed = 500;
  for (const Shape& s : gap_shapes())
    for (const QCfg& base : quantizations()) {
      QCfg q = base;
      q.y_scale = base.y_scale / 9.f;  // a finer output grid: the mean's rounding decides most outputs
      const OpCase c = qpool_case("QLinearGlobalAveragePool", s, q, {}, seed++);
      // The 1x1 output is the same bytes in both orders: only x's layout varies.
      check_case(c, kGap, str_cat(shape_str(s), " ", dtype_name(q.x_type), "->", dtype_name(q.y_type)), false);
    }
}

TEST(QPoolConformance, GlobalAveragePoolOfConstantPlanesIsTheValue) {
  // Sums far beyond s16 (56x56 pixels of up to 255) stay exact: y = x when the scales match.
  OpCase c = qpool_case("QLinearGlobalAveragePool", {1, 4, 56, 56}, quantizations()[0], {}, 1);
  uint8_t* x = static_cast<uint8_t*>(c.inputs[0].raw());
  for (int64_t ch = 0; ch < 4; ++ch) std::memset(x + ch * 56 * 56, static_cast<int>(255 - 50 * ch), 56 * 56);
  const KernelForward fast = run_forward(c, true);
  EXPECT_EQ(fast.kernel, kGap);
  for (int64_t ch = 0; ch < 4; ++ch) EXPECT_EQ(fast.outputs[0].data<uint8_t>()[ch], 255 - 50 * ch);
  expect_identical(run_with_layout(c, kGap, true, false), fast.outputs[0], "NHWC");
}

TEST(QPoolConformance, GlobalAveragePoolPlanesPastTheS32Chunk) {
  // 2897 x 2897 > 2^23 pixels: the kernels move their s32 partial sums into s64 once mid-plane.
  for (const QCfg& q : {quantizations()[1], quantizations()[4]}) {
    const OpCase c = qpool_case("QLinearGlobalAveragePool", {1, 1, 2897, 2897}, q, {}, 9);
    check_case(c, kGap, str_cat("one big plane ", dtype_name(q.x_type)), false);
  }
}

// --- through inference plans ---

struct QGraph {
  ir::Graph g;
  ir::ValueId qs, qz;
};

ir::ValueId add_qconv(QGraph& q, ir::ValueId x, int64_t ic, int64_t oc, Rng& rng, const std::string& name) {
  ir::Graph& g = q.g;
  Tensor w = random_q8({oc, ic, 3, 3}, DType::s8, rng.next_u64());
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(w.data<int8_t>()[i] / 2);  // 7 bits: any CPU
  ir::Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const ir::ValueId y = g.add_value(name);
  g.add_node("QLinearFusedConv",
             {x, q.qs, q.qz, g.add_initializer(name + "_w", w, false),
              g.add_initializer(name + "_ws", Tensor::from_floats({}, {0.004f}), false),
              g.add_initializer(name + "_wz", Tensor::from_ints({}, {0}, DType::s8), false), q.qs, q.qz},
             {y}, a, name, ir::kLeancnnDomain);
  return y;
}

ir::ValueId add_qpool(QGraph& q, const char* op, ir::ValueId x, const ir::Attributes& a, const std::string& name) {
  ir::Graph& g = q.g;
  const ir::ValueId y = g.add_value(name);
  g.add_node(op, {x, q.qs, q.qz, g.add_initializer(name + "_ys", Tensor::from_floats({}, {0.03f}), false),
                  g.add_initializer(name + "_yz", Tensor::from_ints({}, {-5}, DType::s8), false)},
             {y}, a, name, ir::kLeancnnDomain);
  return y;
}

// input u8 -> qconv a -> QLinearMaxPool p1 -> qconv b (NHWC on both sides of p1) and
// qconv b -> QLinearMaxPool p2 -> Flatten (p2 reads NHWC, writes NCHW) and
// qconv b -> QLinearGlobalAveragePool (reads NHWC).
QGraph pool_graph() {
  QGraph q;
  ir::Graph& g = q.g;
  Rng rng(31);
  q.qs = g.add_initializer("act_scale", Tensor::from_floats({}, {0.05f}), false);
  q.qz = g.add_initializer("act_zp", Tensor::from_ints({}, {3}, DType::u8), false);
  const ir::ValueId x = g.add_input("input", {1, 5, 15, 13}, DType::u8);
  const ir::ValueId a = add_qconv(q, x, 5, 12, rng, "a");
  const ir::ValueId p1 = g.add_value("p1");
  g.add_node("QLinearMaxPool", {a, q.qs, q.qz, q.qs, q.qz}, {p1}, pool_attrs({3, 3}, {2, 2}, {1, 1, 1, 1}), "p1",
             ir::kLeancnnDomain);
  const ir::ValueId b = add_qconv(q, p1, 12, 20, rng, "b");
  const ir::ValueId p2 = add_qpool(q, "QLinearMaxPool", b, pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1), "p2");
  const ir::ValueId flat = g.add_value("flat");
  g.add_node("Flatten", {p2}, {flat}, {}, "flatten");
  g.mark_output(flat);
  g.mark_output(add_qpool(q, "QLinearGlobalAveragePool", b, {}, "gap"));
  ir::infer_shapes(g, ops::op_table());
  return q;
}

TEST(QPoolConformance, PlansKeepPooledActivationsChannelsLast) {
  const QGraph q = pool_graph();
  runtime::Plan fast = runtime::Plan::compile(q.g);
  runtime::Plan nchw = runtime::Plan::compile(q.g, {.channels_last = false});
  runtime::Plan ref = runtime::Plan::compile(q.g, {.use_kernels = false});
  for (int64_t batch : {1, 3}) {
    SCOPED_TRACE(str_cat("batch ", batch));
    const Tensor x = random_q8({batch, 5, 15, 13}, DType::u8, 70 + batch);
    const std::vector<Tensor> want = ref.run({x});
    for (runtime::Plan* p : {&fast, &nchw}) {
      const std::vector<Tensor> got = p->run({x});
      ASSERT_EQ(got.size(), 2u);
      expect_identical(got[0], want[0], "flattened max pool");
      expect_identical(got[1], want[1], "global average pool");
    }
  }
  bool fast_convs = true;
  for (const runtime::PlanStep& s : fast.steps()) {
    SCOPED_TRACE(s.name);
    if (s.op_type == "QLinearFusedConv") fast_convs = fast_convs && s.kernel == "dnnl_qconv_u8s8";
    if (s.op_type == "QLinearMaxPool") {
      EXPECT_EQ(s.kernel, kMaxPool);
    }
    if (s.op_type == "QLinearGlobalAveragePool") {
      EXPECT_EQ(s.kernel, kGap);
    }
  }
  for (const runtime::PlanStep& s : nchw.steps()) EXPECT_EQ(s.channels_last, 0u) << s.name;
  if (!fast_convs) GTEST_SKIP() << "the integer conv kernel declined: no channels-last producers";
  for (const runtime::PlanStep& s : fast.steps()) {
    SCOPED_TRACE(s.name);
    if (s.name == "p1") {
      EXPECT_EQ(s.channels_last, ir::channels_last_input(0) | ir::channels_last_output(0));
    }
    if (s.name == "p2") {
      EXPECT_EQ(s.channels_last, ir::channels_last_input(0));  // Flatten reads NCHW
    }
    if (s.name == "gap") {
      EXPECT_EQ(s.channels_last, ir::channels_last_input(0));
    }
  }
}

}  // namespace
}  // namespace leancnn::testing
