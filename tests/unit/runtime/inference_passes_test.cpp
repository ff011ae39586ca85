// Inference passes on small hand-built graphs: values unchanged (reference executor),
// rewrite counts, graph-output names kept, and the cases each pass must leave alone.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/cpu.h"
#include "leancnn/ir/builder.h"
#include "leancnn/kernels/inverted_residual_rule.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/inference_passes.h"
#include "op_harness.h"

namespace leancnn::runtime {
namespace {

const ir::OpTable& ops() { return leancnn::ops::op_table(); }

// Reference outputs (the executor wants a mutable graph: it gets a copy).
std::vector<Tensor> reference(ir::Graph g, const std::map<std::string, Tensor>& feeds) {
  Executor exec(g, ops(), {.training = false, .use_kernels = false});
  return exec.forward(feeds);
}

int count_ops(const ir::Graph& g, const std::string& op_type) {
  int n = 0;
  for (ir::NodeId id : g.node_ids()) n += g.node(id).op_type == op_type;
  return n;
}

std::vector<std::string> output_names(const ir::Graph& g) {
  std::vector<std::string> names;
  for (ir::ValueId v : g.outputs()) names.push_back(g.value(v).name);
  return names;
}

// The rewritten graph verifies, keeps its output names and gives the same outputs.
void expect_same_function(const ir::Graph& before, const ir::Graph& after, const std::map<std::string, Tensor>& feeds) {
  ASSERT_NO_THROW(ir::verify(after, ops()));
  EXPECT_EQ(output_names(before), output_names(after));
  const std::vector<Tensor> want = reference(before, feeds);
  const std::vector<Tensor> got = reference(after, feeds);
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i].shape(), got[i].shape()) << i;
    EXPECT_LE(testing::max_rel_diff(got[i], want[i]), 1e-5) << "output " << i;
  }
}

// Random running statistics and affine parameters for every BatchNormalization, and random
// conv biases, so that folding has something to fold.
void randomize_parameters(ir::Graph& g, Rng& rng) {
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    auto fill = [&](size_t slot, float lo, float hi) {
      if (slot < n.inputs.size() && n.inputs[slot] != ir::kNone && g.value(n.inputs[slot]).is_initializer())
        rng.fill_uniform(g.value(n.inputs[slot]).data, lo, hi);
    };
    if (n.op_type == "BatchNormalization") {
      fill(1, 0.5f, 1.5f);
      fill(2, -0.5f, 0.5f);
      fill(3, -0.5f, 0.5f);
      fill(4, 0.2f, 2.f);
    } else if (n.op_type == "Conv" || n.op_type == "Gemm") {
      fill(2, -0.5f, 0.5f);
    }
  }
}

bool is_initializer(const ir::Graph& g, const std::string& name) {
  const ir::ValueId v = g.find_value(name);
  return v != ir::kNone && g.value(v).is_initializer();
}

// --- drop_identities ---

TEST(DropIdentities, DropoutInTheMiddleAndAtTheOutput) {
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {1, 3, 6, 6});
  ir::ValueId y = b.dropout(b.relu(b.dropout(b.conv(x, 4, 3, 1, 1, 1, true), 0.3f)), 0.5f);
  b.output(y);
  Rng rng(2);
  randomize_parameters(g, rng);
  ir::Graph after = g;
  EXPECT_EQ(drop_identities(after, ops()), 2);
  EXPECT_EQ(count_ops(after, "Dropout"), 0);
  EXPECT_EQ(after.node(after.value(after.outputs()[0]).producer).op_type, "Relu");
  EXPECT_FALSE(is_initializer(after, "dropout_ratio"));  // the ratios were released
  expect_same_function(g, after, {{"x", testing::random_tensor({2, 3, 6, 6}, rng)}});
}

TEST(DropIdentities, IdentityRemovedAndOutputNameKept) {
  // x -> Identity -> Relu -> Identity -> "out"; Identity is not in the op table, so the
  // graph only runs (and verifies) once they are gone.
  ir::Graph g;
  ir::ValueId x = g.add_input("x", {2, 3});
  ir::ValueId i1 = g.add_value("i1"), r = g.add_value("r"), out = g.add_value("out");
  g.add_node("Identity", {x}, {i1});
  g.add_node("Relu", {i1}, {r});
  g.add_node("Identity", {r}, {out});
  g.mark_output(out);
  EXPECT_EQ(drop_identities(g, ops()), 2);
  ASSERT_NO_THROW(ir::verify(g, ops()));
  EXPECT_EQ(output_names(g), std::vector<std::string>{"out"});
  EXPECT_EQ(g.node(g.value(g.outputs()[0]).producer).op_type, "Relu");
  Tensor in = Tensor::from_floats({2, 3}, {-1, 2, -3, 4, 0, 6});
  testing::expect_values(reference(g, {{"x", in}})[0], {0, 2, 0, 4, 0, 6});
}

TEST(DropIdentities, LeavesWhatItCannotRemove) {
  // An Identity from a graph input straight to a graph output cannot keep both names.
  ir::Graph g;
  ir::ValueId x = g.add_input("x", {2});
  ir::ValueId out = g.add_value("out");
  g.add_node("Identity", {x}, {out});
  g.mark_output(out);
  EXPECT_EQ(drop_identities(g, ops()), 0);
  EXPECT_EQ(count_ops(g, "Identity"), 1);

  // A Dropout whose mask is read.
  ir::Graph d;
  ir::Builder b(d, ops(), 1);
  ir::ValueId dx = b.input("x", {1, 4});
  std::vector<ir::ValueId> outs = b.op("Dropout", {dx}, {}, 2);
  b.output(outs[0]);
  b.output(outs[1]);
  EXPECT_EQ(drop_identities(d, ops()), 0);
  EXPECT_EQ(count_ops(d, "Dropout"), 1);
}

// --- fold_constants ---

TEST(FoldConstants, ChainsOfConstantNodesBecomeInitializers) {
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {2, 4});
  ir::ValueId a = b.constant("a", Tensor::from_floats({4}, {1, 2, 3, 4}));
  ir::ValueId c = b.constant("c", Tensor::from_floats({4}, {0.5f, -1, 0, 2}));
  ir::ValueId sum = b.add(a, c);       // constant
  ir::ValueId sq = b.mul(sum, sum);    // constant, from a folded value
  b.output(b.mul(x, sq));              // reads the input: stays
  ir::Graph after = g;
  EXPECT_EQ(fold_constants(after, ops()), 2);
  EXPECT_EQ(count_ops(after, "Add"), 0);
  EXPECT_EQ(count_ops(after, "Mul"), 1);
  const ir::Value& folded = after.value(sq);
  ASSERT_TRUE(folded.is_initializer());
  EXPECT_FALSE(folded.trainable);
  testing::expect_values(folded.data, {2.25f, 1, 9, 36});
  EXPECT_FALSE(after.value(a).is_initializer());  // no longer read: released
  EXPECT_FALSE(after.value(sum).is_initializer());
  Rng rng(3);
  expect_same_function(g, after, {{"x", testing::random_tensor({3, 4}, rng)}});
}

TEST(FoldConstants, LeavesNodesThatReadActivations) {
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {1, 2, 4, 4});
  b.output(b.conv(b.relu(x), 2, 3));
  EXPECT_EQ(fold_constants(g, ops()), 0);
  EXPECT_EQ(g.node_ids().size(), 2u);
}

// --- fold_batch_norm ---

TEST(FoldBatchNorm, ConvWithAndWithoutBiasAndGrouped) {
  struct Case {
    bool bias;
    int64_t groups;
  };
  for (Case cs : {Case{false, 1}, Case{true, 1}, Case{false, 4}, Case{true, 2}}) {
    SCOPED_TRACE(::testing::Message() << "bias " << cs.bias << " groups " << cs.groups);
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId x = b.input("x", {1, 4, 7, 7});
    ir::ValueId c = b.conv(x, 8, 3, 2, 1, cs.groups, cs.bias);
    b.output(b.relu(b.batch_norm(c)));
    Rng rng(4);
    randomize_parameters(g, rng);
    const Tensor w_before = g.value(g.find_value("conv.weight")).data.clone();
    ir::Graph after = g;
    EXPECT_EQ(fold_batch_norm(after, ops()), 1);
    EXPECT_EQ(count_ops(after, "BatchNormalization"), 0);
    const ir::Node& conv = after.node(after.node_ids().at(0));
    ASSERT_EQ(conv.op_type, "Conv");
    ASSERT_EQ(conv.inputs.size(), 3u);
    EXPECT_FALSE(after.value(conv.inputs[1]).trainable);
    EXPECT_FALSE(after.value(conv.inputs[2]).trainable);
    EXPECT_FALSE(is_initializer(after, "bn.running_mean"));
    // The source graph shares initializer storage with the copy and must be untouched.
    EXPECT_EQ(testing::max_rel_diff(g.value(g.find_value("conv.weight")).data, w_before), 0.0);
    EXPECT_EQ(count_ops(g, "BatchNormalization"), 1);
    expect_same_function(g, after, {{"x", testing::random_tensor({2, 4, 7, 7}, rng)}});
  }
}

TEST(FoldBatchNorm, GemmInBothWeightLayouts) {
  Rng rng(5);
  // transB = 1 with a bias (Builder::linear).
  {
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    b.output(b.batch_norm(b.linear(b.input("x", {1, 6}), 5)));
    randomize_parameters(g, rng);
    ir::Graph after = g;
    EXPECT_EQ(fold_batch_norm(after, ops()), 1);
    EXPECT_EQ(count_ops(after, "BatchNormalization"), 0);
    expect_same_function(g, after, {{"x", testing::random_tensor({3, 6}, rng)}});
  }
  // transB = 0, beta = 0.5, C of shape [1, N]; and transB = 0 with no C.
  for (bool with_c : {true, false}) {
    SCOPED_TRACE(with_c);
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId x = b.input("x", {1, 6});
    ir::ValueId w = b.constant("w", testing::random_tensor({6, 5}, rng), true);
    std::vector<ir::ValueId> in = {x, w};
    if (with_c) in.push_back(b.constant("c", testing::random_tensor({1, 5}, rng), true));
    ir::Attributes a;
    a.set("beta", 0.5f);
    a.set("alpha", 1.5f);
    b.output(b.batch_norm(b.op("Gemm", in, a)[0]));
    randomize_parameters(g, rng);
    ir::Graph after = g;
    EXPECT_EQ(fold_batch_norm(after, ops()), 1);
    EXPECT_EQ(count_ops(after, "BatchNormalization"), 0);
    expect_same_function(g, after, {{"x", testing::random_tensor({3, 6}, rng)}});
  }
}

TEST(FoldBatchNorm, GraphOutputNameIsKept) {
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  b.output(b.batch_norm(b.conv(b.input("x", {1, 2, 5, 5}), 3, 3)));
  Rng rng(6);
  randomize_parameters(g, rng);
  ir::Graph after = g;
  EXPECT_EQ(fold_batch_norm(after, ops()), 1);
  EXPECT_EQ(output_names(after), std::vector<std::string>{"bn"});
  EXPECT_EQ(after.node(after.value(after.outputs()[0]).producer).op_type, "Conv");
  expect_same_function(g, after, {{"x", testing::random_tensor({1, 2, 5, 5}, rng)}});
}

TEST(FoldBatchNorm, LeavesWhatItCannotFold) {
  Rng rng(7);
  auto unchanged = [](ir::Graph& g) {
    const size_t nodes = g.node_ids().size();
    EXPECT_EQ(fold_batch_norm(g, ops()), 0);
    EXPECT_EQ(g.node_ids().size(), nodes);
    EXPECT_EQ(count_ops(g, "BatchNormalization"), 1);
  };
  {  // the conv output has a second reader
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId c = b.conv(b.input("x", {1, 2, 5, 5}), 3, 3);
    b.output(b.batch_norm(c));
    b.output(b.relu(c));
    unchanged(g);
  }
  {  // the conv output is a graph output
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId c = b.conv(b.input("x", {1, 2, 5, 5}), 3, 3);
    b.output(b.batch_norm(c));
    b.output(c);
    unchanged(g);
  }
  {  // the running mean is fed, not an initializer
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId c = b.conv(b.input("x", {1, 2, 5, 5}), 3, 3);
    ir::ValueId mean = b.input("mean", {3});
    ir::ValueId one = b.constant("one", Tensor::full({3}, 1.f)), zero = b.constant("zero", Tensor::zeros({3}));
    b.output(b.op("BatchNormalization", {c, one, zero, mean, one})[0]);
    unchanged(g);
  }
  {  // a BN after something that is neither Conv nor Gemm
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    b.output(b.batch_norm(b.relu(b.input("x", {1, 2, 5, 5}))));
    unchanged(g);
  }
}

// --- fuse_conv_epilogues ---

bool have_fused_conv() { return ops().find(ir::kLeancnnDomain, "FusedConv") != nullptr; }

const ir::Node* producer_of(const ir::Graph& g, ir::ValueId v) {
  const ir::NodeId p = g.value(v).producer;
  return p == ir::kNone ? nullptr : &g.node(p);
}

TEST(FuseConvEpilogues, EveryPattern) {
  if (!have_fused_conv()) GTEST_SKIP() << "ai.leancnn FusedConv is not in the op table";
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {1, 4, 6, 6});
  ir::ValueId r1 = b.relu(b.conv(x, 4, 3, 1, 1, 1, true));        // Conv -> Relu
  ir::ValueId r2 = b.relu(b.add(b.conv(r1, 4, 3), r1));            // Conv -> Add -> Relu (Z second)
  ir::ValueId r3 = b.clip(b.conv(r2, 4, 1, 1, 0, 1, true), 0, 6);  // Conv -> Clip
  ir::ValueId a4 = b.add(r3, b.conv(r3, 4, 3));                    // Conv -> Add (Z first), no activation
  ir::ValueId out = b.hard_swish(b.conv(a4, 4, 3));                // Conv -> HardSwish
  b.output(out);
  Rng rng(8);
  randomize_parameters(g, rng);
  ir::Graph after = g;
  EXPECT_EQ(fuse_conv_epilogues(after, ops()), 5);
  EXPECT_EQ(count_ops(after, "FusedConv"), 5);
  EXPECT_EQ(after.node_ids().size(), 5u);

  const ir::Node* f1 = producer_of(after, r1);
  const ir::Node* f2 = producer_of(after, r2);
  const ir::Node* f3 = producer_of(after, r3);
  const ir::Node* f4 = producer_of(after, a4);
  const ir::Node* f5 = producer_of(after, out);
  for (const ir::Node* f : {f1, f2, f3, f4, f5}) {
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->op_type, "FusedConv");
    EXPECT_EQ(f->domain, ir::kLeancnnDomain);
  }
  EXPECT_EQ(f1->attrs.get_string("activation", "?"), "Relu");
  EXPECT_EQ(f1->inputs.size(), 3u);  // X, W, B
  EXPECT_EQ(f2->attrs.get_string("activation", "?"), "Relu");
  ASSERT_EQ(f2->inputs.size(), 4u);  // X, W, no B, Z
  EXPECT_EQ(f2->inputs[2], ir::kNone);
  EXPECT_EQ(f2->inputs[3], r1);
  EXPECT_EQ(f3->attrs.get_string("activation", "?"), "Clip");
  EXPECT_EQ(f3->attrs.get_floats("activation_params", {}), (std::vector<float>{0, 6}));
  EXPECT_EQ(f4->attrs.get_string("activation", ""), "");
  ASSERT_EQ(f4->inputs.size(), 4u);
  EXPECT_EQ(f4->inputs[3], r3);
  EXPECT_EQ(f5->attrs.get_string("activation", "?"), "HardSwish");
  EXPECT_FALSE(is_initializer(after, "clip_min"));  // Clip's bounds were released
  expect_same_function(g, after, {{"x", testing::random_tensor({2, 4, 6, 6}, rng, -2.f, 2.f)}});
}

TEST(FuseConvEpilogues, ClipWithoutBoundsIsUnbounded) {
  if (!have_fused_conv()) GTEST_SKIP() << "ai.leancnn FusedConv is not in the op table";
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {1, 2, 5, 5});
  ir::ValueId hi = b.constant("hi", Tensor::full({}, 0.25f));
  b.output(b.op("Clip", {b.conv(x, 3, 3), ir::kNone, hi})[0]);
  ir::Graph after = g;
  EXPECT_EQ(fuse_conv_epilogues(after, ops()), 1);
  const ir::Node& f = after.node(after.value(after.outputs()[0]).producer);
  const std::vector<float> params = f.attrs.get_floats("activation_params", {});
  ASSERT_EQ(params.size(), 2u);
  EXPECT_TRUE(std::isinf(params[0]) && params[0] < 0);
  EXPECT_EQ(params[1], 0.25f);
  Rng rng(9);
  expect_same_function(g, after, {{"x", testing::random_tensor({1, 2, 5, 5}, rng)}});
}

TEST(FuseConvEpilogues, LeavesWhatItCannotFuse) {
  if (!have_fused_conv()) GTEST_SKIP() << "ai.leancnn FusedConv is not in the op table";
  Rng rng(10);
  auto fuses = [&](ir::Graph& g, int want) {
    ir::Graph before = g;
    EXPECT_EQ(fuse_conv_epilogues(g, ops()), want);
    expect_same_function(before, g, {{"x", testing::random_tensor({1, 2, 5, 5}, rng)}});
  };
  {  // the conv output is a graph output
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId c = b.conv(b.input("x", {1, 2, 5, 5}), 2, 3);
    b.output(b.relu(c));
    b.output(c);
    fuses(g, 0);
  }
  {  // the conv output has two readers
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId c = b.conv(b.input("x", {1, 2, 5, 5}), 2, 3);
    b.output(b.relu(c));
    b.output(b.sigmoid(c));
    fuses(g, 0);
  }
  {  // an activation FusedConv does not have
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    b.output(b.sigmoid(b.conv(b.input("x", {1, 2, 5, 5}), 2, 3)));
    fuses(g, 0);
  }
  {  // Add of a constant (broadcast or same-shape): not a residual
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId c = b.conv(b.input("x", {1, 2, 5, 5}), 2, 3);
    ir::ValueId k = b.constant("k", testing::random_tensor({1, 2, 1, 1}, rng));
    ir::ValueId k2 = b.constant("k2", testing::random_tensor({1, 2, 5, 5}, rng));
    b.output(b.add(c, k));
    b.output(b.add(b.conv(b.relu(c), 2, 3), k2));
    fuses(g, 0);
  }
  {  // the Add output is a graph output: Conv -> Add fuses, the Relu stays
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId x = b.input("x", {1, 2, 5, 5});
    ir::ValueId s = b.add(b.conv(x, 2, 3), x);
    b.output(b.relu(s));
    b.output(s);
    fuses(g, 1);
    EXPECT_EQ(count_ops(g, "Relu"), 1);
    EXPECT_EQ(count_ops(g, "FusedConv"), 1);
  }
}

// --- fuse_inverted_residuals ---

// x -> [1x1 expand + ReLU6] -> depthwise 3x3 (stride) + ReLU6 -> 1x1 project [+ x], epilogues fused.
ir::ValueId inverted_residual(ir::Builder& b, ir::ValueId x, int64_t c, int64_t m, int64_t oc, int64_t stride,
                              bool residual) {
  ir::ValueId v = x;
  if (m != c) v = b.clip(b.conv(v, m, 1, 1, 0, 1, true), 0, 6);
  v = b.clip(b.conv(v, m, 3, stride, 1, m, true), 0, 6);
  v = b.conv(v, oc, 1, 1, 0, 1, true);
  return residual ? b.add(v, x) : v;
}

bool row_pass_here() { return cpu_features().avx2 && cpu_features().fma; }

// Blocks fused whatever their size while alive (these graphs' activations are tiny).
struct AnySize {
  const int64_t zero = 0;
  AnySize() { kernels::inject_inverted_residual_min_bytes(&zero); }
  ~AnySize() { kernels::inject_inverted_residual_min_bytes(nullptr); }
};

TEST(FuseInvertedResiduals, ExpandedPlainAndStridedBlocks) {
  if (!row_pass_here()) GTEST_SKIP() << "no AVX2 + FMA: blocks are not fused";
  const AnySize any;
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {1, 8, 9, 9});
  ir::ValueId y1 = inverted_residual(b, x, 8, 8, 6, 1, false);    // no expansion
  ir::ValueId y2 = inverted_residual(b, y1, 6, 24, 6, 1, true);   // expansion and residual
  ir::ValueId y3 = inverted_residual(b, y2, 6, 20, 10, 2, false);  // stride 2
  b.output(y3);
  Rng rng(21);
  randomize_parameters(g, rng);
  ir::Graph after = g;
  fuse_conv_epilogues(after, ops());
  EXPECT_EQ(fuse_inverted_residuals(after, ops()), 3);
  EXPECT_EQ(count_ops(after, "FusedInvertedResidual"), 3);
  EXPECT_EQ(after.node_ids().size(), 3u);
  const ir::Node* f1 = producer_of(after, y1);
  const ir::Node* f2 = producer_of(after, y2);
  const ir::Node* f3 = producer_of(after, y3);
  for (const ir::Node* f : {f1, f2, f3}) ASSERT_NE(f, nullptr);
  EXPECT_EQ(f1->inputs[1], ir::kNone);  // no We
  EXPECT_EQ(f1->inputs.size(), 7u);     // no Z
  EXPECT_EQ(f1->attrs.get_string("dw_activation", "?"), "Clip");
  ASSERT_EQ(f2->inputs.size(), 8u);
  EXPECT_EQ(f2->inputs[7], y1);  // the residual
  EXPECT_EQ(f2->attrs.get_string("expand_activation", "?"), "Clip");
  EXPECT_EQ(f2->attrs.get_floats("expand_activation_params", {}), (std::vector<float>{0, 6}));
  EXPECT_EQ(f2->attrs.get_string("activation", "?"), "");
  EXPECT_EQ(f3->attrs.get_ints("strides", {}), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(f3->attrs.get_int("group", 0), 20);
  expect_same_function(g, after, {{"x", testing::random_tensor({2, 8, 9, 9}, rng, -2.f, 2.f)}});
}

TEST(FuseInvertedResiduals, LeavesWhatItCannotFuse) {
  if (!row_pass_here()) GTEST_SKIP() << "no AVX2 + FMA: blocks are not fused";
  {  // small blocks are not fused by the measured rule
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    b.output(inverted_residual(b, b.input("x", {1, 4, 7, 7}), 4, 24, 4, 1, true));
    fuse_conv_epilogues(g, ops());
    EXPECT_EQ(fuse_inverted_residuals(g, ops()), 0);
  }
  const AnySize any;
  Rng rng(22);
  auto fuses = [&](ir::Graph& g, int want) {
    fuse_conv_epilogues(g, ops());
    ir::Graph before = g;
    EXPECT_EQ(fuse_inverted_residuals(g, ops()), want);
    expect_same_function(before, g, {{"x", testing::random_tensor({1, 4, 7, 7}, rng)}});
  };
  {  // the depthwise output is read twice
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId d = b.conv(b.input("x", {1, 4, 7, 7}), 4, 3, 1, 1, 4, true);
    b.output(b.conv(d, 4, 1, 1, 0, 1, true));
    b.output(b.relu(d));
    fuses(g, 0);
  }
  {  // a dilated depthwise (the row pass's ring holds consecutive rows)
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId d = b.conv(b.input("x", {1, 4, 7, 7}), 4, 3, 1, 2, 4, true, 2);
    b.output(b.conv(d, 4, 1, 1, 0, 1, true));
    fuses(g, 0);
  }
  {  // a 3x3 after the depthwise, not a 1x1 projection; the expansion read twice is left out
    ir::Graph g;
    ir::Builder b(g, ops(), 1);
    ir::ValueId e = b.conv(b.input("x", {1, 4, 7, 7}), 8, 1, 1, 0, 1, true);
    ir::ValueId d = b.conv(e, 8, 3, 1, 1, 8, true);
    b.output(b.conv(d, 4, 3, 1, 1, 1, true));
    ir::ValueId d2 = b.conv(e, 8, 3, 1, 1, 8, true);
    b.output(b.conv(d2, 4, 1, 1, 0, 1, true));
    fuses(g, 1);  // d2's block, without the shared expansion
  }
}

}  // namespace
}  // namespace leancnn::runtime
