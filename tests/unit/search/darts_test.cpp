// DARTS (search/darts.h): the supernet's shape and gradients, the derivation rule on chosen
// weights, a short alternating run on a tiny dataset, and bad options.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "../pipeline/tiny_data.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/search/darts.h"

namespace leancnn::search {
namespace {

namespace fs = std::filesystem;

constexpr size_t kOps = 8;  // the cell space's 7 operations and "none"

TEST(Darts, SupernetHasOneAlphaPerEdgeSharedByItsCells) {
  DartsOptions o;
  std::vector<DartsEdge> edges;
  ir::Graph g = build_darts_supernet(o, {{1, 12, 12}, 10, 1}, ops::op_table(), &edges);
  // Nodes 0, 1, 2 of each cell kind see 2, 3, 4 states: 9 edges per kind.
  ASSERT_EQ(edges.size(), 18u);
  std::set<std::string> names;
  for (const DartsEdge& e : edges) {
    names.insert(e.alpha);
    const ir::Value& v = g.value(g.find_value(e.alpha));
    EXPECT_TRUE(v.trainable) << e.alpha;
    EXPECT_EQ(v.shape, (Shape{static_cast<int64_t>(kOps)})) << e.alpha;
  }
  EXPECT_EQ(names.size(), 18u);
  // DARTS's search network: the cells' BNs have no learnt scale or shift; a BN follows each pool.
  int pools = 0, pool_bns = 0;
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (n.op_type == "BatchNormalization" && n.name.rfind("cell", 0) == 0) {
      EXPECT_FALSE(g.value(n.inputs[1]).trainable) << n.name;
      EXPECT_FALSE(g.value(n.inputs[2]).trainable) << n.name;
    }
    if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
      ++pools;
      for (ir::NodeId c : g.consumers(n.outputs[0])) pool_bns += g.node(c).op_type == "BatchNormalization";
    }
  }
  EXPECT_GT(pools, 0);
  EXPECT_EQ(pool_bns, pools);

  // Forward and backward reach every alpha: each one's gradient is non-zero.
  ir::Builder b(g, ops::op_table());
  const ir::ValueId labels = b.input("labels", {1}, DType::s64);
  const ir::ValueId loss = b.op("SoftmaxCrossEntropy", {g.outputs().at(0), labels}, {}, 1, ir::kLeancnnDomain, "loss")[0];
  b.output(loss);
  runtime::Executor exec(g, ops::op_table(), {.training = true});
  Rng rng(3);
  Tensor x = Tensor::empty({2, 1, 12, 12});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = rng.uniform();
  Tensor y = Tensor::empty({2}, DType::s64);
  y.data<int64_t>()[0] = 3;
  y.data<int64_t>()[1] = 7;
  const std::vector<Tensor> out = exec.forward({{"input", x}, {"labels", y}});
  EXPECT_EQ(out[0].shape(), (Shape{2, 10}));
  exec.backward(loss);
  for (const DartsEdge& e : edges) {
    const Tensor& grad = exec.param(e.alpha).grad;
    ASSERT_TRUE(grad.defined()) << e.alpha;
    double norm = 0;
    for (int64_t i = 0; i < grad.numel(); ++i) norm += std::abs(grad.data<float>()[i]);
    EXPECT_GT(norm, 0) << e.alpha;
  }
}

TEST(Darts, DerivesTheTwoStrongestEdgesOfEachNodeIgnoringNone) {
  DartsOptions o;
  o.channels = 12;
  std::vector<DartsEdge> edges;
  build_darts_supernet(o, {{1, 12, 12}, 10, 1}, ops::op_table(), &edges);
  std::vector<std::vector<double>> w(edges.size(), std::vector<double>(kOps, 0.1));
  const auto set = [&](const char* cell, int node, int input, size_t op, double value) {
    for (size_t e = 0; e < edges.size(); ++e)
      if (edges[e].cell == cell && edges[e].node == node && edges[e].input == input) w[e][op] = value;
  };
  // normal node 2: "none" dominates edge from input 0, but it is never chosen; inputs 3 and 1
  // carry the strongest real operations.
  set("normal", 2, 0, kOps - 1, 0.9);
  set("normal", 2, 3, 4, 0.6);  // max_pool_3x3
  set("normal", 2, 1, 2, 0.5);  // dil_conv_3x3
  set("normal", 2, 2, 0, 0.3);
  const Architecture a = derive_darts_cell(o, edges, w);
  const auto space = make_space("cell");
  space->validate(a);
  const auto at = [&](const std::string& name) { return a.choices[static_cast<size_t>(space->find(name))]; };
  EXPECT_EQ(space->decisions()[static_cast<size_t>(space->find("channels"))].options[static_cast<size_t>(at("channels"))], "12");
  // Canonical order sorts a node's two (input, op) pairs: (1, dil_conv_3x3) then (3, max_pool_3x3).
  EXPECT_EQ(at("normal.node2.in0"), 1);
  EXPECT_EQ(at("normal.node2.op0"), 2);
  EXPECT_EQ(at("normal.node2.in1"), 3);
  EXPECT_EQ(at("normal.node2.op1"), 4);
}

TEST(Darts, ShortRunMovesAlphasAndDerivesACell) {
  const std::string dir = ::testing::TempDir() + "/darts_short";
  fs::remove_all(dir);
  EvalSettings s;
  s.data = pipeline::testing::write_tiny_idx(dir + "/data", 96, 16);
  s.train_images = 64;
  s.val_images = 32;
  s.batch = 32;
  DartsOptions o;
  o.epochs = 2;
  o.warmup_epochs = 1;
  std::vector<std::string> lines;
  const DartsResult r = run_darts(s, load_eval_data(s), o, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_EQ(r.epochs.size(), 2u);
  ASSERT_EQ(r.epochs[1].weights.size(), r.edges.size());
  for (const auto& w : r.epochs[0].weights)  // the warm-up epoch leaves the alphas at zero
    for (double v : w) EXPECT_DOUBLE_EQ(v, 1.0 / kOps);
  double moved = 0;
  for (const auto& w : r.epochs[1].weights) {
    ASSERT_EQ(w.size(), kOps);
    double sum = 0;
    for (double v : w) sum += v, moved += std::abs(v - 1.0 / kOps);
    EXPECT_NEAR(sum, 1.0, 1e-9);
  }
  EXPECT_GT(moved, 0);  // epoch 2's alpha step (32 images per half, batch 32) moved the weights
  make_space("cell")->validate(r.arch);
  EXPECT_GT(r.supernet_params, 0);
  EXPECT_EQ(lines.size(), 4u);  // per epoch, its line and the derived cell
  EXPECT_NE(lines[0].find("warm-up"), std::string::npos) << lines[0];
}

TEST(Darts, BadOptionsFailBeforeAnyWork) {
  DartsOptions o;
  o.channels = 10;
  try {
    check(o);
    FAIL() << "channels 10 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("8, 12, 16"), std::string::npos) << e.what();
  }
  o = {};
  o.repeats = 3;
  EXPECT_THROW(check(o), Error);
  o = {};
  o.epochs = 0;
  EXPECT_THROW(check(o), Error);
  o = {};
  o.warmup_epochs = o.epochs;  // no epoch would train the alphas
  EXPECT_THROW(check(o), Error);
  EvalSettings s;
  s.data = pipeline::testing::write_tiny_idx(::testing::TempDir() + "/darts_bad/data", 80, 8);
  s.train_images = 40;
  s.val_images = 8;
  s.batch = 32;  // 40 images: no two halves of 32
  EXPECT_THROW(run_darts(s, load_eval_data(s), DartsOptions{}), Error);
}

}  // namespace
}  // namespace leancnn::search
