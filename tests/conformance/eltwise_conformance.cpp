// Element-wise activations: the oneDNN kernels (forward and d_src) and our inference Relu against
// the references over
// odd sizes (vector tails) and the exact corner values where subgradient conventions matter
// (0 for Relu, +-3 for HardSwish, min and max for Clip, the two kinks for HardSigmoid).
// dnnl_hard_sigmoid_f32 always declines (oneDNN 2.6 has no hardsigmoid): its cases expect that
// decline and its reason on every shape, forward and backward, and the reference's result.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "conformance_util.h"
#include "kernel_coverage.h"

namespace leancnn::testing {
namespace {

// Random values in [-6, 6) with the given values planted at spread-out positions.
Tensor activation_input(const Shape& shape, const std::vector<float>& planted, uint64_t seed) {
  Rng rng(seed);
  Tensor x = random_tensor(shape, rng, -6.f, 6.f);
  float* p = x.data<float>();
  for (int64_t i = 0; i < static_cast<int64_t>(planted.size()) && i < x.numel(); ++i)
    p[(i * 7919) % x.numel()] = planted[static_cast<size_t>(i)];
  return x;
}

// Each corner value and its two float neighbours.
std::vector<float> with_neighbours(const std::vector<float>& corners) {
  std::vector<float> v;
  for (float c : corners)
    for (float x : {c, std::nextafter(c, -INFINITY), std::nextafter(c, INFINITY)}) v.push_back(x);
  return v;
}

struct EltCase {
  const char* name;
  const char* op;
  std::vector<float> planted;  // values planted in the input besides the random ones
  bool neighbours = true;      // plant their float neighbours too
  bool has_min = false, has_max = false;
  float min = 0.f, max = 0.f;
  const char* declines = nullptr;  // the kernel declines every call, with this reason
  float alpha = NAN, beta = NAN;   // HardSigmoid's attributes, when set
};

void PrintTo(const EltCase& c, std::ostream* os) { *os << c.name; }

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> s = {{17}, {1, 3, 5, 7}, {5, 13, 7, 7}, {2, 64, 14, 14}, {3, 1000}};
  return s;
}

OpCase elt_case(const EltCase& e, const Shape& shape, uint64_t seed) {
  OpCase c;
  c.op_type = e.op;
  std::vector<float> planted = e.planted;
  if (e.has_min) planted.push_back(e.min);
  if (e.has_max) planted.push_back(e.max);
  c.inputs = {activation_input(shape, e.neighbours ? with_neighbours(planted) : planted, seed)};
  if (e.has_min || e.has_max) {
    c.inputs.push_back(e.has_min ? Tensor::from_floats({}, {e.min}) : Tensor());
    if (e.has_max) c.inputs.push_back(Tensor::from_floats({}, {e.max}));
  }
  if (!std::isnan(e.alpha)) c.attrs.set("alpha", e.alpha);
  if (!std::isnan(e.beta)) c.attrs.set("beta", e.beta);
  return c;
}

// The kernel dispatch picks: an inference Relu forward is ours, everything else oneDNN's.
std::string kernel_name(const std::string& op, bool inference = false) {
  if (op == "Relu") return inference ? "cpu_relu_f32" : "dnnl_relu_f32";
  if (op == "Sigmoid") return "dnnl_sigmoid_f32";
  if (op == "Clip") return "dnnl_clip_f32";
  if (op == "HardSigmoid") return "dnnl_hard_sigmoid_f32";
  return "dnnl_hard_swish_f32";
}

// The kernel that runs the case, and for a declining kernel its decline in the dispatch log.
void expect_kernel(const EltCase& e, const std::string& ran, const std::string& log, bool inference = false) {
  if (!e.declines) {
    EXPECT_EQ(ran, kernel_name(e.op, inference));
    return;
  }
  EXPECT_EQ(ran, "reference");
  EXPECT_NE(log.find(kernel_name(e.op) + " declined: " + e.declines), std::string::npos) << log;
}

class EltwiseConformance : public ::testing::TestWithParam<EltCase> {};

TEST_P(EltwiseConformance, ForwardAndBackwardMatchReference) {
  const EltCase& e = GetParam();
  uint64_t seed = 40;
  for (const Shape& shape : shapes()) {
    SCOPED_TRACE(shape_str(shape));
    OpCase c = elt_case(e, shape, ++seed);
    KernelForward fast;
    const std::string log = dispatch_log_of([&] { fast = run_forward(c, true); });
    const KernelForward ref = run_forward(c, false);
    expect_kernel(e, fast.kernel, log, true);
    ASSERT_EQ(ref.kernel, "reference");
    // One rounding (or one polynomial approximation, for the logistic) per element.
    expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(1), "dst");

    c.training = true;
    Rng rng(seed + 100);
    const Tensor d_dst = random_tensor(shape, rng);
    const KernelForward fwd = run_forward(c, true);
    EXPECT_TRUE(fwd.saved.empty());
    if (!e.declines) {
      EXPECT_EQ(fwd.kernel, kernel_name(e.op));
    }
    expect_close(fwd.outputs[0], ref.outputs[0], fp32_tol(1), "dst (training forward)");
    KernelBackward fb;
    const std::string blog = dispatch_log_of([&] { fb = run_backward(c, fwd, {d_dst}, {0}, true); });
    const KernelBackward rb = run_backward(c, fwd, {d_dst}, {0}, false);
    expect_kernel(e, fb.kernel, blog);
    // Exact agreement is expected at the planted corners (a wrong convention differs by |d_dst|).
    expect_close(fb.d_inputs[0], rb.d_inputs[0], fp32_tol(1), "d_src");
  }
}

constexpr float kLowest = std::numeric_limits<float>::lowest();
constexpr const char* kNoHardSigmoid = "oneDNN 2.6 has no eltwise_hardsigmoid";

LEANCNN_COVERS("Ops/EltwiseConformance.ForwardAndBackwardMatchReference/relu", "Relu", "dnnl_relu_f32");
LEANCNN_COVERS("Ops/EltwiseConformance.ForwardAndBackwardMatchReference/relu", "Relu", "cpu_relu_f32");
LEANCNN_COVERS("Ops/EltwiseConformance.ForwardAndBackwardMatchReference/sigmoid", "Sigmoid", "dnnl_sigmoid_f32");
LEANCNN_COVERS("Ops/EltwiseConformance.ForwardAndBackwardMatchReference/hard_swish", "HardSwish", "dnnl_hard_swish_f32");
LEANCNN_COVERS("Ops/EltwiseConformance.ForwardAndBackwardMatchReference/clip_*", "Clip", "dnnl_clip_f32");
LEANCNN_COVERS_DECLINE("Ops/EltwiseConformance.ForwardAndBackwardMatchReference/hard_sigmoid*", "HardSigmoid",
                       "dnnl_hard_sigmoid_f32");

// Our Relu gives the reference's x > 0 ? x : 0 bit for bit, NaN (-> 0) and infinities included.
LEANCNN_COVERS("EltwiseConformance.ReluNanAndInfinitiesAsTheReference", "Relu", "cpu_relu_f32");
TEST(EltwiseConformance, ReluNanAndInfinitiesAsTheReference) {
  OpCase c;
  c.op_type = "Relu";
  c.inputs = {activation_input({3, 70000}, {NAN, -NAN, INFINITY, -INFINITY, 0.f, -0.f}, 47)};  // OpenMP-sized
  const KernelForward fast = run_forward(c, true), ref = run_forward(c, false);
  ASSERT_EQ(fast.kernel, "cpu_relu_f32");
  ASSERT_EQ(fast.outputs[0].nbytes(), ref.outputs[0].nbytes());
  EXPECT_EQ(std::memcmp(fast.outputs[0].raw(), ref.outputs[0].raw(), ref.outputs[0].nbytes()), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Ops, EltwiseConformance,
    ::testing::Values(EltCase{"relu", "Relu", {0.f, -0.f}}, EltCase{"sigmoid", "Sigmoid", {0.f, -20.f, 20.f}},
                      EltCase{"hard_swish", "HardSwish", {-3.f, 3.f, 0.f}},
                      EltCase{"clip_min_max", "Clip", {}, true, true, true, -0.5f, 0.75f},
                      EltCase{"clip_min_only", "Clip", {}, true, true, false, -1.25f, 0.f},
                      EltCase{"clip_max_only", "Clip", {}, true, false, true, 0.f, 2.5f},
                      EltCase{"clip_no_bounds", "Clip", {0.f}},
                      EltCase{"clip_lowest_min", "Clip", {}, true, true, true, kLowest, 1.f},
                      EltCase{"clip_min_above_max", "Clip", {}, true, true, true, 1.f, -1.f},
                      EltCase{"clip_min_eq_max", "Clip", {}, true, true, true, 0.5f, 0.5f},
                      // Kinks where alpha * x + beta is 0 and 1: x = -2.5, 2.5 (defaults), -0.5, 1.5.
                      EltCase{.name = "hard_sigmoid", .op = "HardSigmoid", .planted = {-2.5f, 2.5f, 0.f},
                              .declines = kNoHardSigmoid},
                      EltCase{.name = "hard_sigmoid_alpha_beta", .op = "HardSigmoid", .planted = {-0.5f, 1.5f},
                              .declines = kNoHardSigmoid, .alpha = 0.5f, .beta = 0.25f}),
    [](const ::testing::TestParamInfo<EltCase>& i) { return std::string(i.param.name); });

// oneDNN 2.6 has no hardsigmoid: the reference runs, and the dispatch log says why.
TEST(EltwiseDnnl, HardSigmoidDeclinesWithReason) {
  OpCase c;
  c.op_type = "HardSigmoid";
  Rng rng(50);
  c.inputs = {random_tensor({2, 3, 4, 5}, rng, -4.f, 4.f)};
  KernelForward fast;
  const std::string log = dispatch_log_of([&] { fast = run_forward(c, true); });
  EXPECT_EQ(fast.kernel, "reference");
  EXPECT_NE(log.find("dnnl_hard_sigmoid_f32 declined: oneDNN 2.6 has no eltwise_hardsigmoid"), std::string::npos)
      << log;
  expect_close(fast.outputs[0], run_forward(c, false).outputs[0], 0.0, "dst");
}

// Regression: HardSwish's reference backward once computed v = x / 6 + 1/2 in float and
// returned 1 when v >= 1, so for the float just below 3, v rounded to 1 and it returned 1
// instead of x / 3 + 1/2 ~ 1.5 (and 0 instead of ~ -0.5 just above -3). oneDNN returns the
// true derivative; the reference now tests x against +-3 directly.
TEST(EltwiseDnnl, HardSwishBackwardNextToCorners) {
  OpCase c;
  c.op_type = "HardSwish";
  c.inputs = {Tensor::from_floats({2}, {std::nextafter(3.f, 0.f), std::nextafter(-3.f, 0.f)})};
  c.training = true;
  const KernelForward fwd = run_forward(c, true);
  const Tensor d_dst = Tensor::full({2}, 1.f);
  const KernelBackward fb = run_backward(c, fwd, {d_dst}, {0}, true);
  const KernelBackward rb = run_backward(c, fwd, {d_dst}, {0}, false);
  ASSERT_EQ(fb.kernel, "dnnl_hard_swish_f32");
  EXPECT_NEAR(fb.d_inputs[0].at(0), 1.5f, 1e-6);  // d/dx x(x+3)/6 = x/3 + 1/2
  EXPECT_NEAR(fb.d_inputs[0].at(1), -0.5f, 1e-6);
  expect_close(fb.d_inputs[0], rb.d_inputs[0], fp32_tol(1), "d_src");
}

// Clip with min = -inf cannot match the reference's gradient at x = -inf: backward declines.
TEST(EltwiseDnnl, ClipBackwardWithInfiniteMinDeclines) {
  OpCase c;
  c.op_type = "Clip";
  c.inputs = {Tensor::from_floats({4}, {-INFINITY, -1.f, 0.f, 2.f}), Tensor::from_floats({}, {-INFINITY}),
              Tensor::from_floats({}, {1.f})};
  c.training = true;
  const KernelForward fwd = run_forward(c, true);
  EXPECT_EQ(fwd.kernel, "dnnl_clip_f32");
  KernelBackward fb;
  const std::string log = dispatch_log_of([&] { fb = run_backward(c, fwd, {Tensor::full({4}, 1.f)}, {0}, true); });
  EXPECT_EQ(fb.kernel, "reference");
  EXPECT_NE(log.find("dnnl_clip_f32 declined: Clip min is -inf"), std::string::npos) << log;
  EXPECT_EQ(fb.d_inputs[0].at(0), 1.f);  // the reference passes the gradient at x = min = -inf
}

}  // namespace
}  // namespace leancnn::testing
