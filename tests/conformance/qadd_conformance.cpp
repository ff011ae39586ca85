// QAdd (ai.leancnn): cpu_qadd_x8_avx2 and cpu_qadd_x8 against the op's reference, bit for bit,
// over odd shapes, lengths past the op's 1024-value chunks and the AVX2 kernel's 16-value steps
// and thread slices, every u8/s8 combination of a, b and y, equal and different scales and zero
// points, with and without the fused Relu; dispatched on NCHW (asserting the kernel this CPU
// should pick), each kernel run by name on NCHW and the way a plan runs it with its three
// activations channels-last (the layout it declares, tied), and through an inference plan whose
// integer convs keep the residual activations NHWC.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "int8_conformance.h"
#include "kernel_coverage.h"
#include "layout_util.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/int8_exactness.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::testing {
namespace {

constexpr const char* kQAddAvx2 = "cpu_qadd_x8_avx2";
constexpr const char* kQAdd = "cpu_qadd_x8";

bool avx2_here() { return kernels::int8_cpu_features().avx2; }
// The kernel the dispatcher should pick on this CPU (LEANCNN_MAX_CPU_ISA counts).
std::string expected_qadd() { return avx2_here() ? kQAddAvx2 : kQAdd; }
// The kernels that run here, most specialised first.
std::vector<std::string> qadd_kernels_here() {
  if (avx2_here()) return {kQAddAvx2, kQAdd};
  return {kQAdd};
}

struct Q {
  DType type;
  float scale;
  int zp;
};

int lo_of(DType t) { return t == DType::u8 ? 0 : -128; }
int hi_of(DType t) { return t == DType::u8 ? 255 : 127; }

OpCase qadd_case(const Shape& s, const Q& a, const Q& b, const Q& y, bool relu, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = "QAdd";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_ints(s, a.type, rng, lo_of(a.type), hi_of(a.type)),
              scalar_f(a.scale),
              Tensor::from_ints({}, {a.zp}, a.type),
              random_ints(s, b.type, rng, lo_of(b.type), hi_of(b.type)),
              scalar_f(b.scale),
              Tensor::from_ints({}, {b.zp}, b.type),
              scalar_f(y.scale),
              Tensor::from_ints({}, {y.zp}, y.type)};
  if (relu) c.attrs.set("activation", std::string("Relu"));
  return c;
}

// Every u8/s8 combination of a, b and y, with scales and zero points that vary with it (a and b
// share theirs in the first); y's grid is finer than the sums' range, so outputs saturate too.
std::vector<std::array<Q, 3>> quantizations() {
  std::vector<std::array<Q, 3>> out;
  int i = 0;
  for (DType ta : {DType::u8, DType::s8})
    for (DType tb : {DType::u8, DType::s8})
      for (DType ty : {DType::u8, DType::s8}) {
        const auto zp = [&](DType t, int u8_zp) { return t == DType::u8 ? u8_zp : u8_zp - 128; };
        const Q a{ta, 0.02f + 0.003f * i, zp(ta, 131 - 7 * i)};
        const Q b = i == 0 ? Q{tb, a.scale, a.zp} : Q{tb, 0.013f + 0.004f * i, zp(tb, 17 + 19 * i)};
        const Q y{ty, 0.021f + 0.002f * i, zp(ty, 90 + 11 * i)};
        out.push_back({a, b, y});
        ++i;
      }
  return out;
}

// 4-D shapes (run channels-last as well), then others (NCHW only: the layout bits are 4-D).
const std::vector<Shape>& shapes_4d() {
  // {1, 65, 23, 23}: past the AVX2 kernel's threading threshold, with an odd tail.
  static const std::vector<Shape> s = {{1, 8, 7, 9},  {2, 17, 5, 3}, {1, 3, 33, 35}, {2, 64, 14, 14},
                                       {1, 1, 1, 1},  {5, 1, 1, 1},  {1, 65, 23, 23}};
  return s;
}
const std::vector<Shape>& shapes_other() {
  static const std::vector<Shape> s = {{1030}, {7, 300}, {3, 2, 1025}};
  return s;
}

// Runs the kernel named `kernel` on NCHW operands, or the way a plan does with a, b and y
// channels-last (after asking the kernel that it declares them, tied); returns y in NCHW order.
Tensor run_named(const OpCase& c, const std::string& kernel, bool channels_last) {
  if (!channels_last) return run_with_layouts(c, kernel, 0);
  EXPECT_TRUE(declared_layouts(c, kernel).tied) << kernel << ": a, b and y must share one layout";
  return run_with_layouts(c, kernel, ir::channels_last_input(0) | ir::channels_last_input(3) | ir::channels_last_output(0));
}

std::string describe(const Shape& s, const std::array<Q, 3>& q, bool relu) {
  return str_cat(shape_str(s), " ", dtype_name(q[0].type), "+", dtype_name(q[1].type), "->", dtype_name(q[2].type),
                 " scales ", q[0].scale, "/", q[1].scale, "/", q[2].scale, " zps ", q[0].zp, "/", q[1].zp, "/",
                 q[2].zp, relu ? " relu" : "");
}

// The case must exercise the requantization: many distinct outputs, and (for larger tensors)
// both clamps of the output range.
void expect_spread(const Tensor& y, const std::string& what) {
  std::set<int> distinct;
  const int lo = lo_of(y.dtype()), hi = hi_of(y.dtype());
  bool at_lo = false, at_hi = false;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const int v = y.dtype() == DType::u8 ? y.data<uint8_t>()[i] : y.data<int8_t>()[i];
    distinct.insert(v);
    at_lo = at_lo || v == lo;
    at_hi = at_hi || v == hi;
  }
  EXPECT_GE(distinct.size(), std::min<size_t>(40, y.numel() / 8)) << what << ": outputs barely vary";
  if (y.numel() >= 1000) {
    EXPECT_TRUE(at_lo && at_hi) << what << ": the case never saturates";
  }
}

LEANCNN_COVERS("QAddConformance.*BitExact", "QAdd", kQAdd);
LEANCNN_COVERS_WHERE("QAddConformance.*BitExact", "QAdd", kQAddAvx2, avx2_here);

TEST(QAddConformance, EveryShapeAndQuantizationNchwAndChannelsLastBitExact) {
  uint64_t seed = 1;
  for (const std::array<Q, 3>& q : quantizations())
    for (const bool relu : {false, true})
      for (const Shape& s : shapes_4d()) {
        const std::string what = describe(s, q, relu);
        const OpCase c = qadd_case(s, q[0], q[1], q[2], relu, seed++);
        const KernelForward ref = run_forward(c, false);
        ASSERT_EQ(ref.kernel, "reference");
        const KernelForward fast = run_forward(c, true);
        EXPECT_EQ(fast.kernel, expected_qadd()) << what;
        expect_identical(fast.outputs[0], ref.outputs[0], what + " (dispatched, NCHW)");
        for (const std::string& k : qadd_kernels_here()) {
          expect_identical(run_named(c, k, false), ref.outputs[0], what + " (" + k + ", NCHW)");
          expect_identical(run_named(c, k, true), ref.outputs[0], what + " (" + k + ", NHWC a, b, y)");
        }
        if (!relu) expect_spread(ref.outputs[0], what);
      }
}

TEST(QAddConformance, OtherRanksBitExact) {
  uint64_t seed = 500;
  for (const std::array<Q, 3>& q : quantizations())
    for (const bool relu : {false, true})
      for (const Shape& s : shapes_other()) {
        const std::string what = describe(s, q, relu);
        const OpCase c = qadd_case(s, q[0], q[1], q[2], relu, seed++);
        const KernelForward fast = run_forward(c, true);
        EXPECT_EQ(fast.kernel, expected_qadd()) << what;
        const Tensor want = run_forward(c, false).outputs[0];
        expect_identical(fast.outputs[0], want, what);
        for (const std::string& k : qadd_kernels_here()) expect_identical(run_named(c, k, false), want, what + " " + k);
      }
}

// Sums exactly halfway between two output codes must round half to even on both sides:
// a, b on the scale 0.5 and y on the scale 1 make every odd code sum a tie.
TEST(QAddConformance, RoundingTiesHalfToEvenBitExact) {
  for (const DType t : {DType::u8, DType::s8}) {
    OpCase c = qadd_case({1, 4, 16, 16}, {t, 0.5f, 0}, {t, 0.5f, 0}, {t, 1.f, 0}, false, 9);
    const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
    EXPECT_EQ(fast.kernel, expected_qadd());
    expect_identical(fast.outputs[0], ref.outputs[0], str_cat("ties ", dtype_name(t)));
    for (const std::string& k : qadd_kernels_here())
      expect_identical(run_named(c, k, true), ref.outputs[0], str_cat("ties ", dtype_name(t), " NHWC ", k));
  }
}

// A CPU without AVX2 dispatches to the op's loop (the AVX2 kernel declines and says why).
TEST(QAddConformance, WithoutAvx2TheOpLoopRuns) {
  CpuFeatures sse_only = kernels::int8_cpu_features();
  sse_only.avx2 = false;
  sse_only.avx512f = sse_only.avx512bw = sse_only.avx512vnni = sse_only.avx_vnni = false;
  kernels::inject_int8_cpu_features(&sse_only);
  const OpCase c = qadd_case({1, 5, 9, 11}, {DType::u8, 0.03f, 7}, {DType::s8, 0.02f, -3}, {DType::u8, 0.04f, 11}, true, 77);
  const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  kernels::inject_int8_cpu_features(nullptr);
  EXPECT_EQ(fast.kernel, kQAdd);
  expect_identical(fast.outputs[0], ref.outputs[0], "without AVX2");
}

// --- through an inference plan ---

ir::ValueId add_qconv(ir::Graph& g, ir::ValueId x, ir::ValueId qs, ir::ValueId qz, int64_t ic, int64_t oc, Rng& rng,
                      const std::string& name) {
  Tensor w = random_ints({oc, ic, 3, 3}, DType::s8, rng, -64, 63);  // 7 bits: oneDNN takes it on any CPU
  ir::Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const ir::ValueId y = g.add_value(name);
  g.add_node("QLinearFusedConv",
             {x, qs, qz, g.add_initializer(name + "_w", w, false),
              g.add_initializer(name + "_ws", Tensor::from_floats({}, {0.004f}), false),
              g.add_initializer(name + "_wz", Tensor::from_ints({}, {0}, DType::s8), false), qs, qz},
             {y}, a, name, ir::kLeancnnDomain);
  return y;
}

// input u8 -> qconv a -> qconv b; QAdd(a, b) with Relu -> qconv c -> output: the QAdd's three
// activations sit between integer convs, so the plan can keep all of them NHWC.
ir::Graph residual_graph() {
  ir::Graph g;
  Rng rng(41);
  const ir::ValueId qs = g.add_initializer("act_scale", Tensor::from_floats({}, {0.05f}), false);
  const ir::ValueId qz = g.add_initializer("act_zp", Tensor::from_ints({}, {3}, DType::u8), false);
  const ir::ValueId x = g.add_input("input", {1, 6, 11, 9}, DType::u8);
  const ir::ValueId a = add_qconv(g, x, qs, qz, 6, 16, rng, "a");
  const ir::ValueId b = add_qconv(g, a, qs, qz, 16, 16, rng, "b");
  const ir::ValueId sum = g.add_value("sum");
  ir::Attributes relu;
  relu.set("activation", std::string("Relu"));
  g.add_node("QAdd",
             {a, qs, qz, b, g.add_initializer("b_scale", Tensor::from_floats({}, {0.035f}), false), qz,
              g.add_initializer("sum_scale", Tensor::from_floats({}, {0.07f}), false),
              g.add_initializer("sum_zp", Tensor::from_ints({}, {0}, DType::u8), false)},
             {sum}, relu, "add", ir::kLeancnnDomain);
  g.mark_output(add_qconv(g, sum, qs, qz, 16, 8, rng, "c"));
  ir::infer_shapes(g, ops::op_table());
  return g;
}

TEST(QAddConformance, PlansKeepResidualActivationsChannelsLast) {
  const ir::Graph g = residual_graph();
  runtime::Plan fast = runtime::Plan::compile(g);
  runtime::Plan nchw = runtime::Plan::compile(g, {.channels_last = false});
  runtime::Plan ref = runtime::Plan::compile(g, {.use_kernels = false});
  for (int64_t batch : {1, 2}) {
    SCOPED_TRACE(str_cat("batch ", batch));
    Rng rng(70 + batch);
    const Tensor x = random_ints({batch, 6, 11, 9}, DType::u8, rng, 0, 255);
    const std::vector<Tensor> want = ref.run({x});
    for (runtime::Plan* p : {&fast, &nchw}) expect_identical(p->run({x})[0], want[0], "plan output");
  }
  bool fast_convs = true;
  for (const runtime::PlanStep& s : fast.steps()) {
    SCOPED_TRACE(s.name);
    if (s.op_type == "QLinearFusedConv") fast_convs = fast_convs && s.kernel == "dnnl_qconv_u8s8";
    if (s.op_type == "QAdd") {
      EXPECT_EQ(s.kernel, expected_qadd());
    }
  }
  for (const runtime::PlanStep& s : nchw.steps()) EXPECT_EQ(s.channels_last, 0u) << s.name;
  if (!fast_convs) GTEST_SKIP() << "the integer conv kernel declined: no channels-last producers";
  for (const runtime::PlanStep& s : fast.steps())
    if (s.op_type == "QAdd") {
      EXPECT_EQ(s.channels_last, ir::channels_last_input(0) | ir::channels_last_input(3) | ir::channels_last_output(0));
    }
}

}  // namespace
}  // namespace leancnn::testing
