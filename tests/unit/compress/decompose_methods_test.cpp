// Decomposition's graph passes: each method's chain is a valid graph (shape inference, verify),
// computes the layer's output exactly at full rank and approximately below it, costs the MACs
// decomposed_cost says, and refuses layers it does not apply to.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/compress/decompose/factorize.h"
#include "leancnn/compress/decompose/methods.h"
#include "leancnn/compress/decompose/rank_selection.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"

namespace leancnn::compress::decompose {
namespace {

Tensor random_tensor(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_normal(t, 0.f, 1.f);
  return t;
}

// x [1, ic, 11, 9] -> Conv (oc, k x k, stride 2, asymmetric pads, bias) -> y.
ir::Graph conv_graph(int64_t oc, int64_t ic, int64_t kh, int64_t kw, uint64_t seed) {
  ir::Graph g;
  const ir::ValueId x = g.add_input("x", {1, ic, 11, 9});
  const ir::ValueId w = g.add_initializer("w", random_tensor({oc, ic, kh, kw}, seed), true);
  const ir::ValueId b = g.add_initializer("b", random_tensor({oc}, seed + 1), true);
  const ir::ValueId y = g.add_value("y");
  ir::Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{kh, kw});
  a.set("strides", std::vector<int64_t>{2, 1});
  a.set("pads", std::vector<int64_t>{1, 0, 2, 1});
  g.add_node("Conv", {x, w, b}, {y}, a, "conv");
  g.mark_output(y);
  ir::infer_shapes(g, ops::op_table());
  return g;
}

// x [1, 24] -> Gemm (W [10, 24] transB, bias) -> y.
ir::Graph gemm_graph(uint64_t seed) {
  ir::Graph g;
  const ir::ValueId x = g.add_input("x", {1, 24});
  const ir::ValueId w = g.add_initializer("w", random_tensor({10, 24}, seed), true);
  const ir::ValueId b = g.add_initializer("b", random_tensor({10}, seed + 1), true);
  const ir::ValueId y = g.add_value("y");
  ir::Attributes a;
  a.set("transB", int64_t{1});
  g.add_node("Gemm", {x, w, b}, {y}, a, "fc");
  g.mark_output(y);
  ir::infer_shapes(g, ops::op_table());
  return g;
}

Tensor run_graph(ir::Graph g, const Tensor& x) {
  runtime::Executor ex(g, ops::op_table(), {.use_kernels = false});
  return ex.forward({{"x", x}}).at(0);
}

double rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    num += std::pow(a.at(i) - b.at(i), 2);
    den += std::pow(a.at(i), 2);
  }
  return std::sqrt(num / den);
}

struct Case {
  Method method;
  int64_t kh, kw;
};

class DecomposeMethod : public ::testing::TestWithParam<Case> {};

TEST_P(DecomposeMethod, FullRankChainComputesTheLayerAndLowRankApproximatesIt) {
  const Case c = GetParam();
  ir::Graph g = conv_graph(8, 6, c.kh, c.kw, 11);
  if (c.method == Method::cp) {
    // CP's rank is not bounded by the kernel's sides: give the layer a kernel of exact CP rank 3,
    // which rank 3 must then reproduce.
    Cp truth{random_tensor({8, 3}, 31), random_tensor({6, 3}, 32), random_tensor({c.kh, 3}, 33),
             random_tensor({c.kw, 3}, 34)};
    g.value(g.find_value("w")).data.copy_from(cp_kernel(truth));
  }
  const ir::NodeId conv = g.topo_order().at(0);
  const Tensor x = random_tensor({2, 6, 11, 9}, 12);
  const Tensor want = run_graph(g, x);
  ASSERT_EQ(not_applicable(g, g.node(conv), c.method), "");

  std::vector<int64_t> full = max_ranks(g, g.node(conv), c.method);
  if (c.method == Method::cp) full = {3};
  ir::Graph d = g;
  const Rewrite rw = decompose_layer(d, conv, c.method, full, {.cp_iters = 1000, .cp_tol = 1e-12});
  ir::infer_shapes(d, ops::op_table());
  ir::verify(d, ops::op_table());
  EXPECT_EQ(d.value(d.outputs()[0]).shape, g.value(g.outputs()[0]).shape);
  const double tol = c.method == Method::cp ? 1e-3 : 1e-5;
  EXPECT_LT(rw.rel_error, tol);
  EXPECT_LT(rel_diff(want, run_graph(d, x)), tol);
  // The original weight is gone; the bias moved to the chain's last node.
  EXPECT_FALSE(d.value(d.find_value("w")).is_initializer());
  EXPECT_EQ(d.node(rw.nodes.back()).inputs.size(), 3u);

  // A low rank: an approximation whose output error follows the weight error, and the MACs the
  // cost model says.
  std::vector<int64_t> low = ratio_ranks(g, g.node(conv), c.method, 0.25);
  if (c.method == Method::cp) low = {1};
  ir::Graph l = g;
  const Rewrite lw = decompose_layer(l, conv, c.method, low);
  ir::infer_shapes(l, ops::op_table());
  ir::verify(l, ops::op_table());
  EXPECT_GT(lw.rel_error, 0.05);
  const double out_err = rel_diff(want, run_graph(l, x));
  EXPECT_GT(out_err, 0.01);
  EXPECT_LT(out_err, 1.5);
  EXPECT_EQ(ir::summarize(l, ops::op_table()).macs, decomposed_cost(g, g.node(conv), c.method, low).macs);
  EXPECT_EQ(ir::summarize(g, ops::op_table()).macs, layer_cost(g, g.node(conv)).macs);
  EXPECT_EQ(ir::summarize(l, ops::op_table()).params, decomposed_cost(g, g.node(conv), c.method, low).params);
}

INSTANTIATE_TEST_SUITE_P(Methods, DecomposeMethod,
                         ::testing::Values(Case{Method::channel_svd, 3, 3}, Case{Method::spatial_svd, 3, 3},
                                           Case{Method::spatial_svd, 3, 5}, Case{Method::tucker2, 3, 3},
                                           Case{Method::tucker2, 5, 3}, Case{Method::cp, 3, 3}),
                         [](const auto& param_info) {
                           return std::string(method_name(param_info.param.method)) + "_" + std::to_string(param_info.param.kh) +
                                  "x" + std::to_string(param_info.param.kw);
                         });

TEST(DecomposeSvd, GemmChainIsExactAtFullRank) {
  const ir::Graph g = gemm_graph(21);
  const ir::NodeId fc = g.topo_order().at(0);
  const Tensor x = random_tensor({3, 24}, 22);
  const Tensor want = run_graph(g, x);
  ir::Graph d = g;
  const Rewrite rw = decompose_layer(d, fc, Method::svd, {10});
  ir::infer_shapes(d, ops::op_table());
  ir::verify(d, ops::op_table());
  EXPECT_EQ(rw.nodes.size(), 2u);
  EXPECT_LT(rel_diff(want, run_graph(d, x)), 1e-5);
  ir::Graph l = g;
  decompose_layer(l, fc, Method::svd, {3});
  ir::infer_shapes(l, ops::op_table());
  EXPECT_GT(rel_diff(want, run_graph(l, x)), 0.05);
  EXPECT_EQ(decomposed_cost(g, g.node(fc), Method::svd, {3}).macs, 3 * (10 + 24));
}

TEST(DecomposeMethods, RefuseLayersTheyDoNotApplyTo) {
  const ir::Graph gemm = gemm_graph(1);
  const ir::Node& fc = gemm.node(gemm.topo_order()[0]);
  EXPECT_NE(not_applicable(gemm, fc, Method::tucker2), "");
  EXPECT_EQ(not_applicable(gemm, fc, Method::svd), "");
  const ir::Graph pw = conv_graph(4, 4, 1, 1, 2);
  EXPECT_NE(not_applicable(pw, pw.node(pw.topo_order()[0]), Method::tucker2), "");  // 1x1
  const ir::Graph kx1 = conv_graph(4, 4, 3, 1, 3);
  EXPECT_NE(not_applicable(kx1, kx1.node(kx1.topo_order()[0]), Method::spatial_svd), "");
  EXPECT_EQ(not_applicable(kx1, kx1.node(kx1.topo_order()[0]), Method::channel_svd), "");
  ir::Graph g = conv_graph(4, 4, 3, 3, 4);
  EXPECT_THROW(decompose_layer(g, g.topo_order()[0], Method::svd, {2}), Error);
  EXPECT_THROW(decompose_layer(g, g.topo_order()[0], Method::tucker2, {5, 2}), Error);  // r_in > IC
  EXPECT_THROW(decompose_layer(g, g.topo_order()[0], Method::tucker2, {2}), Error);     // two ranks
  EXPECT_THROW(parse_method("ht"), Error);  // hierarchical Tucker: not a method
}

TEST(DecomposeRanks, LadderIsStrictlyCheaperAndEnergyRanksGrowWithEnergy) {
  const ir::Graph g = conv_graph(16, 12, 3, 3, 5);
  const ir::Node& n = g.node(g.topo_order()[0]);
  for (Method m : {Method::channel_svd, Method::spatial_svd, Method::tucker2, Method::cp}) {
    const std::vector<RankOption> ladder = rank_ladder(g, n, m, CostUnit::macs);
    ASSERT_FALSE(ladder.empty()) << method_name(m);
    int64_t last = layer_cost(g, n).macs;
    for (const RankOption& o : ladder) {
      EXPECT_LT(o.cost.macs, last) << method_name(m);
      last = o.cost.macs;
    }
    if (m == Method::cp) continue;
    const std::vector<int64_t> lo = energy_ranks(g, n, m, 0.5), hi = energy_ranks(g, n, m, 0.99);
    for (size_t i = 0; i < lo.size(); ++i) EXPECT_LE(lo[i], hi[i]) << method_name(m);
    const double e_lo = factorisation_error(g, n, m, lo), e_hi = factorisation_error(g, n, m, hi);
    EXPECT_GT(e_lo, e_hi);
    if (m != Method::tucker2) {
      EXPECT_LE(e_hi * e_hi, 0.01 + 1e-6);  // energy 0.99: at most 1 % lost
    }
  }
  // CP by energy: the bisection's rank keeps the asked share.
  const std::vector<int64_t> r = energy_ranks(g, n, Method::cp, 0.6);
  EXPECT_LE(1 - std::pow(factorisation_error(g, n, Method::cp, r), 2), 1.0);
  EXPECT_GE(1 - std::pow(factorisation_error(g, n, Method::cp, r), 2), 0.6 - 1e-9);
}

// round_to: ranks to the nearest multiple (halves up), at least the multiple, at most the largest
// rank; ranks whose largest is below the multiple, and tt / tr bond ranks, stay.
TEST(DecomposeRanks, RoundedToMultiples) {
  EXPECT_EQ(rounded_ranks({10, 10}, {16, 16}, Method::tucker2, 8), (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(rounded_ranks({12, 13}, {16, 16}, Method::tucker2, 8), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(rounded_ranks({3, 20}, {16, 24}, Method::tucker2, 8), (std::vector<int64_t>{8, 24}));
  EXPECT_EQ(rounded_ranks({5}, {6}, Method::channel_svd, 8), (std::vector<int64_t>{5}));      // largest below 8
  EXPECT_EQ(rounded_ranks({30}, {33}, Method::cp, 16), (std::vector<int64_t>{32}));
  EXPECT_EQ(rounded_ranks({28}, {30}, Method::svd, 8), (std::vector<int64_t>{30}));            // capped at the largest
  EXPECT_EQ(rounded_ranks({3, 5}, {8, 8}, Method::tt, 8), (std::vector<int64_t>{3, 5}));       // bond ranks stay
  EXPECT_EQ(rounded_ranks({10, 11}, {16, 16}, Method::tucker2, 1), (std::vector<int64_t>{10, 11}));
  // The ladder at multiples of 8: every rung's ranks are multiples, and still strictly cheaper.
  const ir::Graph g = conv_graph(32, 24, 3, 3, 7);
  const ir::Node& n = g.node(g.topo_order()[0]);
  const std::vector<RankOption> ladder = rank_ladder(g, n, Method::tucker2, CostUnit::macs, {}, 8);
  ASSERT_FALSE(ladder.empty());
  int64_t last = layer_cost(g, n).macs;
  for (const RankOption& o : ladder) {
    for (int64_t r : o.ranks) EXPECT_EQ(r % 8, 0) << r;
    EXPECT_LT(o.cost.macs, last);
    last = o.cost.macs;
  }
}

}  // namespace
}  // namespace leancnn::compress::decompose
