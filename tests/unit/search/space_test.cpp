// Search spaces: every sampled architecture decodes to a verified graph that runs and exports
// to ONNX; YAML round trips; the content hash follows the canonical form; bad YAML is named.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/plan.h"
#include "leancnn/search/space.h"

namespace leancnn::search {
namespace {

const models::ModelConfig kFashion{{1, 28, 28}, 10, 3};

Tensor run_plan(const ir::Graph& g, const Tensor& x) {
  runtime::Plan plan = runtime::Plan::compile(g);
  return plan.run({x}).at(0).clone();
}

Tensor random_input(uint64_t seed) {
  Tensor x = Tensor::empty({2, 1, 28, 28}, DType::f32);
  Rng rng(seed);
  rng.fill_uniform(x, 0.f, 1.f);
  return x;
}

class EverySpace : public ::testing::TestWithParam<std::string> {};

TEST_P(EverySpace, SampledArchitecturesBuildRunAndExport) {
  const auto space = make_space(GetParam());
  EXPECT_EQ(space->name(), GetParam());
  EXPECT_GT(space->log2_size(), 10.0);
  Rng rng(11);
  for (int i = 0; i < 4; ++i) {
    const Architecture a = space->sample(rng);
    ir::Graph g = space->build(a, kFashion, ops::op_table());
    ir::verify(g, ops::op_table());
    EXPECT_EQ(g.value(g.outputs().at(0)).shape, (Shape{1, 10}));
    EXPECT_GT(ir::summarize(g, ops::op_table()).params, 1000);
    const Tensor x = random_input(static_cast<uint64_t>(i));
    const Tensor y = run_plan(g, x);
    ASSERT_EQ(y.shape(), (Shape{2, 10}));
    for (int64_t k = 0; k < y.numel(); ++k) EXPECT_TRUE(std::isfinite(y.at(k)));
    // ONNX export and back: the same outputs.
    const std::string file = ::testing::TempDir() + "/space_" + GetParam() + std::to_string(i) + ".onnx";
    io::save_onnx(g, file);
    const Tensor y2 = run_plan(io::load_onnx(file, ops::op_table()), x);
    for (int64_t k = 0; k < y.numel(); ++k) EXPECT_NEAR(y.at(k), y2.at(k), 1e-5f);
    std::filesystem::remove(file);
  }
}

TEST_P(EverySpace, YamlRoundTripsAndHashesAreStable) {
  const auto space = make_space(GetParam());
  Rng rng(5);
  for (int i = 0; i < 10; ++i) {
    const Architecture a = space->sample(rng);
    const std::string text = to_yaml(*space, a);
    EXPECT_NE(text.find("space: " + GetParam()), std::string::npos);
    const Architecture b = from_yaml(text);
    EXPECT_EQ(b, a);
    EXPECT_EQ(arch_hash(*space, a), arch_hash(*space, b));
    EXPECT_EQ(arch_hash(*space, a).size(), 32u);
    // A mutation changes the network, so its hash.
    const Architecture m = space->mutate(a, rng);
    EXPECT_NE(arch_hash(*space, m), arch_hash(*space, a));
  }
}

INSTANTIATE_TEST_SUITE_P(Spaces, EverySpace, ::testing::Values("mobile", "macro", "cell"));

TEST(MobileSpace, DecisionsReachTheNetwork) {
  const auto space = make_space("mobile");
  Architecture a{"mobile", std::vector<int>(space->decisions().size(), 0)};
  auto macs = [&](const Architecture& x) { return ir::summarize(space->build(x, kFashion, ops::op_table()), ops::op_table()).macs; };
  const int64_t base = macs(a);
  Architecture k7 = a;
  k7.choices[static_cast<size_t>(space->find("stage0.block0.kernel"))] = 2;  // 7x7 depthwise
  EXPECT_GT(macs(k7), base);
  Architecture se = a;
  se.choices[static_cast<size_t>(space->find("stage1.block0.se"))] = 1;
  ir::Graph gse = space->build(se, kFashion, ops::op_table());
  int muls = 0;
  for (ir::NodeId n : gse.node_ids()) muls += gse.node(n).op_type == "Mul";
  EXPECT_EQ(muls, 1);
  Architecture deep = a;
  deep.choices[static_cast<size_t>(space->find("stage2.depth"))] = 2;
  EXPECT_GT(ir::summarize(space->build(deep, kFashion, ops::op_table()), ops::op_table()).params,
            ir::summarize(space->build(a, kFashion, ops::op_table()), ops::op_table()).params);
}

TEST(MobileSpace, UnusedBlocksDoNotChangeTheHash) {
  const auto space = make_space("mobile");
  Architecture a{"mobile", std::vector<int>(space->decisions().size(), 0)};  // depth 1 everywhere
  Architecture b = a;
  b.choices[static_cast<size_t>(space->find("stage0.block2.kernel"))] = 2;  // block 2 of a depth-1 stage
  EXPECT_EQ(arch_hash(*space, a), arch_hash(*space, b));
  b.choices[static_cast<size_t>(space->find("stage0.block0.kernel"))] = 2;
  EXPECT_NE(arch_hash(*space, a), arch_hash(*space, b));
}

TEST(CellSpace, EdgeOrderWithinANodeDoesNotChangeTheHash) {
  const auto space = make_space("cell");
  Rng rng(2);
  Architecture a = space->sample(rng);
  const size_t i = static_cast<size_t>(space->find("normal.node1.in0"));
  a.choices[i] = 0, a.choices[i + 1] = 1, a.choices[i + 2] = 2, a.choices[i + 3] = 4;
  Architecture b = a;
  std::swap(b.choices[i], b.choices[i + 2]);
  std::swap(b.choices[i + 1], b.choices[i + 3]);
  EXPECT_EQ(arch_hash(*space, a), arch_hash(*space, b));
}

TEST(Spaces, BadYamlIsNamed) {
  auto error_of = [](const std::string& text) {
    try {
      from_yaml(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("space: tiny\n").find("unknown search space 'tiny'"), std::string::npos);
  EXPECT_NE(error_of("choices: {}\n").find("no 'space' key"), std::string::npos);
  EXPECT_NE(error_of("space: macro\nchoices: {stage9.depth: 2}\n").find("no decision 'stage9.depth'"), std::string::npos);
  EXPECT_NE(error_of("space: macro\nchoices: {stage0.kernel: 4}\n").find("'4' is not one of 3, 5"), std::string::npos);
  const auto space = make_space("macro");
  std::string text = to_yaml(*space, Architecture{"macro", std::vector<int>(space->decisions().size(), 1)});
  text.replace(text.find("kernel: 5"), 9, "kernel: 3");
  EXPECT_NE(error_of(text).find("is not the hash of its choices"), std::string::npos);
  EXPECT_THROW(make_space("nope"), Error);
}

TEST(Spaces, TooSmallInputsAreBadInput) {
  const auto space = make_space("mobile");
  Rng rng(1);
  try {
    space->build(space->sample(rng), {{1, 4, 4}, 10, 0}, ops::op_table());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("at least 8x8"), std::string::npos);
  }
}

}  // namespace
}  // namespace leancnn::search
