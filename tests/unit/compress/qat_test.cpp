// QAT: FakeQuantize insertion, the QDQ conversion computing exactly the QAT graph's forward, and
// a short fine-tuning run through the trainer that lowers the loss.
#include <gtest/gtest.h>

#include <filesystem>

#include "leancnn/compress/quantize/qat.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::quantize {
namespace {

ir::Graph zoo(const std::string& name, const Shape& input) {
  return models::build_model(name, {.input = input, .classes = 10, .seed = 3}, ops::op_table());
}

Tensor random_images(int64_t n, const Shape& chw, uint64_t seed) {
  Shape s = {n};
  s.insert(s.end(), chw.begin(), chw.end());
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_uniform(t, 0.f, 1.f);
  return t;
}

Tensor run(ir::Graph g, const Tensor& x, bool use_kernels) {
  runtime::Executor exec(g, ops::op_table(), {.training = false, .use_kernels = use_kernels});
  return exec.forward({{g.value(g.inputs()[0]).name, x}})[0];
}

int count(const ir::Graph& g, const std::string& op) {
  int k = 0;
  for (ir::NodeId id : g.node_ids()) k += g.node(id).op_type == op;
  return k;
}

struct Case {
  std::string model;
  Shape input;
  QatOptions options;
};

class QatConversion : public ::testing::TestWithParam<Case> {};

// The converted QDQ graph feeds every Conv / Gemm the same f32 values as the QAT graph, so the
// outputs are equal (bit for bit in the reference; the same kernels run on the same values).
TEST_P(QatConversion, QdqGraphComputesTheFakeQuantGraph) {
  const Case& c = GetParam();
  const ir::Graph model = zoo(c.model, c.input);
  const QatResult q = insert_fake_quant(model, c.options, random_images(8, c.input, 1));
  EXPECT_GT(q.layers, 1);
  EXPECT_GT(q.activations, 1);
  EXPECT_EQ(count(q.graph, "BatchNormalization"), 0) << "BN is folded before QAT";
  EXPECT_EQ(q.scale_params.empty(), c.options.method != QatMethod::lsq);
  const ir::Graph qdq = fake_quant_to_qdq(q.graph);
  EXPECT_EQ(count(qdq, "FakeQuantize"), 0);
  EXPECT_GT(count(qdq, "QuantizeLinear"), 0);
  // Packed when the integers fit [-8, 7]: bits <= 4, DoReFa (odd levels up to 2^b - 1) bits <= 3.
  EXPECT_EQ(count(qdq, "UnpackInt4") > 0, c.options.weight_bits <= (c.options.method == QatMethod::dorefa ? 3 : 4));
  for (ir::ValueId v : qdq.initializers()) {
    EXPECT_FALSE(qdq.value(v).trainable) << qdq.value(v).name;
    if (qdq.value(v).dtype == DType::f32) {
      EXPECT_LE(qdq.value(v).data.numel(), 256) << "float weights left: " << qdq.value(v).name;
    }
  }
  const Tensor x = random_images(5, c.input, 2);
  for (bool kernels : {false, true}) {
    const Tensor a = run(q.graph, x, kernels), b = run(qdq, x, kernels);
    ASSERT_EQ(a.shape(), b.shape());
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.at(i), b.at(i), 1e-6f) << "kernels " << kernels << " element " << i;
  }
}

QatOptions opts(int w, int a, QatMethod m, bool per_channel = true, ScaleInit init = ScaleInit::minmax) {
  QatOptions o;
  o.weight_bits = w;
  o.act_bits = a;
  o.method = m;
  o.per_channel = per_channel;
  o.weight_init = o.act_init = init;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QatConversion,
    ::testing::Values(Case{"resnet20", {1, 8, 8}, opts(4, 8, QatMethod::lsq)},
                      Case{"resnet20", {1, 8, 8}, opts(8, 8, QatMethod::ste, false)},
                      Case{"small_cnn", {1, 28, 28}, opts(4, 8, QatMethod::lsq, true, ScaleInit::lsq)},
                      Case{"small_cnn", {1, 28, 28}, opts(3, 4, QatMethod::dorefa)},
                      Case{"small_cnn", {1, 28, 28}, opts(2, 2, QatMethod::ste, false)}));

TEST(Qat, RejectsBadOptionsAndQuantizedModels) {
  const ir::Graph model = zoo("small_cnn", {1, 28, 28});
  const Tensor calib = random_images(2, {1, 28, 28}, 1);
  EXPECT_THROW(insert_fake_quant(model, opts(9, 8, QatMethod::lsq), calib), Error);
  EXPECT_THROW(insert_fake_quant(model, opts(8, 8, QatMethod::dorefa), calib), Error);
  EXPECT_THROW(insert_fake_quant(model, opts(4, 1, QatMethod::ste), calib), Error);
  const QatResult q = insert_fake_quant(model, opts(4, 8, QatMethod::lsq), calib);
  try {
    insert_fake_quant(q.graph, opts(4, 8, QatMethod::lsq), calib);
    ADD_FAILURE() << "a QAT graph must not be quantized again";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
  }
  EXPECT_THROW(parse_qat_method("pact"), Error);
}

train::Dataset toy(int64_t n, uint64_t seed) {
  train::Dataset d;
  d.images = Tensor::empty({n, 1, 28, 28}, DType::u8);
  d.labels = Tensor::empty({n}, DType::s64);
  Rng rng(seed);
  for (int64_t i = 0; i < d.images.numel(); ++i) d.images.data<uint8_t>()[i] = static_cast<uint8_t>(rng.uniform() * 255);
  for (int64_t i = 0; i < n; ++i) d.labels.data<int64_t>()[i] = static_cast<int64_t>(rng.uniform() * 10) % 10;
  return d;
}

// LSQ fine-tuning through the ordinary trainer: the loss falls, the step sizes learn (no weight
// decay on them), and the result still converts.
TEST(Qat, ShortLsqRunLowersTheLoss) {
  const train::Dataset data = toy(64, 5);
  const ir::Graph model = zoo("small_cnn", {1, 28, 28});
  Tensor calib = Tensor::empty({16, 1, 28, 28});
  for (int64_t i = 0; i < calib.numel(); ++i) calib.data<float>()[i] = data.images.data<uint8_t>()[i] / 255.f;
  QatResult q = insert_fake_quant(model, opts(4, 8, QatMethod::lsq), calib);
  const std::string scale = q.scale_params.at(0);
  const float scale0 = q.graph.value(q.graph.find_value(scale)).data.at(0);

  train::TrainOptions o;
  o.epochs = 4;
  o.batch = 16;
  o.optimizer.lr = 0.05f;
  o.optimizer.weight_decay = 5e-4f;
  o.optimizer.no_decay = qat_scale_params(q.graph);
  o.progress = 0;
  o.out_dir = (std::filesystem::temp_directory_path() / "leancnn_qat_test").string();
  std::filesystem::remove_all(o.out_dir);
  train::TrainHooks hooks;
  hooks.after_step.push_back([&](std::vector<runtime::Param>& p) { clamp_scales(p, o.optimizer.no_decay); });
  const train::TrainResult r = train::train_model(q.graph, ops::op_table(), data, data, o, hooks);
  std::filesystem::remove_all(o.out_dir);
  ASSERT_EQ(r.epochs.size(), 4u);
  EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
  EXPECT_NE(q.graph.value(q.graph.find_value(scale)).data.at(0), scale0) << "the LSQ step size should learn";
  EXPECT_NO_THROW(fake_quant_to_qdq(q.graph));
}

// Continuing a QAT run trains a copy: the caller's graph keeps its weights and scales
// (regression: copies of a Graph share initializer storage, and training edits it in place).
TEST(Qat, RunQatLeavesItsInputUntouched) {
  const train::Dataset data = toy(32, 6);
  Tensor calib = Tensor::empty({8, 1, 28, 28});
  for (int64_t i = 0; i < calib.numel(); ++i) calib.data<float>()[i] = data.images.data<uint8_t>()[i] / 255.f;
  const QatResult q = insert_fake_quant(zoo("small_cnn", {1, 28, 28}), opts(4, 8, QatMethod::lsq), calib);
  const std::string scale = q.scale_params.at(0);
  const float scale0 = q.graph.value(q.graph.find_value(scale)).data.at(0);
  QatSpec spec;
  spec.train.epochs = 1;
  spec.train.batch = 16;
  spec.train.optimizer.lr = 0.05f;
  spec.train.progress = 0;
  spec.train.out_dir = (std::filesystem::temp_directory_path() / "leancnn_qat_untouched_test").string();
  std::filesystem::remove_all(spec.train.out_dir);
  const QatReport r = run_qat(q.graph, data, data, spec);
  std::filesystem::remove_all(spec.train.out_dir);
  EXPECT_NE(r.trained.value(r.trained.find_value(scale)).data.at(0), scale0) << "the copy should train";
  EXPECT_EQ(q.graph.value(q.graph.find_value(scale)).data.at(0), scale0) << "the input graph changed";
}

}  // namespace
}  // namespace leancnn::compress::quantize
