// NISP's propagated importance against scores written out by hand from the weights, and the
// group-LASSO regulariser's term and gradient against their definition and finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "../../../src/compress/structured/criteria.h"
#include "leancnn/compress/structured/groups.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::structured {
namespace {

ir::Graph small_cnn() {
  return models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
}

ir::NodeId node_named(const ir::Graph& g, const std::string& name) {
  for (ir::NodeId id : g.node_ids())
    if (g.node(id).name == name) return id;
  throw std::runtime_error("no node " + name);
}

// The unit a layer's output channel belongs to.
int unit_of(const ChannelGraph& cg, ir::NodeId layer, int64_t channel) {
  for (size_t u = 0; u < cg.units.size(); ++u)
    for (auto& [node, oc] : cg.units[u].sources)
      if (node == layer && oc == channel) return static_cast<int>(u);
  return -1;
}

// small_cnn: conv1 -> relu -> pool -> conv2 -> relu -> pool -> (flatten) fc1 -> relu -> fc2.
// With every logit weighted 1, fc1's hidden unit j scores sum_i |W2[i, j]|, and conv2's channel
// c (7x7 after its pool, read by fc1 as features c*49 .. c*49+48) scores
// sum_p sum_j |W1[j, c*49 + p]| s1[j]; max pooling routes each output's score to one input, so
// the per-channel sums are exact.
TEST(Nisp, ScoresAreTheAbsoluteWeightsPropagatedFromTheClassifier) {
  const ir::Graph g = small_cnn();
  const ChannelGraph cg = analyze(g);
  const std::vector<double> s = detail::nisp_scores(g, cg);
  const ir::NodeId fc1 = node_named(g, "fc1"), fc2 = node_named(g, "fc2"), conv2 = node_named(g, "conv2");
  const Tensor& w2 = g.value(g.node(fc2).inputs[1]).data;  // [10, 128]
  const Tensor& w1 = g.value(g.node(fc1).inputs[1]).data;  // [128, 64*7*7]
  ASSERT_EQ(w2.dim(1), 128);
  ASSERT_EQ(w1.dim(1), 64 * 49);
  std::vector<double> s1(128, 0.0);
  for (int64_t j = 0; j < 128; ++j) {
    for (int64_t i = 0; i < 10; ++i) s1[j] += std::fabs(w2.data<float>()[i * 128 + j]);
    const int u = unit_of(cg, fc1, j);
    ASSERT_GE(u, 0);
    EXPECT_NEAR(s[u], s1[j], 1e-4 * s1[j]) << "fc1 unit " << j;
  }
  for (int64_t c = 0; c < 64; ++c) {
    double want = 0;
    for (int64_t j = 0; j < 128; ++j)
      for (int64_t p = 0; p < 49; ++p) want += std::fabs(w1.data<float>()[j * w1.dim(1) + c * 49 + p]) * s1[j];
    const int u = unit_of(cg, conv2, c);
    ASSERT_GE(u, 0);
    EXPECT_NEAR(s[u], want, 1e-4 * want) << "conv2 channel " << c;
  }
  const ir::NodeId conv1 = node_named(g, "conv1");
  for (int64_t c = 0; c < 32; ++c) EXPECT_GT(s[unit_of(cg, conv1, c)], 0.0);
}

// Through a residual network (BN as its scale, Adds sharing a stream, projections): every
// removable unit gets a positive, finite score.
TEST(Nisp, EveryUnitOfAResidualNetworkScores) {
  const ir::Graph g = models::build_model("resnet20", {.input = {1, 28, 28}, .classes = 10, .seed = 1}, ops::op_table());
  const ChannelGraph cg = analyze(g);
  const std::vector<double> s = detail::nisp_scores(g, cg);
  for (size_t u = 0; u < cg.units.size(); ++u) {
    if (!cg.groups[static_cast<size_t>(cg.units[u].group)].removable) continue;
    EXPECT_TRUE(std::isfinite(s[u]) && s[u] > 0) << "unit " << u << " score " << s[u];
  }
}

std::vector<runtime::Param> params_of(const ir::Graph& g) {
  std::vector<runtime::Param> ps;
  for (ir::ValueId v : g.initializers())
    if (g.value(v).trainable) ps.push_back({g.value(v).name, v, g.value(v).data, Tensor::zeros(g.value(v).data.shape())});
  return ps;
}

TEST(GroupLasso, TermAndGradientFollowTheDefinition) {
  const ir::Graph g = small_cnn();
  const ChannelGraph cg = analyze(g);
  const std::vector<bool> frozen(cg.groups.size(), false);
  const double lambda = 0.01;
  const train::Regularizer reg = detail::group_lasso(g, cg, frozen, lambda);
  std::vector<runtime::Param> ps = params_of(g);
  const double term = reg(ps);
  // The definition: conv1's 32 units own their filter (9 weights) and bias.
  const ir::NodeId conv1 = node_named(g, "conv1");
  const Tensor& w = g.value(g.node(conv1).inputs[1]).data;
  const Tensor& b = g.value(g.node(conv1).inputs[2]).data;
  double conv1_term = 0;
  for (int64_t o = 0; o < 32; ++o) {
    double sq = b.data<float>()[o] * b.data<float>()[o];
    for (int64_t k = 0; k < 9; ++k) sq += w.data<float>()[o * 9 + k] * w.data<float>()[o * 9 + k];
    conv1_term += lambda * std::sqrt(sq);
    // d/dw of lambda * ||theta||: lambda * w / ||theta||.
    const runtime::Param* pw = nullptr;
    for (const runtime::Param& p : ps)
      if (p.name == g.value(g.node(conv1).inputs[1]).name) pw = &p;
    ASSERT_NE(pw, nullptr);
    EXPECT_NEAR(pw->grad.data<float>()[o * 9 + 4], lambda * w.data<float>()[o * 9 + 4] / std::sqrt(sq), 1e-7);
  }
  EXPECT_GT(term, conv1_term);  // conv2's and fc1's units add theirs; fc2's classes are never penalised
  // Finite differences of the whole term against the gradient, on a few entries of fc1.
  const ir::NodeId fc1 = node_named(g, "fc1");
  const std::string name = g.value(g.node(fc1).inputs[1]).name;
  for (int64_t k : {0, 777, 5000}) {
    ir::Graph h = ir::with_own_initializers(g);
    float* p = h.value(h.find_value(name)).data.data<float>();
    const float eps = 1e-2f;
    p[k] += eps;
    std::vector<runtime::Param> hp = params_of(h);
    const double up = detail::group_lasso(h, cg, frozen, lambda)(hp);
    p[k] -= 2 * eps;
    hp = params_of(h);
    const double down = detail::group_lasso(h, cg, frozen, lambda)(hp);
    float grad = 0;
    for (const runtime::Param& q : ps)
      if (q.name == name) grad = q.grad.data<float>()[k];
    EXPECT_NEAR((up - down) / (2 * eps), grad, 1e-3 * std::fabs(grad) + 1e-7) << "entry " << k;
  }
  // Frozen groups are not penalised.
  std::vector<runtime::Param> none = params_of(g);
  EXPECT_EQ(detail::group_lasso(g, cg, std::vector<bool>(cg.groups.size(), true), lambda)(none), 0.0);
}

}  // namespace
}  // namespace leancnn::compress::structured
