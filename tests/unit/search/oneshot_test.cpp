// One-shot weight sharing (search/oneshot.h): sub-nets take slices of the supernet's tensors
// (leading channels, centre taps), a step updates only the slice it trained, and a whole
// one-shot search runs on a tiny dataset; bad settings fail first.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../pipeline/tiny_data.h"
#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/search/oneshot.h"
#include "leancnn/search/search.h"

namespace leancnn::search {
namespace {

namespace fs = std::filesystem;

// The mobile space's smallest architecture but one block with a 3x3 kernel, expansion 3.
Architecture small_mobile(const SearchSpace& space) {
  Architecture a{"mobile", std::vector<int>(space.decisions().size(), 0)};
  a.choices[static_cast<size_t>(space.find("stage1.block0.expand"))] = 1;  // expansion 3
  return a;
}

TEST(OneShot, SubNetsTakeLeadingChannelsAndCentreTaps) {
  const auto space = make_space("mobile");
  const models::ModelConfig cfg{{1, 16, 16}, 10, 3};
  const ir::Graph largest = space->build(largest_architecture(*space), cfg, ops::op_table());
  SharedWeights shared(largest);
  ir::Graph g = space->build(small_mobile(*space), cfg, ops::op_table());
  shared.load(g);
  // stage1.block0: input 8 channels (stage 0's width 8), hidden 24, 3x3 depthwise; in the
  // largest network the input is 16 channels, hidden 96, 7x7.
  const Tensor& dw = g.value(g.find_value("stage1.block0.dw.weight")).data;
  const Tensor& full = shared.tensor("stage1.block0.dw.weight");
  ASSERT_EQ(dw.shape(), (Shape{24, 1, 3, 3}));
  ASSERT_EQ(full.shape(), (Shape{96, 1, 7, 7}));
  for (int64_t c = 0; c < 24; ++c)
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t x = 0; x < 3; ++x)
        EXPECT_EQ(dw.data<float>()[(c * 3 + y) * 3 + x], full.data<float>()[(c * 7 + y + 2) * 7 + x + 2]);
  const Tensor& ex = g.value(g.find_value("stage1.block0.expand.weight")).data;
  const Tensor& ex_full = shared.tensor("stage1.block0.expand.weight");
  ASSERT_EQ(ex.shape(), (Shape{24, 8, 1, 1}));
  EXPECT_EQ(ex.data<float>()[5 * 8 + 7], ex_full.data<float>()[5 * ex_full.dim(1) + 7]);

  // A step moves the slice and nothing outside it.
  const Tensor before = full.clone();
  runtime::Param p{"stage1.block0.dw.weight", 0, dw, Tensor::full(dw.shape(), 1.f)};
  shared.accumulate({p});
  shared.step(0.1f, 0.9f, 0.f);
  const Tensor& after = shared.tensor("stage1.block0.dw.weight");
  EXPECT_FLOAT_EQ(after.data<float>()[(0 * 7 + 2) * 7 + 2], before.data<float>()[(0 * 7 + 2) * 7 + 2] - 0.1f);
  EXPECT_EQ(after.data<float>()[0], before.data<float>()[0]);                       // a corner tap
  EXPECT_EQ(after.data<float>()[30 * 49 + 24], before.data<float>()[30 * 49 + 24]);  // channel 30

  // Accumulated gradients of two sub-nets (3x3 and 5x5 taps) are summed where the slices
  // overlap, and one step moves exactly their union (the sandwich rule's update).
  const Tensor before2 = after.clone();
  const Shape k5{24, 1, 5, 5};
  shared.accumulate({p});
  shared.accumulate({runtime::Param{"stage1.block0.dw.weight", 0, Tensor::zeros(k5), Tensor::full(k5, 2.f)}});
  shared.step(0.1f, 0.f, 0.f);
  const Tensor& after2 = shared.tensor("stage1.block0.dw.weight");
  const auto at = [](int64_t c, int64_t y, int64_t x) { return (c * 7 + y) * 7 + x; };
  EXPECT_NEAR(after2.data<float>()[at(3, 3, 3)], before2.data<float>()[at(3, 3, 3)] - 0.1f * 3.f, 1e-6f);  // both
  EXPECT_NEAR(after2.data<float>()[at(3, 1, 1)], before2.data<float>()[at(3, 1, 1)] - 0.1f * 2.f, 1e-6f);  // the 5x5 only
  EXPECT_EQ(after2.data<float>()[at(3, 0, 0)], before2.data<float>()[at(3, 0, 0)]);                        // neither
  EXPECT_EQ(after2.data<float>()[at(30, 3, 3)], before2.data<float>()[at(30, 3, 3)]);                      // channel 30
  // The step cleared the gradient: a step with nothing accumulated moves nothing.
  const Tensor before3 = after2.clone();
  shared.step(0.1f, 0.f, 0.f);
  EXPECT_EQ(shared.tensor("stage1.block0.dw.weight").data<float>()[at(3, 3, 3)], before3.data<float>()[at(3, 3, 3)]);
}

TEST(OneShot, SearchScoresSubNetsAndTrainsTheBest) {
  const std::string dir = ::testing::TempDir() + "/oneshot_search";
  fs::remove_all(dir);
  SearchSpec spec;
  spec.space = "mobile";
  spec.strategy = "oneshot";
  spec.budget = 2;
  spec.eval.data = pipeline::testing::write_tiny_idx(dir + "/data", 160, 32);
  spec.eval.train_images = 128;
  spec.eval.val_images = 32;
  spec.eval.test_images = 0;
  spec.eval.epochs = 1;
  spec.eval.batch = 32;
  spec.eval.latency_iters = 3;
  spec.eval.latency_warmup = 1;
  spec.eval.accel_presets = {};
  spec.oneshot.epochs = 1;
  spec.oneshot.candidates = 4;
  spec.oneshot.calibration_images = 64;
  spec.out_dir = dir + "/out";
  const SearchReport r = run_search(spec);
  EXPECT_EQ(r.trajectory.size(), 2u);  // the two best distinct sub-nets, trained from scratch
  const nlohmann::json& o = native(r.oneshot);
  ASSERT_TRUE(o.is_object());
  EXPECT_EQ(o["candidates"].size(), 4u);
  EXPECT_EQ(o["epoch_loss"].size(), 1u);
  for (const auto& c : o["candidates"]) {
    EXPECT_GE(c["supernet_val_acc"].get<double>(), 0.0);
    EXPECT_GT(c["latency_ms"].get<double>(), 0.0);
  }
  EXPECT_TRUE(fs::exists(dir + "/out/search.json"));
  EXPECT_TRUE(fs::exists(dir + "/out/best.onnx"));


  // Under a cap no sub-net meets, every one is measured but none scored for accuracy (no
  // calibration, no validation pass), and the finalists are not trained either.
  spec.objective.max_params = 1;
  spec.oneshot.pool = 3;
  spec.out_dir = dir + "/capped";
  const SearchReport capped = run_search(spec);
  const nlohmann::json& oc = native(capped.oneshot);
  ASSERT_EQ(oc["candidates"].size(), 4u);
  for (const auto& c : oc["candidates"]) {
    EXPECT_TRUE(c["supernet_val_acc"].is_null()) << c.dump();
    EXPECT_GT(c["params"].get<int64_t>(), 1);
    EXPECT_LT(c["score"].get<double>(), -1.0);
  }
  EXPECT_EQ(capped.best, -1);
  for (const EvalResult& e : capped.trajectory) EXPECT_FALSE(e.trained);
  EXPECT_EQ(oc["pool_size"], 0);  // no sub-net met the cap: the supernet trained uniformly
  EXPECT_GT(oc["pool_draws"].get<int64_t>(), 0);

  // Under a cap some sub-nets meet, the supernet trains from a pool of them.
  spec.objective.max_params = 0;
  spec.objective.max_macs = 2'000'000;  // the small end of the space (its smallest: 0.5 MMAC at 28x28)
  spec.out_dir = dir + "/pooled";
  const SearchReport pooled = run_search(spec);
  const nlohmann::json& op = native(pooled.oneshot);
  EXPECT_GE(op["pool_size"].get<int64_t>(), 1);
  EXPECT_LE(op["pool_size"].get<int64_t>(), 3);
  EXPECT_GE(op["pool_draws"].get<int64_t>(), op["pool_size"].get<int64_t>());

  // The sandwich rule over the pool: its largest and smallest members and one sampled member
  // per batch, the largest on the labels, the others distilled from it.
  spec.oneshot.sandwich = 1;
  spec.out_dir = dir + "/sandwich";
  const SearchReport sw = run_search(spec);
  const nlohmann::json& os = native(sw.oneshot);
  ASSERT_EQ(os["epoch_loss"].size(), 1u);
  EXPECT_TRUE(std::isfinite(os["epoch_loss"][0].get<double>()));
  EXPECT_GE(os["epoch_acc"][0].get<double>(), 0.0);
  EXPECT_EQ(os["candidates"].size(), 4u);
  EXPECT_GE(os["pool_size"].get<int64_t>(), 1);
}

// The capped pool starts from the smallest sub-net: no sample of the space costs fewer MACs, and
// the largest costs more than any.
TEST(OneShot, SmallestAndLargestArchitecturesBoundTheSpace) {
  const auto space = make_space("mobile");
  const ir::OpTable& ops = ops::op_table();
  const auto macs = [&](const Architecture& a) { return ir::summarize(space->build(a, {{1, 28, 28}, 10, 0}, ops), ops).macs; };
  const int64_t lo = macs(smallest_architecture(*space)), hi = macs(largest_architecture(*space));
  Rng rng(3);
  for (int i = 0; i < 20; ++i) {
    const int64_t m = macs(space->sample(rng));
    EXPECT_LE(lo, m);
    EXPECT_GE(hi, m);
  }
}

// The capped pool's walks: each step shrinks one live decision (fewer MACs), and the walk ends
// at the smallest architecture, where no step is left.
TEST(OneShot, ShrinkStepsWalkDownToTheSmallest) {
  const auto space = make_space("mobile");
  const ir::OpTable& ops = ops::op_table();
  const auto macs = [&](const Architecture& a) { return ir::summarize(space->build(a, {{1, 28, 28}, 10, 0}, ops), ops).macs; };
  Rng rng(5);
  for (const Architecture& start : {largest_architecture(*space), space->sample(rng)}) {
    Architecture a = start;
    int64_t last = macs(a);
    int steps = 0;
    while (shrink_step(*space, a, rng)) {
      const int64_t m = macs(a);
      EXPECT_LT(m, last) << space->describe(a);
      last = m;
      ASSERT_LT(++steps, 200);
    }
    EXPECT_EQ(arch_hash(*space, a), arch_hash(*space, smallest_architecture(*space)));
    EXPECT_GT(steps, 0);
  }
}

TEST(OneShot, BadSettingsFailBeforeAnyWork) {
  OneShotOptions o;
  try {
    check(o, "cell");
    FAIL() << "the cell space accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("--space mobile"), std::string::npos) << e.what();
  }
  o.candidates = 0;
  EXPECT_THROW(check(o, "mobile"), Error);
  o = OneShotOptions{};
  o.pool = -1;
  EXPECT_THROW(check(o, "mobile"), Error);
  o = OneShotOptions{};
  o.sandwich = -1;
  EXPECT_THROW(check(o, "mobile"), Error);
  SearchSpec spec;
  spec.space = "macro";
  spec.strategy = "oneshot";
  spec.out_dir = ::testing::TempDir() + "/oneshot_bad";
  EXPECT_THROW(run_search(spec), Error);
  spec.space = "mobile";
  spec.strategy = "darts";
  EXPECT_THROW(run_search(spec), Error);
}

}  // namespace
}  // namespace leancnn::search
