// The trainer on real Fashion-MNIST subsets: the loss falls and accuracy beats chance widely,
// an interrupted-and-resumed run equals a straight one, and a diverging run stops with a clear
// error without touching the last good checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/io/file.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::train {
namespace {

namespace fs = std::filesystem;

struct Data {
  Dataset train, test;
};

const Data& fashion() {
  static const Data d = [] {
    const std::string dir = resolve_data_dir("fashion-mnist");
    return Data{subset(load_idx_dataset(dir, Split::train), 4096), subset(load_idx_dataset(dir, Split::test), 1000)};
  }();
  return d;
}

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("leancnn_trainer_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

TrainOptions quick(const std::string& out, int64_t epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 64;
  o.optimizer = {.kind = "sgd", .lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f};
  o.schedule.kind = "cosine";
  o.augment = {.crop_pad = 2, .hflip = true};
  o.seed = 5;
  o.out_dir = out;
  o.progress = 0;
  return o;
}

ir::Graph lenet() { return models::build_model("lenet5", {{1, 28, 28}, 10, 5}, ops::op_table()); }

TEST(Trainer, LearnsFashionMnist) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  ir::Graph m = lenet();
  const std::string out = temp_dir("learns");
  TrainOptions o = quick(out, 2);
  o.augment = {};
  o.optimizer.lr = 0.1f;
  TrainResult r = train_model(m, ops::op_table(), fashion().train, fashion().test, o);
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_LT(r.epochs[1].train_loss, r.epochs[0].train_loss);
  EXPECT_GT(r.epochs[1].test_acc, 0.6);  // chance is 0.1
  EXPECT_TRUE(fs::exists(out + "/best.onnx"));
  EXPECT_TRUE(fs::exists(out + "/metrics.jsonl"));
  fs::remove_all(out);
}

TEST(Trainer, ResumedRunEqualsStraightRun) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string a = temp_dir("straight"), b = temp_dir("resumed");
  ir::Graph straight = lenet();
  TrainResult ra = train_model(straight, ops::op_table(), fashion().train, fashion().test, quick(a, 2));

  ir::Graph first = lenet();
  TrainOptions stop = quick(b, 2);
  stop.stop_after = 1;
  train_model(first, ops::op_table(), fashion().train, fashion().test, stop);
  ir::Graph resumed = lenet();  // replaced by the checkpoint's model
  TrainOptions cont = quick(b, 2);
  cont.resume = true;
  TrainResult rb = train_model(resumed, ops::op_table(), fashion().train, fashion().test, cont);

  ASSERT_EQ(rb.epochs.size(), 1u);
  EXPECT_EQ(rb.epochs[0].train_loss, ra.epochs[1].train_loss);
  EXPECT_EQ(rb.epochs[0].test_acc, ra.epochs[1].test_acc);
  const ir::Value& wa = straight.value(straight.find_value("fc3.weight"));
  const ir::Value& wb = resumed.value(resumed.find_value("fc3.weight"));
  for (int64_t i = 0; i < wa.data.numel(); ++i) ASSERT_EQ(wa.data.at(i), wb.data.at(i)) << "weight " << i;
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Trainer, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string out = temp_dir("diverge");
  ir::Graph m = lenet();
  TrainOptions good = quick(out, 3);
  good.stop_after = 1;
  train_model(m, ops::op_table(), fashion().train, fashion().test, good);
  const std::string before = io::read_file(out + "/last/model.onnx");

  TrainOptions bad = quick(out, 3);
  bad.resume = true;
  bad.optimizer.lr = 1e8f;  // diverges within a few steps
  try {
    ir::Graph m2 = lenet();
    train_model(m2, ops::op_table(), fashion().train, fashion().test, bad);
    ADD_FAILURE() << "training with lr 1e8 did not stop";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_NE(std::string(e.what()).find("the loss became"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("last good checkpoint"), std::string::npos) << e.what();
  }
  EXPECT_EQ(io::read_file(out + "/last/model.onnx"), before);
  fs::remove_all(out);
}

// A model that cannot learn (every weight zero, a learning rate too small to leave zero) stays at
// chance: after epoch 2 the trainer says so once, naming the learning rate, and reports it.
// (Regression: KD at lr 0.1 killed the small CNN's ReLUs and ran 5 epochs at 10 % without a word.)
TEST(Trainer, CollapseToChanceIsDiagnosed) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string out = temp_dir("collapse");
  ir::Graph m = lenet();
  for (ir::ValueId v : m.initializers())
    if (m.value(v).trainable) m.value(v).data.zero();
  TrainOptions o = quick(out, 3);
  o.optimizer.lr = 1e-12f;
  o.augment = {};
  ::testing::internal::CaptureStderr();
  const TrainResult r = train_model(m, ops::op_table(), subset(fashion().train, 1024), fashion().test, o);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(r.collapsed);
  EXPECT_NE(err.find("warning: training has collapsed after epoch 2"), std::string::npos) << err;
  EXPECT_NE(err.find("base lr is 1e-12"), std::string::npos) << err;
  EXPECT_EQ(err.find("collapsed after epoch 3"), std::string::npos) << "warned once";
  // A run that learns is not flagged.
  ir::Graph ok = lenet();
  const TrainResult good = train_model(ok, ops::op_table(), subset(fashion().train, 1024), fashion().test, quick(out + "_ok", 2));
  EXPECT_FALSE(good.collapsed);
  fs::remove_all(out);
  fs::remove_all(out + "_ok");
}

TEST(Trainer, ResumeWithoutACheckpointIsAUsageError) {
  ir::Graph m = lenet();
  Dataset tiny = subset(fashion().train, 64);
  TrainOptions o = quick(temp_dir("nockpt"), 1);
  o.resume = true;
  try {
    train_model(m, ops::op_table(), tiny, tiny, o);
    ADD_FAILURE() << "resumed from nothing";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
}

}  // namespace
}  // namespace leancnn::train

namespace leancnn::train {
namespace {

TEST(Trainer, HooksRegulariseAndMask) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  ir::Graph m = lenet();
  Dataset small = subset(fashion().train, 256);
  TrainHooks hooks;
  int regularised = 0;
  // An L1 term on fc3's weights, and a mask keeping fc3.weight[0] at zero.
  hooks.regularizers.push_back([&](std::vector<runtime::Param>& ps) {
    ++regularised;
    double term = 0;
    for (auto& p : ps)
      if (p.name == "fc3.weight")
        for (int64_t i = 0; i < p.value.numel(); ++i) {
          const float w = p.value.data<float>()[i];
          term += 1e-4 * std::fabs(w);
          p.grad.data<float>()[i] += w > 0 ? 1e-4f : -1e-4f;
        }
    return term;
  });
  hooks.after_step.push_back([](std::vector<runtime::Param>& ps) {
    for (auto& p : ps)
      if (p.name == "fc3.weight") p.value.data<float>()[0] = 0.f;
  });
  TrainOptions o = quick(temp_dir("hooks"), 1);
  train_model(m, ops::op_table(), small, small, o, hooks);
  EXPECT_EQ(regularised, 4);  // 256 / 64 steps
  EXPECT_EQ(m.value(m.find_value("fc3.weight")).data.at(0), 0.f);
  fs::remove_all(o.out_dir);
}

}  // namespace
}  // namespace leancnn::train
