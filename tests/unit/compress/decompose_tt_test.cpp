// Tensor-Train and Tensor-Ring FC layers: TT-SVD / TR-SVD reproduce the weight at full rank and
// their error formula is exact below it; the Reshape/Transpose/Gemm chain computes the layer,
// costs what the cost model says and trains (every core moves); the rank rules give ranks TT-SVD
// can reach; VBMF finds the rank of a noisy low-rank matrix; the budget's spectral proxy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "leancnn/compress/decompose/decompose.h"
#include "leancnn/compress/decompose/factorize.h"
#include "leancnn/compress/decompose/methods.h"
#include "leancnn/compress/decompose/rank_selection.h"
#include "leancnn/compress/decompose/tensor_train.h"
#include "leancnn/compress/decompose/vbmf.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/models/zoo.h"
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

// x [B, k] -> Gemm (W [n, k] transB, bias) -> y.
ir::Graph gemm_graph(int64_t n, int64_t k, uint64_t seed) {
  ir::Graph g;
  const ir::ValueId x = g.add_input("x", {1, k});
  const ir::ValueId w = g.add_initializer("w", random_tensor({n, k}, seed), true);
  const ir::ValueId b = g.add_initializer("b", random_tensor({n}, seed + 1), true);
  const ir::ValueId y = g.add_value("y");
  ir::Attributes a;
  a.set("transB", int64_t{1});
  g.add_node("Gemm", {x, w, b}, {y}, a, "fc");
  g.mark_output(y);
  ir::infer_shapes(g, ops::op_table());
  return g;
}

Tensor run_graph(ir::Graph g, const Tensor& x, bool kernels) {
  runtime::Executor ex(g, ops::op_table(), {.use_kernels = kernels});
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

TEST(TensorTrain, ModesAreBalancedFactors) {
  const TtModes m = tt_modes(3136, 128, 3);
  EXPECT_EQ(m.n, (std::vector<int64_t>{14, 14, 16}));
  EXPECT_EQ(m.m, (std::vector<int64_t>{4, 4, 8}));
  EXPECT_EQ(tt_modes(10, 7, 3).n, (std::vector<int64_t>{1, 2, 5}));
  EXPECT_EQ(tt_modes(10, 7, 3).m, (std::vector<int64_t>{1, 1, 7}));
  EXPECT_THROW(tt_modes(10, 7, 1), Error);
}

TEST(TensorTrain, FullRankIsExactAndTheErrorFormulaIsExactBelowIt) {
  const Tensor w = random_tensor({12, 18}, 3);
  for (int d : {2, 3}) {
    const TtModes modes = tt_modes(12, 18, d);
    for (bool ring : {false, true}) {
      const std::vector<int64_t> full = ring ? tr_max_ranks(modes) : tt_max_ranks(modes);
      const TensorTrain t = ring ? tr_svd_ranks(w, modes, full) : tt_svd_ranks(w, modes, full);
      EXPECT_EQ(t.cores.size(), static_cast<size_t>(d));
      EXPECT_LT(relative_error(w, tt_matrix(t, modes)), 1e-5) << d << ring;
      EXPECT_LT(t.rel_error, 1e-6);
      std::vector<int64_t> low = full;
      for (int64_t& r : low) r = std::max<int64_t>(1, r / 3);
      low = ring ? tr_clamp_ranks(modes, low) : tt_clamp_ranks(modes, low);
      const TensorTrain l = ring ? tr_svd_ranks(w, modes, low) : tt_svd_ranks(w, modes, low);
      EXPECT_EQ(l.ranks, low);
      const double actual = relative_error(w, tt_matrix(l, modes));
      EXPECT_GT(actual, 0.1);
      EXPECT_NEAR(l.rel_error, actual, 1e-4) << "d " << d << " ring " << ring;
    }
  }
  // Ranks TT-SVD cannot reach are refused.
  EXPECT_THROW(tt_svd_ranks(w, tt_modes(12, 18, 3), {1000, 2}), Error);
}

TEST(TensorTrain, EnergyKeepsTheAskedShare) {
  const Tensor w = random_tensor({16, 24}, 5);
  const TtModes modes = tt_modes(16, 24, 3);
  for (bool ring : {false, true})
    for (double e : {0.5, 0.9, 0.99}) {
      const TensorTrain t = tt_svd_energy(w, modes, e, ring);
      EXPECT_LE(t.rel_error * t.rel_error, 1 - e + 1e-9) << ring << " " << e;
      EXPECT_NEAR(relative_error(w, tt_matrix(t, modes)), t.rel_error, 1e-4);
    }
}

struct ChainCase {
  Method method;
  int d;
};

class TtChain : public ::testing::TestWithParam<ChainCase> {};

TEST_P(TtChain, ComputesTheLayerAtFullRankAndCostsWhatTheModelSays) {
  const ChainCase c = GetParam();
  const ir::Graph g = gemm_graph(12, 30, 7);
  const ir::NodeId fc = g.topo_order().at(0);
  const Tensor x = random_tensor({3, 30}, 8);
  const Tensor want = run_graph(g, x, false);
  const FactorOptions opt{.tt_cores = c.d};
  ASSERT_EQ(not_applicable(g, g.node(fc), c.method), "");
  for (double ratio : {1.0, 0.4}) {
    const std::vector<int64_t> ranks = ratio_ranks(g, g.node(fc), c.method, ratio, opt);
    ir::Graph d = g;
    const Rewrite rw = decompose_layer(d, fc, c.method, ranks, opt);
    ir::infer_shapes(d, ops::op_table());
    ir::verify(d, ops::op_table());
    EXPECT_FALSE(d.value(d.find_value("w")).is_initializer());
    const Tensor ref = run_graph(d, x, false), fast = run_graph(d, x, true);
    EXPECT_LT(rel_diff(ref, fast), 1e-5);
    if (ratio == 1.0) {
      EXPECT_LT(rw.rel_error, 1e-5);
      EXPECT_LT(rel_diff(want, ref), 1e-5);
    } else {
      EXPECT_GT(rw.rel_error, 0.05);
      // Inputs are random, so the output error follows the weight error closely.
      EXPECT_NEAR(rel_diff(want, ref), rw.rel_error, 0.5 * rw.rel_error + 0.05);
    }
    const LayerCost cost = decomposed_cost(g, g.node(fc), c.method, ranks);
    const ir::Summary s = ir::summarize(d, ops::op_table());
    EXPECT_EQ(s.macs, cost.macs);
    EXPECT_EQ(s.params, cost.params);
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, TtChain,
                         ::testing::Values(ChainCase{Method::tt, 2}, ChainCase{Method::tt, 3}, ChainCase{Method::tt, 4},
                                           ChainCase{Method::tr, 2}, ChainCase{Method::tr, 3}),
                         [](const auto& p) { return std::string(method_name(p.param.method)) + std::to_string(p.param.d); });

TEST(TtChain, RefusesConvsAndConvMethodsRefuseGemms) {
  const ir::Graph g = gemm_graph(8, 8, 1);
  const ir::Node& fc = g.node(g.topo_order()[0]);
  EXPECT_EQ(not_applicable(g, fc, Method::tt), "");
  EXPECT_NE(not_applicable(g, fc, Method::cp), "");
  EXPECT_EQ(parse_method("tr"), Method::tr);
  ir::Graph h = g;
  EXPECT_THROW(decompose_layer(h, h.topo_order()[0], Method::tt, {}), Error);
  Spec bad;
  bad.fc_method = Method::tucker2;
  EXPECT_THROW(run(g, {}, {}, bad), Error);
  bad = {};
  bad.conv_method = Method::tt;
  EXPECT_THROW(run(g, {}, {}, bad), Error);
}

// The small CNN with its FC layers as TT (or TR) layers fine-tunes: every core moves and the
// training loss falls.
TEST(TtChain, EveryCoreTrains) {
  const ir::Graph g = models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
  // A learnable set: class c is an image of brightness about 25 c.
  train::Dataset data;
  const int64_t count = 96;
  data.images = Tensor::empty({count, 1, 28, 28}, DType::u8);
  data.labels = Tensor::empty({count}, DType::s64);
  Rng rng(5);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t label = i % 10;
    data.labels.data<int64_t>()[i] = label;
    for (int64_t p = 0; p < 784; ++p)
      data.images.data<uint8_t>()[i * 784 + p] = static_cast<uint8_t>(std::min<int64_t>(255, 25 * label + rng.below(20)));
  }
  for (Method m : {Method::tt, Method::tr}) {
    Spec spec;
    spec.convs = false;
    spec.fc_method = m;
    spec.rank_rule = RankRule::ratio;
    spec.rank_ratio = 0.3;
    const Report before = run(g, {}, {}, spec);
    spec.finetune.epochs = 3;
    spec.finetune.batch = 16;
    spec.finetune.optimizer.lr = 0.02f;
    spec.finetune.progress = 0;
    spec.finetune.out_dir = ::testing::TempDir() + "/decompose_tt_finetune";
    std::filesystem::remove_all(spec.finetune.out_dir);
    const Report after = run(g, data, data, spec);
    int cores = 0;
    for (ir::ValueId v : before.graph.initializers()) {
      const ir::Value& b = before.graph.value(v);
      if (b.name.find("tt_core") == std::string::npos) continue;
      ++cores;
      const Tensor& a = after.graph.value(after.graph.find_value(b.name)).data;
      EXPECT_GT(relative_error(b.data, a), 1e-4) << b.name << " did not train";
    }
    EXPECT_GE(cores, 3) << method_name(m);  // fc1's three cores at least
    EXPECT_EQ(before.layers[2].method, method_name(m));  // fc1
    ASSERT_EQ(after.finetune.size(), 1u);
    const auto& e = after.finetune[0].epochs;
    ASSERT_EQ(e.size(), 3u);
    EXPECT_LT(e.back().train_loss, e.front().train_loss) << method_name(m);
    EXPECT_LT(after.params_after, after.params_before);
  }
}

TEST(Vbmf, FindsTheRankOfANoisyLowRankMatrix) {
  const int64_t rows = 40, cols = 120, rank = 5;
  const Tensor a = random_tensor({rows, rank}, 1), b = random_tensor({rank, cols}, 2);
  Tensor y = matmul(a, b);
  const Tensor noise = random_tensor({rows, cols}, 3);
  const double sigma = 0.3;
  for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] += static_cast<float>(sigma) * noise.data<float>()[i];
  const VbmfResult r = evbmf(singular_values(y), rows, cols);
  EXPECT_EQ(r.rank, rank);
  EXPECT_NEAR(r.sigma2, sigma * sigma, 0.25 * sigma * sigma);
  // Pure noise: nothing survives (the rank rule then keeps 1).
  const VbmfResult n = evbmf(singular_values(noise), rows, cols);
  EXPECT_EQ(n.rank, 0);
  EXPECT_EQ(vbmf_rank(singular_values(noise), rows, cols), 1);
  // Orientation does not matter.
  EXPECT_EQ(evbmf(singular_values(y), cols, rows).rank, rank);
}

TEST(Vbmf, TuckerRanksFromTheUnfoldings) {
  // A kernel of exact multilinear rank (3, 2) plus noise: VBMF on the unfoldings finds it.
  const Tensor core = random_tensor({3, 2, 3, 3}, 4);
  Tucker2 t{core, random_tensor({16, 3}, 5), random_tensor({12, 2}, 6)};
  Tensor w = tucker2_kernel(t);
  const Tensor noise = random_tensor(w.shape(), 7);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] += 0.05f * noise.data<float>()[i];
  ir::Graph g;
  const ir::ValueId x = g.add_input("x", {1, 12, 8, 8});
  const ir::ValueId wv = g.add_initializer("w", w, true);
  const ir::ValueId y = g.add_value("y");
  ir::Attributes attrs;
  attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  g.add_node("Conv", {x, wv}, {y}, attrs, "conv");
  g.mark_output(y);
  ir::infer_shapes(g, ops::op_table());
  const ir::Node& n = g.node(g.topo_order()[0]);
  EXPECT_EQ(vbmf_ranks(g, n, Method::tucker2), (std::vector<int64_t>{2, 3}));
  EXPECT_THROW(vbmf_ranks(g, n, Method::cp), Error);
}

TEST(BudgetProxy, SpectralErrorsMatchTheFactorisations) {
  ir::Graph g;
  const ir::ValueId x = g.add_input("x", {1, 12, 9, 9});
  const ir::ValueId wv = g.add_initializer("w", random_tensor({16, 12, 3, 3}, 9), true);
  const ir::ValueId y = g.add_value("y");
  ir::Attributes attrs;
  attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  g.add_node("Conv", {x, wv}, {y}, attrs, "conv");
  g.mark_output(y);
  ir::infer_shapes(g, ops::op_table());
  const ir::Node& n = g.node(g.topo_order()[0]);
  for (Method m : {Method::channel_svd, Method::spatial_svd, Method::tucker2}) {
    const std::vector<RankOption> ladder = rank_ladder(g, n, m, CostUnit::macs);
    const std::vector<double> proxy = ladder_errors(g, n, m, ladder);
    ASSERT_EQ(proxy.size(), ladder.size());
    for (size_t k = 0; k < ladder.size(); ++k) {
      const double e = factorisation_error(g, n, m, ladder[k].ranks);
      if (m == Method::tucker2) {
        EXPECT_GE(proxy[k], e * e - 1e-6) << k;  // the HOSVD bound is never below the HOOI error
        EXPECT_LE(proxy[k], 2 * e * e + 1e-6) << k;
      } else {
        EXPECT_NEAR(proxy[k], e * e, 1e-5) << method_name(m) << " " << k;
      }
      if (k > 0) {
        EXPECT_GE(proxy[k], proxy[k - 1] - 1e-12);
      }
    }
  }
}

}  // namespace
}  // namespace leancnn::compress::decompose
