// The distillation family: the trainer's loss hook, teachers on the compiled plan, each method
// training through its hook (the student moves towards its teacher; extra parameters never
// leak into the saved model), online peers, and the errors a user meets first.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "leancnn/compress/distill/distill.h"
#include "leancnn/compress/distill/peers.h"
#include "leancnn/compress/distill/teacher.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/passes.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/predict.h"
#include "random_images.h"

namespace leancnn::compress::distill {
namespace {

ir::Graph model(const std::string& name, uint64_t seed, int64_t classes = 10) {
  return models::build_model(name, {.input = {1, 28, 28}, .classes = classes, .seed = seed}, ops::op_table());
}

std::string temp(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/distill_" + name;
  std::filesystem::remove_all(p);
  return p;
}

std::string saved(const ir::Graph& g, const std::string& name) {
  const std::string path = temp(name + ".onnx");
  io::save_onnx(g, path);
  return path;
}

std::set<std::string> initializer_names(const ir::Graph& g) {
  std::set<std::string> s;
  for (ir::ValueId v : g.initializers()) s.insert(g.value(v).name);
  return s;
}

Spec quick_spec(Method m, const std::string& dir, int64_t epochs = 1) {
  Spec s;
  s.method = m;
  s.train.epochs = epochs;
  s.train.batch = 32;
  s.train.optimizer.lr = 0.05f;
  s.train.progress = 0;
  s.train.out_dir = temp(dir);
  return s;
}

void expect_error(ErrorKind kind, const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one with '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// The plan's teacher values equal the reference executor's, features included (a Conv output
// that the plan would otherwise fuse with its Relu).
TEST(DistillTeacher, PlanMatchesTheExecutorOnLogitsAndFeatures) {
  ir::Graph t = model("resnet20", 5);
  ir::infer_shapes(t, ops::op_table());
  const std::vector<std::string> feats = stage_ends(t);
  ASSERT_EQ(feats.size(), 2u);  // 28x28 and 14x14 stages; the 7x7 one is the deepest
  Teacher teacher({t}, {"r20"}, feats, model("small_cnn", 1));
  EXPECT_EQ(teacher.feature_shape(0), (Shape{1, 16, 28, 28}));
  EXPECT_EQ(teacher.feature_shape(1), (Shape{1, 32, 14, 14}));
  const train::Dataset d = testing::random_blobs(8, 1);
  Tensor x = Tensor::empty({8, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d.images.data<uint8_t>()[i] / 255.f;
  const TeacherOutput out = teacher.run(x);
  runtime::ExecutorOptions eo;
  eo.keep_values = true;
  runtime::Executor exec(t, ops::op_table(), eo);
  const std::vector<Tensor> ref = exec.forward({{"input", x}});
  auto close = [](const Tensor& a, const Tensor& b) {
    ASSERT_EQ(a.shape(), b.shape());
    for (int64_t i = 0; i < a.numel(); ++i) ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-3f + 1e-3f * std::abs(b.data<float>()[i])) << i;
  };
  close(out.logits, ref[0]);
  for (size_t f = 0; f < feats.size(); ++f) close(out.features[f], exec.value(t.find_value(feats[f])));
}

TEST(DistillTeacher, EnsembleIsTheMeanOfLogitsAndMismatchesAreBadInput) {
  const ir::Graph a = model("small_cnn", 5), b = model("lenet5", 6), student = model("small_cnn", 1);
  Teacher one({a}, {"a"}, {}, student), two({b}, {"b"}, {}, student), both({a, b}, {"a", "b"}, {}, student);
  Tensor x = Tensor::full({3, 1, 28, 28}, 0.3f);
  const Tensor la = one.run(x).logits, lb = two.run(x).logits, lm = both.run(x).logits;
  for (int64_t i = 0; i < lm.numel(); ++i) EXPECT_NEAR(lm.data<float>()[i], 0.5f * (la.data<float>()[i] + lb.data<float>()[i]), 1e-5f);
  expect_error(ErrorKind::bad_input, [&] { Teacher({model("small_cnn", 5, 7)}, {"t7"}, {}, student); }, "same classes");
  expect_error(ErrorKind::bad_input, [&] { Teacher({a}, {"a"}, {"no_such_layer"}, student); }, "no value or layer named 'no_such_layer'");
}

// The loss hook in the trainer: extend() sees the loss graph, feed() every batch, and
// on_epoch_end() every epoch with the best flag.
TEST(DistillHook, TrainerCallsEveryPartOfALossHook) {
  ir::Graph g = model("small_cnn", 2);
  const train::Dataset d = testing::random_blobs(96, 2);
  int extends = 0, feeds = 0, epochs = 0;
  train::LossHook h;
  h.extend = [&](train::LossGraphView& v) {
    ++extends;
    EXPECT_EQ(v.graph.value(v.logits).shape, (Shape{1, 10}));
    EXPECT_NE(v.labels, ir::kNone);
    return v.loss;
  };
  h.feed = [&](const train::Batch& b, std::map<std::string, Tensor>& feeds_map) {
    ++feeds;
    EXPECT_EQ(b.images.dim(0), 32);
    EXPECT_EQ(feeds_map.count("labels"), 1u);
  };
  h.on_epoch_end = [&](const train::EpochMetrics& m, const ir::Graph&, bool) { EXPECT_EQ(m.epoch, ++epochs); };
  train::TrainOptions o = quick_spec(Method::kd, "hook", 2).train;
  train::train_model(g, ops::op_table(), d, d, o, train::TrainHooks{{}, {}, {h}});
  EXPECT_EQ(extends, 1);
  EXPECT_EQ(feeds, 6);
  EXPECT_EQ(epochs, 2);
  train::LossHook bad;
  bad.extend = [](train::LossGraphView& v) { return v.logits; };
  o.out_dir = temp("hook_bad");
  expect_error(ErrorKind::internal, [&] { train::train_model(g, ops::op_table(), d, d, o, train::TrainHooks{{}, {}, {bad}}); }, "not a scalar");
}

// Offline KD with alpha 1 (labels ignored): the student learns to agree with its teacher.
TEST(DistillRun, KdPullsTheStudentTowardsTheTeacher) {
  const ir::Graph teacher = model("lenet5", 11);
  const ir::Graph student = model("small_cnn", 12);
  const train::Dataset d = testing::random_blobs(256, 3);
  const train::Predictions t = train::predict(teacher, d, train::Engine::executor);
  const double before = train::agreement(train::predict(student, d, train::Engine::executor), t);
  Spec s = quick_spec(Method::kd, "kd", 6);
  s.teachers = {saved(teacher, "kd_teacher")};
  s.alpha = 1.f;
  s.temperature = 1.f;
  s.scratch_baseline = true;
  const Report r = run(student, d, d, s);
  const double after = train::agreement(train::predict(r.graph, d, train::Engine::executor), t);
  EXPECT_GT(after, before + 0.3) << before << " -> " << after;
  ASSERT_EQ(r.teachers.size(), 1u);
  EXPECT_GT(r.teachers[0].params, 0);
  ASSERT_TRUE(r.scratch.has_value());
  EXPECT_EQ(r.scratch->training.epochs.size(), 6u);
  EXPECT_EQ(initializer_names(r.graph), initializer_names(student));
  ASSERT_TRUE(r.gain().has_value());
}

// FitNets and attention transfer train through their feature terms; the regressor stays out
// of the saved model; a pair of different spatial sizes is refused before training.
TEST(DistillRun, FeatureMethodsTrainAndKeepTheModelClean) {
  const ir::Graph teacher = model("resnet20", 21);
  const ir::Graph student = model("small_cnn", 22);
  const train::Dataset d = testing::random_blobs(64, 4);
  const std::string tfile = saved(teacher, "feat_teacher");
  ir::Graph shaped_t = teacher;
  ir::infer_shapes(shaped_t, ops::op_table());
  const std::string t14 = stage_ends(shaped_t)[1];  // 32 x 14 x 14
  ir::Graph shaped_s = student;
  ir::infer_shapes(shaped_s, ops::op_table());
  const std::string s14 = stage_ends(shaped_s)[1];  // 64 x 14 x 14 (conv2's Relu)
  for (Method m : {Method::fitnets, Method::attention}) {
    Spec s = quick_spec(m, std::string("feat_") + method_name(m));
    s.teachers = {tfile};
    s.layers = {{s14, t14}};
    const Report r = run(student, d, d, s);
    ASSERT_EQ(r.distilled.training.epochs.size(), 1u) << method_name(m);
    EXPECT_TRUE(std::isfinite(r.distilled.training.epochs[0].train_loss));
    EXPECT_EQ(initializer_names(r.graph), initializer_names(student)) << method_name(m);
    Spec bad = s;
    bad.layers = {{stage_ends(shaped_s)[0], t14}};  // 28x28 against 14x14
    expect_error(ErrorKind::bad_input, [&] { run(student, d, d, bad); }, "same H x W");
  }
}

// DML and KDCL: peers joined into one graph train together and split back; each peer moved.
TEST(DistillRun, OnlinePeersTrainTogether) {
  const ir::Graph student = model("small_cnn", 31);
  const train::Dataset d = testing::random_blobs(64, 5);
  const ir::Graph other = reinitialized(student, 99);
  ASSERT_EQ(initializer_names(other), initializer_names(student));
  PeerGraph joined = join_peers({student, other});
  EXPECT_EQ(joined.peer_logits, std::vector<std::string>{"peer1.logits"});
  EXPECT_EQ(joined.graph.initializers().size(), 2 * student.initializers().size());
  for (Method m : {Method::dml, Method::kdcl}) {
    Spec s = quick_spec(m, std::string("online_") + method_name(m));
    s.peers = 3;
    const Report r = run(student, d, d, s);
    ASSERT_EQ(r.peers.size(), 3u);
    ASSERT_EQ(r.peer_results.size(), 3u);
    for (const ir::Graph& p : r.peers) EXPECT_EQ(initializer_names(p), initializer_names(student));
    const Tensor& w0 = student.value(student.find_value("conv1.weight")).data;
    const Tensor& w1 = r.peers[0].value(r.peers[0].find_value("conv1.weight")).data;
    const Tensor& w2 = r.peers[1].value(r.peers[1].find_value("conv1.weight")).data;
    EXPECT_NE(w0.data<float>()[0], w1.data<float>()[0]);  // trained
    EXPECT_NE(w1.data<float>()[0], w2.data<float>()[0]);  // different peers
  }
}

// Self-distillation: the best past epoch teaches; BYOT's auxiliary heads stay out of the model.
TEST(DistillRun, SelfDistillationMethods) {
  const ir::Graph student = model("small_cnn", 41);
  const train::Dataset d = testing::random_blobs(64, 6);
  ir::Graph shaped = student;
  ir::infer_shapes(shaped, ops::op_table());
  EXPECT_EQ(stage_ends(shaped).size(), 2u);
  for (Method m : {Method::self_best, Method::self_aux}) {
    const Report r = run(student, d, d, quick_spec(m, std::string("self_") + method_name(m), 2));
    ASSERT_EQ(r.distilled.training.epochs.size(), 2u) << method_name(m);
    for (const auto& e : r.distilled.training.epochs) EXPECT_TRUE(std::isfinite(e.train_loss));
    EXPECT_EQ(initializer_names(r.graph), initializer_names(student));
  }
}

TEST(DistillSpec, InconsistentSpecsAreUsageErrors) {
  auto check = [](Spec s, const std::string& needle) {
    s.train.out_dir = "x";
    expect_error(ErrorKind::usage, [&] { validate(s); }, needle);
  };
  Spec s;
  check(s, "needs a teacher");
  s.method = Method::dml;
  s.teachers = {"t.onnx"};
  check(s, "drop the teacher");
  s = {};
  s.method = Method::fitnets;
  s.teachers = {"t.onnx"};
  check(s, "needs layer pairs");
  s.layers = {{"a", ""}};
  check(s, "needs its teacher layer");
  s = {};
  s.teachers = {"t.onnx"};
  s.alpha = 0;
  check(s, "turns method 'kd' off");
  s = {};
  s.method = Method::dml;
  s.peers = 1;
  check(s, "peers >= 2");
  expect_error(ErrorKind::usage, [] { parse_method("hint"); }, "known: kd, fitnets");
  expect_error(ErrorKind::usage, [] { parse_layer_pair("a:"); }, "STUDENT_LAYER:TEACHER_LAYER");
  EXPECT_EQ(parse_layer_pair("relu2:layer2.2.relu2").teacher, "layer2.2.relu2");
  Spec online;
  online.method = Method::kdcl;
  online.train.out_dir = "x";
  expect_error(ErrorKind::usage, [&] { make_hooks(model("small_cnn", 1), online); }, "trains peers together");
  Spec missing;
  missing.teachers = {"/nonexistent/teacher.onnx"};
  missing.train.out_dir = "x";
  expect_error(ErrorKind::bad_input, [&] { make_hooks(model("small_cnn", 1), missing); }, "teacher.onnx");
}

}  // namespace
}  // namespace leancnn::compress::distill
