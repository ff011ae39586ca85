// The XNOR-popcount kernels of ai.leancnn BinaryConv (kernels/binary) against the reference, bit
// for bit: 1x1, 3x3 and 5x3 filters, strides, symmetric and asymmetric padding (padded taps add
// 0), dilation, channel counts around the 64-bit word (1, 3, 63, 64, 65, 130) and below it
// (16, 24, 32, 40: dense patches), output channels around the 8- and 16-channel blocks, batch 1-3,
// with and without bias and XNOR-Net's mean |x| input scale, 2-D (fully connected) calls; each
// unprepared and prepared (the weights NaN after prepare). Rows of zero weights (alpha 0) too.
#include <gtest/gtest.h>

#include <cstring>

#include "conformance_util.h"
#include "kernel_coverage.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "prepared_run.h"

namespace leancnn::testing {
namespace {

bool avx2_here() { return cpu_features().avx2; }
bool avx512_here() { return cpu_features().avx512f && cpu_features().avx512vpopcntdq; }

// Binary weights: each row ±alpha_r with random signs (row 2 all zero when zero_row).
Tensor binary_weights(const Shape& s, Rng& rng, bool zero_row) {
  Tensor w = Tensor::empty(s);
  const int64_t rows = s[0], inner = w.numel() / rows;
  for (int64_t r = 0; r < rows; ++r) {
    const float alpha = zero_row && r == 2 ? 0.f : rng.uniform(0.05f, 2.f);
    for (int64_t i = 0; i < inner; ++i) w.data<float>()[r * inner + i] = rng.uniform() < 0.5f ? -alpha : alpha;
  }
  return w;
}

// Exact equality, NaN (an unwritten output) included as a failure.
void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (!(a.data<float>()[i] == b.data<float>()[i])) {
      if (first < 0) first = i;
      ++bad;
    }
  EXPECT_EQ(bad, 0) << what << ": first mismatch at " << first << ": " << (first >= 0 ? a.data<float>()[first] : 0.f)
                    << " vs " << (first >= 0 ? b.data<float>()[first] : 0.f);
}

struct Cfg {
  int64_t n, ic, oc, h, w, kh, kw, stride, dil;
  std::vector<int64_t> pads;  // t, l, b, r
  bool bias, scaled;
};

OpCase conv_case(const Cfg& c, uint64_t seed) {
  Rng rng(seed);
  OpCase oc;
  oc.op_type = "BinaryConv";
  oc.domain = "ai.leancnn";
  Tensor x = random_tensor({c.n, c.ic, c.h, c.w}, rng, -2.f, 2.f);
  x.data<float>()[0] = 0.f;  // sign(0) = +1 on both sides
  oc.inputs = {x, binary_weights({c.oc, c.ic, c.kh, c.kw}, rng, c.oc > 2)};
  if (c.bias) oc.inputs.push_back(random_tensor({c.oc}, rng));
  oc.attrs.set("kernel_shape", std::vector<int64_t>{c.kh, c.kw});
  oc.attrs.set("strides", std::vector<int64_t>{c.stride, c.stride});
  oc.attrs.set("dilations", std::vector<int64_t>{c.dil, c.dil});
  oc.attrs.set("pads", c.pads);
  oc.attrs.set("input_scale", std::string(c.scaled ? "mean_abs" : "none"));
  return oc;
}

std::vector<Cfg> configs() {
  return {
      {1, 64, 16, 7, 7, 3, 3, 1, 1, {1, 1, 1, 1}, true, false},
      {1, 1, 5, 5, 6, 3, 3, 1, 1, {1, 1, 1, 1}, false, false},
      {3, 3, 4, 6, 5, 3, 3, 2, 1, {1, 0, 2, 1}, true, true},
      {1, 63, 17, 5, 5, 3, 3, 1, 2, {2, 2, 2, 2}, true, false},
      {2, 65, 9, 4, 7, 1, 1, 1, 1, {0, 0, 0, 0}, true, true},
      {1, 130, 33, 6, 6, 3, 3, 1, 1, {1, 1, 1, 1}, false, true},
      {1, 64, 8, 9, 9, 1, 1, 2, 1, {0, 0, 0, 0}, true, false},
      {1, 7, 6, 8, 7, 5, 3, 1, 1, {2, 1, 2, 1}, true, false},
      {1, 256, 12, 4, 4, 3, 3, 1, 1, {1, 1, 1, 1}, true, false},
      {1, 300, 6, 3, 3, 3, 3, 1, 1, {1, 1, 1, 1}, true, true},
      // Dense patch packing: several taps per word (16, 32), taps straddling words (24, 40).
      {1, 16, 16, 9, 10, 3, 3, 1, 1, {1, 1, 1, 1}, true, true},
      {2, 24, 11, 7, 7, 3, 3, 2, 1, {1, 1, 1, 1}, false, false},
      {1, 32, 24, 6, 5, 3, 3, 1, 1, {0, 1, 2, 1}, true, false},
      {1, 40, 40, 5, 5, 3, 3, 1, 2, {2, 2, 2, 2}, true, true},
      {1, 10, 12, 9, 9, 8, 8, 1, 1, {3, 3, 4, 4}, true, false},  // 64 taps: every bit of a border mask
  };
}

void check_kernel(const std::string& kernel, const OpCase& c, const std::string& what) {
  const OpRun ref = run_reference(c);
  const KernelForward fwd = run_forward_with(c, kernel);
  expect_identical(fwd.outputs[0], ref.outputs[0], what + " unprepared");
  PrepareOptions opt;
  opt.constant = c.inputs.size() > 2 ? std::vector<int>{1, 2} : std::vector<int>{1};
  opt.runs = 2;
  const PreparedForward p = run_forward_prepared(c, kernel, opt);
  EXPECT_TRUE(p.prepared);
  expect_identical(p.fwd.outputs[0], ref.outputs[0], what + " prepared");
}

void run_all(const std::string& kernel) {
  uint64_t seed = 11;
  for (const Cfg& cfg : configs()) {
    const std::string what = kernel + " ic " + std::to_string(cfg.ic) + " oc " + std::to_string(cfg.oc) + " k " +
                             std::to_string(cfg.kh) + "x" + std::to_string(cfg.kw) + " s " + std::to_string(cfg.stride);
    check_kernel(kernel, conv_case(cfg, seed++), what);
  }
  // Fully connected: X [N, K], W [OC, K].
  for (int64_t k : {1, 64, 100, 577, 4500}) {  // 4500: 71 words, past the in-register patch paths
    Rng rng(seed++);
    OpCase c;
    c.op_type = "BinaryConv";
    c.domain = "ai.leancnn";
    c.inputs = {random_tensor({3, k}, rng), binary_weights({10, k}, rng, true), random_tensor({10}, rng)};
    c.attrs.set("input_scale", std::string(k % 2 ? "mean_abs" : "none"));
    check_kernel(kernel, c, kernel + " fc k " + std::to_string(k));
  }
}

constexpr const char* kAvx512 = "cpu_binary_conv_b1_avx512";
constexpr const char* kAvx2 = "cpu_binary_conv_b1_avx2";

TEST(BinaryConvConformance, Avx512MatchesReferenceBitExact) {
  if (!avx512_here()) GTEST_SKIP() << "no AVX-512 VPOPCNTDQ here (or capped)";
  run_all(kAvx512);
}
LEANCNN_COVERS_WHERE("BinaryConvConformance.Avx512*", "BinaryConv", kAvx512, avx512_here);

TEST(BinaryConvConformance, Avx2MatchesReferenceBitExact) {
  if (!avx2_here()) GTEST_SKIP() << "no AVX2 here";
  run_all(kAvx2);
}
LEANCNN_COVERS_WHERE("BinaryConvConformance.Avx2*", "BinaryConv", kAvx2, avx2_here);

// Weights that are not ±alpha per row: every fast kernel declines, the reference rejects them.
TEST(BinaryConvConformance, NonBinaryWeightsDeclined) {
  OpCase c = conv_case({1, 8, 4, 5, 5, 3, 3, 1, 1, {1, 1, 1, 1}, false, false}, 5);
  c.inputs[1].data<float>()[1] *= 0.5f;
  const KernelForward f = [&] {
    try {
      return run_forward(c, true);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not binary"), std::string::npos) << e.what();
      return KernelForward{"reference-rejected", {}, {}, {}};
    }
  }();
  EXPECT_EQ(f.kernel, "reference-rejected");
}

// Past 64 taps (a border mask per pixel is one word) the fast kernels decline and the reference
// runs.
TEST(BinaryConvConformance, MoreThan64TapsDeclined) {
  const OpCase c = conv_case({1, 4, 3, 9, 9, 9, 9, 1, 1, {4, 4, 4, 4}, false, false}, 7);
  const KernelForward f = run_forward(c, true);
  EXPECT_NE(f.kernel, kAvx512);
  EXPECT_NE(f.kernel, kAvx2);
  expect_identical(f.outputs[0], run_reference(c).outputs[0], "9x9");
}

}  // namespace
}  // namespace leancnn::testing
