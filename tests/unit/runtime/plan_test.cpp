// Plan: every zoo model against the reference executor on the original graph (batch 1 and 3,
// one plan), repeatability, memory reuse, the rewrites it runs and the kernels it names.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/kernels/inverted_residual_rule.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"
#include "op_harness.h"
#include "zoo_cases.h"

namespace leancnn::runtime {
namespace {
using zoo_cases::count_ops;
using zoo_cases::input_for;
using zoo_cases::pixels;

const ir::OpTable& ops() { return leancnn::ops::op_table(); }

// A zoo model with random BN statistics and affine parameters (the zoo initialises them to
// the identity, which would make folding trivially exact).
ir::Graph zoo_model(const std::string& name) {
  ir::Graph g = models::build_model(name, {input_for(name), 10, 1}, ops());
  Rng rng(11);
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (n.op_type != "BatchNormalization") continue;
    rng.fill_uniform(g.value(n.inputs[1]).data, 0.5f, 1.5f);
    rng.fill_uniform(g.value(n.inputs[2]).data, -0.3f, 0.3f);
    rng.fill_uniform(g.value(n.inputs[3]).data, -0.3f, 0.3f);
    rng.fill_uniform(g.value(n.inputs[4]).data, 0.5f, 2.f);
  }
  return g;
}

Tensor reference_logits(ir::Graph g, const Tensor& x) {
  Executor exec(g, ops(), {.training = false, .use_kernels = false});
  return exec.forward({{"input", x}}).at(0);
}

bool have_fused_conv() { return ops().find(ir::kLeancnnDomain, "FusedConv") != nullptr; }

class PlanZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(PlanZoo, MatchesTheReferenceExecutorAtTwoBatchSizes) {
  const std::string name = GetParam();
  const Shape chw = input_for(name);
  const ir::Graph g = zoo_model(name);
  Plan plan = Plan::compile(g);
  EXPECT_TRUE(plan.steps().empty());
  EXPECT_EQ(count_ops(plan.graph(), "BatchNormalization"), 0);
  EXPECT_EQ(count_ops(plan.graph(), "Dropout"), 0);

  std::vector<Tensor> first;
  double worst = 0;
  for (int64_t batch : {1, 3}) {
    SCOPED_TRACE(::testing::Message() << name << " batch " << batch);
    const Tensor x = pixels(batch, chw, 100 + batch);
    const Tensor want = reference_logits(g, x);
    const std::vector<Tensor> got = plan.run({x});
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].shape(), (Shape{batch, 10}));
    const double rel = testing::max_rel_diff(got[0], want);
    EXPECT_LE(rel, 1e-4);
    worst = std::max(worst, rel);

    size_t blocks = 0;  // FusedInvertedResidual steps: each stands for two or three of the graph's nodes
    for (const PlanStep& s : plan.steps()) blocks += s.op_type == "FusedInvertedResidual";
    ASSERT_GE(plan.graph().node_ids().size(), plan.steps().size() + blocks);
    ASSERT_LE(plan.graph().node_ids().size(), plan.steps().size() + 2 * blocks);
    for (const PlanStep& s : plan.steps()) EXPECT_FALSE(s.kernel.empty()) << s.name;
    EXPECT_EQ(plan.steps().back().output_shape, (Shape{batch, 10}));
    EXPECT_GT(plan.memory().peak_bytes, 0);
    EXPECT_LE(plan.memory().peak_bytes, plan.memory().total_bytes);
    if (batch == 1) first = got;
  }
  // The batch-1 plan is cached: running it again gives the same logits, bit for bit.
  const std::vector<Tensor> again = plan.run({pixels(1, chw, 101)});
  EXPECT_EQ(testing::max_rel_diff(again[0], first[0]), 0.0);
  EXPECT_EQ(plan.steps().back().output_shape, (Shape{1, 10}));
  std::printf("[ plan     ] %-20s input %-9s max rel diff vs reference %.2e\n", name.c_str(), shape_str(chw).c_str(),
              worst);
}

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const models::ZooEntry& e : models::zoo()) names.push_back(e.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Zoo, PlanZoo, ::testing::ValuesIn(zoo_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

// MobileNetV2's inverted residual blocks become FusedInvertedResidual nodes (17), per input shape,
// where the rule takes them (AVX2 here, the expanded activation large enough: at 3x64x64 not
// even at batch 3 by the measured size, every block with the size lifted), run by the row pass
// with the same logits as the unfused plan and less activation memory.
TEST(Plan, FusesMobileNetV2InvertedResidualsWhereTheRuleSays) {
  const ir::Graph g = zoo_model("mobilenet_v2");
  PlanOptions opts;
  opts.fuse_blocks = false;
  Plan unfused = Plan::compile(g, opts);
  const bool avx2 = cpu_features().avx2 && cpu_features().fma;
  const std::string row_pass =
      cpu_features().avx512f ? "cpu_fused_inverted_residual_f32_avx512" : "cpu_fused_inverted_residual_f32_avx2";
  for (const bool lifted : {false, true}) {
    const int64_t zero = 0;
    kernels::inject_inverted_residual_min_bytes(lifted ? &zero : nullptr);
    Plan fused = Plan::compile(g);
    EXPECT_EQ(count_ops(fused.graph(), "FusedInvertedResidual"), 0);  // fused per input shape
    for (int64_t batch : {1, 3}) {
      SCOPED_TRACE(::testing::Message() << "batch " << batch << (lifted ? ", any size" : ""));
      const Tensor x = pixels(batch, input_for("mobilenet_v2"), 40 + batch);
      const Tensor want = unfused.run({x}).at(0);
      EXPECT_LE(testing::max_rel_diff(fused.run({x}).at(0), want), 1e-4);
      std::map<std::string, int> kernels;
      for (const PlanStep& s : fused.steps())
        if (s.op_type == "FusedInvertedResidual") ++kernels[s.kernel];
      if (!lifted || !avx2) {
        EXPECT_TRUE(kernels.empty());
        EXPECT_EQ(fused.memory().peak_bytes, unfused.memory().peak_bytes);
      } else {
        EXPECT_EQ(kernels, (std::map<std::string, int>{{row_pass, 17}}));
        EXPECT_LT(fused.memory().peak_bytes, unfused.memory().peak_bytes);
      }
    }
  }
  kernels::inject_inverted_residual_min_bytes(nullptr);
}

// The other zoo models with depthwise chains (MobileNetV1's and ShuffleNetV2's pw-dw-pw) fuse
// too, with the size rule lifted, and compute the unfused plan's logits.
TEST(Plan, FusedBlocksOfOtherZooModelsMatchUnfused) {
  if (!cpu_features().avx2 || !cpu_features().fma) GTEST_SKIP() << "no AVX2 + FMA: blocks are not fused";
  const int64_t zero = 0;
  kernels::inject_inverted_residual_min_bytes(&zero);
  for (const char* name : {"mobilenet_v1_0_5", "mobilenet_v2_0_5", "shufflenet_v2_x0_5"}) {
    SCOPED_TRACE(name);
    const ir::Graph g = zoo_model(name);
    Plan fused = Plan::compile(g);
    Plan unfused = Plan::compile(g, {.fuse_blocks = false});
    const Tensor x = pixels(2, input_for(name), 77);
    EXPECT_LE(testing::max_rel_diff(fused.run({x}).at(0), unfused.run({x}).at(0)), 1e-4);
    int blocks = 0;
    for (const PlanStep& s : fused.steps()) blocks += s.op_type == "FusedInvertedResidual";
    EXPECT_GT(blocks, 0);
  }
  kernels::inject_inverted_residual_min_bytes(nullptr);
}

// Two plans of one model share their oneDNN primitives (the process-wide cache) and with them
// the memory objects the glue keeps per primitive and re-points at each call's tensors
// (dnnl_glue::held): run interleaved, at different batch sizes, each must still read and
// write its own activations.
TEST(Plan, PlansSharingPrimitivesKeepTheirOwnTensors) {
  const ir::Graph g = zoo_model("resnet20");
  Plan a = Plan::compile(g), b = Plan::compile(g);
  const Tensor xa = pixels(1, input_for("resnet20"), 7), xb = pixels(2, input_for("resnet20"), 8);
  const Tensor want_a = reference_logits(g, xa), want_b = reference_logits(g, xb);
  for (int round = 0; round < 2; ++round) {
    const Tensor got_a = a.run({xa}).at(0);
    const Tensor got_b = b.run({xb}).at(0);
    EXPECT_LE(testing::max_rel_diff(got_a, want_a), 1e-4) << "round " << round;
    EXPECT_LE(testing::max_rel_diff(got_b, want_b), 1e-4) << "round " << round;
  }
}

TEST(Plan, ResNet20ReusesMemoryFusesAndNamesKernels) {
  const ir::Graph g = zoo_model("resnet20");
  Plan plan = Plan::compile(g);
  const Tensor x = pixels(2, {3, 32, 32}, 7);
  const std::vector<Tensor> reused = plan.run({x});
  const PlanMemory mem = plan.memory();
  EXPECT_LT(mem.peak_bytes, mem.total_bytes);
  EXPECT_GT(mem.values, 0);
  // Every activation of a 2x16x32x32 ResNet-20 stage is 128 KiB; reuse should keep a handful.
  EXPECT_LT(mem.peak_bytes * 4, mem.total_bytes);

  Plan separate = Plan::compile(g, {.reuse_memory = false});
  const std::vector<Tensor> apart = separate.run({x});
  EXPECT_EQ(separate.memory().peak_bytes, separate.memory().total_bytes);
  EXPECT_EQ(separate.memory().total_bytes, mem.total_bytes);
  EXPECT_EQ(testing::max_rel_diff(reused[0], apart[0]), 0.0);

  int fused = 0;
  for (const PlanStep& s : plan.steps()) {
    EXPECT_FALSE(s.kernel.empty());
    EXPECT_NE(s.op_type, "BatchNormalization");
    fused += s.op_type == "FusedConv";
  }
  if (have_fused_conv()) {
    // Every conv has BN + Relu or BN + Add (+ Relu) after it. Where a downsampling shortcut's
    // conv and the main path's conv meet in one Add, one of them takes the Add and the other
    // stays a plain Conv feeding it as Z.
    const ir::Graph& pg = plan.graph();
    EXPECT_EQ(count_ops(pg, "Add"), 0);
    EXPECT_EQ(count_ops(pg, "Relu"), 0);
    EXPECT_EQ(fused + count_ops(pg, "Conv"), count_ops(g, "Conv"));
    EXPECT_GE(fused, 19);
    for (ir::NodeId id : pg.node_ids()) {
      if (pg.node(id).op_type != "Conv") continue;
      const std::vector<ir::NodeId> readers = pg.consumers(pg.node(id).outputs[0]);
      ASSERT_EQ(readers.size(), 1u);
      EXPECT_EQ(pg.node(readers[0]).op_type, "FusedConv");
      EXPECT_EQ(pg.node(readers[0]).inputs.at(3), pg.node(id).outputs[0]);
    }
  }
  // The oracle plan: reference kernels only, named as such.
  Plan oracle = Plan::compile(g, {.use_kernels = false});
  const std::vector<Tensor> ref = oracle.run({x});
  for (const PlanStep& s : oracle.steps()) EXPECT_EQ(s.kernel, "reference") << s.name;
  EXPECT_LE(testing::max_rel_diff(ref[0], reference_logits(g, x)), 1e-5);
  EXPECT_LE(testing::max_rel_diff(reused[0], ref[0]), 1e-4);
}

bool stored_nhwc(const PlanStep& s, uint32_t bit) { return (s.channels_last & bit) != 0; }

// PlanOptions::threads: run() uses that many threads and leaves the caller's setting alone.
TEST(Plan, ThreadsAreThePlansOwn) {
  const ir::Graph g = models::build_model("small_cnn", {{1, 28, 28}, 10, 1}, ops());
  const int before = num_threads();
  PlanOptions o;
  o.threads = 1;
  Plan one = Plan::compile(g, o);
  Plan all = Plan::compile(g);
  Rng rng(3);
  const Tensor x = testing::random_tensor({2, 1, 28, 28}, rng, 0.f, 1.f);
  const Tensor a = one.run({x}).at(0);
  EXPECT_EQ(num_threads(), before);
  EXPECT_LT(testing::max_rel_diff(a, all.run({x}).at(0)), 1e-5);
}

TEST(Plan, KeepsActivationsChannelsLastBetweenConvolutions) {
  // ResNet-18 (stem, max pool, residual blocks, global pool): with the fast kernels every
  // activation between two convolutions is NHWC, the graph input and the logits stay NCHW, and
  // the result equals the all-NCHW plan's.
  const ir::Graph g = zoo_model("resnet18");
  Plan nhwc = Plan::compile(g);
  Plan nchw = Plan::compile(g, {.channels_last = false});
  const Tensor x = pixels(2, {3, 64, 64}, 5);
  const std::vector<Tensor> a = nhwc.run({x});
  const std::vector<Tensor> b = nchw.run({x});
  EXPECT_LE(testing::max_rel_diff(a[0], b[0]), 1e-5);
  for (const PlanStep& s : nchw.steps()) EXPECT_EQ(s.channels_last, 0u) << s.name;
  if (!have_fused_conv() || nhwc.steps().front().kernel == "reference") GTEST_SKIP() << "no fast conv kernel";
  int convs = 0, pools = 0;
  for (const PlanStep& s : nhwc.steps()) {
    SCOPED_TRACE(s.name);
    if (s.op_type == "FusedConv" || s.op_type == "Conv") {
      ++convs;
      EXPECT_TRUE(stored_nhwc(s, ir::channels_last_output(0)));
      if (s.name != nhwc.steps().front().name) {
        EXPECT_TRUE(stored_nhwc(s, ir::channels_last_input(0)));
      }
    }
    if (s.op_type == "MaxPool") {
      ++pools;
      EXPECT_TRUE(stored_nhwc(s, ir::channels_last_input(0)) && stored_nhwc(s, ir::channels_last_output(0)));
    }
    if (s.op_type == "GlobalAveragePool") {
      EXPECT_TRUE(stored_nhwc(s, ir::channels_last_input(0)));
      EXPECT_FALSE(stored_nhwc(s, ir::channels_last_output(0)));  // 1x1 planes: the same bytes either way
    }
    if (s.op_type == "Gemm" || s.op_type == "Flatten") {
      EXPECT_EQ(s.channels_last, 0u);
    }
  }
  EXPECT_GE(convs, 20);
  EXPECT_EQ(pools, 1);
  EXPECT_FALSE(stored_nhwc(nhwc.steps().front(), ir::channels_last_input(0)));  // the graph input
}

TEST(Plan, ChannelsLastChainsMatchTheReference) {
  // Fused convs in a chain (NCHW in, NHWC between, NCHW out), a residual Z read channels-last,
  // and 1x1, strided, depthwise and 3x3 shapes; every layout policy of the conv kernel (blocks
  // not fused: e -> f would become one FusedInvertedResidual).
  ir::Graph g;
  ir::Builder b(g, ops(), 5);
  ir::ValueId x = b.input("input", {1, 8, 10, 10});
  ir::ValueId a = b.relu(b.conv(x, 16, 3, 1, 1, 1, true, 1, "a"));
  ir::ValueId c = b.relu(b.conv(a, 16, 3, 1, 1, 1, true, 1, "c"));
  ir::ValueId d = b.relu(b.add(b.conv(c, 16, 1, 1, 0, 1, true, 1, "d"), a));
  ir::ValueId e = b.relu(b.conv(d, 16, 3, 2, 1, 16, true, 1, "e"));
  ir::ValueId f = b.relu(b.conv(e, 24, 1, 1, 0, 1, true, 1, "f"));
  // The output (NCHW) with a residual read channels-last: a regression test, the residual was
  // once copied into the output instead of the primitive's staging buffer.
  b.output(b.relu(b.add(b.conv(f, 24, 1, 1, 0, 1, true, 1, "g"), f)));
  const Tensor in = pixels(2, {8, 10, 10}, 9);
  ir::Graph copy = g;
  Executor exec(copy, ops(), {.training = false, .use_kernels = false});
  const Tensor want = exec.forward({{"input", in}}).at(0);
  for (const char* policy : {"", "plain", "blocked", "channel", "nhwc"}) {
    SCOPED_TRACE(policy);
    if (*policy) setenv("LEANCNN_DNNL_CONV_LAYOUT", policy, 1);
    Plan plan = Plan::compile(g, {.fuse_blocks = false});
    const Tensor got = plan.run({in})[0];
    unsetenv("LEANCNN_DNNL_CONV_LAYOUT");
    EXPECT_LE(testing::max_rel_diff(got, want), 1e-5);
    int nhwc = 0;
    for (const PlanStep& s : plan.steps()) nhwc += (s.channels_last & ir::channels_last_output(0)) != 0;
    if (plan.steps().front().kernel != "reference") {
      EXPECT_EQ(nhwc, 5);
    }
  }
}

// The 2x2/2 MaxPool (our loop) takes each layout on its own: from the graph input (NCHW) it
// writes NHWC for the conv after it, and after a conv it reads NHWC and writes NCHW for Flatten.
TEST(Plan, MaxPool2x2TakesEachLayoutOnItsOwn) {
  ir::Graph g;
  ir::Builder b(g, ops(), 3);
  ir::ValueId x = b.input("input", {1, 4, 12, 12});
  ir::ValueId p1 = b.max_pool(x, 2, 2);
  ir::ValueId c1 = b.conv(p1, 8, 3, 1, 1, 1, true, 1, "c1");
  ir::ValueId p2 = b.max_pool(c1, 2, 2);
  b.output(b.flatten(p2));
  Plan plan = Plan::compile(g);
  const Tensor in = pixels(2, {4, 12, 12}, 9);
  ir::Graph copy = g;
  Executor exec(copy, ops(), {.training = false, .use_kernels = false});
  EXPECT_LE(testing::max_rel_diff(plan.run({in})[0], exec.forward({{"input", in}}).at(0)), 1e-4);
  if (!have_fused_conv() || plan.steps().at(1).kernel == "reference") GTEST_SKIP() << "no fast conv kernel";
  const std::vector<PlanStep>& steps = plan.steps();
  ASSERT_EQ(steps.at(0).op_type, "MaxPool");
  EXPECT_EQ(steps.at(0).channels_last, ir::channels_last_output(0));
  ASSERT_EQ(steps.at(2).op_type, "MaxPool");
  EXPECT_EQ(steps.at(2).channels_last, ir::channels_last_input(0));
}

TEST(Plan, TiedLayoutsFallBackToNchw) {
  // A 3x3 MaxPool (oneDNN's) needs its source and destination in one layout. Fed by the graph
  // input (NCHW), it writes NCHW too, so the conv after it reads NCHW; the Sigmoid between two
  // convs has no channels-last kernel, so both convs around it use NCHW there.
  ir::Graph g;
  ir::Builder b(g, ops(), 3);
  ir::ValueId x = b.input("input", {1, 4, 12, 12});
  ir::ValueId p = b.max_pool(x, 3, 1);
  ir::ValueId c1 = b.conv(p, 8, 3, 1, 1, 1, true, 1, "c1");
  ir::ValueId r = b.sigmoid(c1);
  ir::ValueId c2 = b.conv(r, 8, 3, 1, 1, 1, true, 1, "c2");
  ir::ValueId c3 = b.conv(c2, 8, 3, 1, 1, 1, true, 1, "c3");
  b.output(b.global_avg_pool(c3));
  Plan plan = Plan::compile(g);
  const Tensor in = pixels(2, {4, 12, 12}, 9);
  ir::Graph copy = g;
  Executor exec(copy, ops(), {.training = false, .use_kernels = false});
  EXPECT_LE(testing::max_rel_diff(plan.run({in})[0], exec.forward({{"input", in}}).at(0)), 1e-4);
  if (!have_fused_conv() || plan.steps().at(1).kernel == "reference") GTEST_SKIP() << "no fast conv kernel";
  for (const PlanStep& s : plan.steps()) {
    SCOPED_TRACE(s.name);
    if (s.op_type == "MaxPool" || s.op_type == "Sigmoid") {
      EXPECT_EQ(s.channels_last, 0u);
    }
    if (s.name == "c2") {
      EXPECT_EQ(s.channels_last, ir::channels_last_output(0));
    }
    if (s.name == "c3") {
      EXPECT_TRUE(stored_nhwc(s, ir::channels_last_input(0)));
    }
  }
}

TEST(Plan, ProfilingTimesEveryStep) {
  const ir::Graph g = zoo_model("lenet5");
  Plan plan = Plan::compile(g);
  EXPECT_TRUE(plan.step_ms().empty());
  plan.set_profiling(true);
  plan.run({pixels(1, {1, 28, 28}, 1)});
  ASSERT_EQ(plan.step_ms().size(), plan.steps().size());
  double total = 0;
  for (double ms : plan.step_ms()) {
    EXPECT_GE(ms, 0.0);
    total += ms;
  }
  EXPECT_GT(total, 0.0);
  int64_t macs = 0;
  for (const PlanStep& s : plan.steps()) macs += s.macs;
  EXPECT_GT(macs, 0);
}

TEST(Plan, KeepsTheSourceGraphAndChecksInputs) {
  ir::Graph g = zoo_model("lenet5");
  const size_t nodes = g.node_ids().size();
  Plan plan = Plan::compile(g);
  EXPECT_EQ(g.node_ids().size(), nodes);
  auto expect_bad = [&](const std::vector<Tensor>& in, const std::string& needle) {
    try {
      plan.run(in);
      ADD_FAILURE() << "accepted a bad input";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_bad({}, "takes 1 inputs");
  expect_bad({Tensor::zeros({1, 3, 28, 28})}, "expects f32 1x1x28x28");
  expect_bad({Tensor::zeros({1, 1, 28, 28}, DType::u8)}, "expects f32");
  EXPECT_TRUE(plan.steps().empty());  // nothing ran
}

TEST(Plan, GraphOutputsThatAreInputsOrReadLaterSurvive) {
  // y = Relu(x) is a graph output and is also read by a later node; x itself is an output.
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {1, 4});
  ir::ValueId y = b.relu(x);
  ir::ValueId z = b.add(b.sigmoid(y), b.mul(y, y));
  b.output(y);
  b.output(z);
  b.output(x);
  Plan plan = Plan::compile(g);
  const Tensor in = Tensor::from_floats({2, 4}, {-1, 2, -3, 4, 0.5f, -6, 7, -8});
  const std::vector<Tensor> out = plan.run({in});
  ASSERT_EQ(out.size(), 3u);
  testing::expect_values(out[0], {0, 2, 0, 4, 0.5f, 0, 7, 0});
  for (int64_t i = 0; i < 8; ++i) {
    const float r = std::max(0.f, in.at(i));
    EXPECT_NEAR(out[1].at(i), 1.f / (1.f + std::exp(-r)) + r * r, 1e-5f);
  }
  testing::expect_values(out[2], {-1, 2, -3, 4, 0.5f, -6, 7, -8});
  out[2].fill(0.f);  // the caller owns the outputs
  EXPECT_EQ(in.at(0), -1.f);
}

TEST(Plan, WeightsFedAtRunTimeAreNotPrepared) {
  // Conv and Gemm whose weights are graph inputs: kernels must read them on every run, not
  // pack whatever the weights were when the plan was made.
  ir::Graph g;
  ir::Builder b(g, ops(), 1);
  ir::ValueId x = b.input("x", {1, 3, 6, 6});
  ir::ValueId w = b.input("w", {4, 3, 3, 3});
  ir::ValueId fc = b.input("fc", {4 * 6 * 6, 5});
  ir::Attributes conv;
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::ValueId c = b.relu(b.op("Conv", {x, w}, conv)[0]);
  b.output(b.op("Gemm", {b.flatten(c), fc})[0]);
  Plan plan = Plan::compile(g);
  Rng rng(4);
  for (int round = 0; round < 2; ++round) {
    std::map<std::string, Tensor> feeds = {{"x", testing::random_tensor({2, 3, 6, 6}, rng)},
                                           {"w", testing::random_tensor({4, 3, 3, 3}, rng)},
                                           {"fc", testing::random_tensor({4 * 6 * 6, 5}, rng)}};
    ir::Graph copy = g;
    Executor exec(copy, ops(), {.training = false, .use_kernels = false});
    const Tensor want = exec.forward(feeds).at(0);
    const Tensor got = plan.run({feeds["x"], feeds["w"], feeds["fc"]}).at(0);
    EXPECT_LE(testing::max_rel_diff(got, want), 1e-4) << "round " << round;
  }
}

TEST(Plan, ResNet18At224ReusesActivationMemory) {
  // The figure the runtime issue asks for: peak vs total activation memory at batch 1.
  ir::Graph g = models::build_model("resnet18", {{3, 224, 224}, 1000, 1}, ops());
  Plan plan = Plan::compile(g);
  plan.run({pixels(1, {3, 224, 224}, 3)});
  const PlanMemory mem = plan.memory();
  std::printf("[ plan     ] resnet18 3x224x224 batch 1: peak %.2f MiB, total %.2f MiB, %lld values\n",
              static_cast<double>(mem.peak_bytes) / (1 << 20), static_cast<double>(mem.total_bytes) / (1 << 20),
              static_cast<long long>(mem.values));
  EXPECT_LT(mem.peak_bytes, mem.total_bytes);
  // The largest activations are the 64x112x112 stem output (3 MiB) and its pooled 64x56x56.
  EXPECT_GE(mem.peak_bytes, int64_t{64} * 112 * 112 * 4);
}

}  // namespace
}  // namespace leancnn::runtime
