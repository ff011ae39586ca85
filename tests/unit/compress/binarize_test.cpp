// The binarization family on zoo models: which layers get FakeBinarize / Binarize (first and last
// kept, Relu before a binarized input removed), packing (BatchNormalization folded, 1 or 2 bits
// per weight as the size figures read them, the file about 1/32 of f32), the packed graph
// computing what the training graph computes, through the reference and through a plan that runs
// the XNOR kernels, and a short training run with clipped latent weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "leancnn/compress/binarize/binarize.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/storage.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"
#include "random_images.h"

namespace leancnn::compress::binarize {
namespace {

ir::Graph model(const std::string& name) {
  return models::build_model(name, {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
}

// A freshly built model's BatchNormalization is the identity (scale 1, bias 0, mean 0, var 1). With
// binary inputs and weights every pre-sign value is then an integer multiple of the same scales,
// so exact ties at 0 are common, and the training graph's f32 sums (in another order than the
// packed graph's integer dot) land on either side of 0 by one ulp: sign flips that cascade. A
// trained model's BN statistics are not degenerate; give the test model random ones like them, so
// that the comparison checks the packing, not the tie-breaking of an untrained network.
ir::Graph trained_like(const std::string& name) {
  ir::Graph g = model(name);
  Rng rng(11);
  for (ir::NodeId id : g.node_ids()) {
    const ir::Node& n = g.node(id);
    if (n.op_type != "BatchNormalization") continue;
    const float lo[4] = {0.5f, -0.3f, -0.3f, 0.5f}, hi[4] = {1.5f, 0.3f, 0.3f, 1.5f};  // scale, bias, mean, var
    for (size_t k = 1; k < n.inputs.size() && k <= 4; ++k) {
      ir::Value& v = g.value(n.inputs[k]);
      if (v.is_initializer()) rng.fill_uniform(v.data, lo[k - 1], hi[k - 1]);
    }
  }
  return g;
}

int64_t count_ops(const ir::Graph& g, const std::string& op) {
  int64_t n = 0;
  for (ir::NodeId id : g.node_ids()) n += g.node(id).op_type == op;
  return n;
}

Tensor images(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor x = Tensor::empty({n, 1, 28, 28});
  rng.fill_uniform(x, 0.f, 1.f);
  return x;
}

Tensor forward(const ir::Graph& g, const Tensor& x) {
  ir::Graph copy = g;
  runtime::Executor exec(copy, ops::op_table(), {.training = false});
  return exec.forward({{"input", x}}).at(0);
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]) / std::max(1.0, static_cast<double>(std::fabs(b.data<float>()[i]))));
  return m;
}

TEST(Binarize, XnorInsertsWeightAndInputBinarizersKeepingFirstAndLast) {
  const ir::Graph g = model("resnet20");
  Spec spec;
  std::vector<LayerReport> layers;
  int64_t dropped = 0;
  const ir::Graph b = insert_fake_binarize(g, spec, &layers, &dropped);
  ASSERT_GE(layers.size(), 20u);
  EXPECT_FALSE(layers.front().binarized);
  EXPECT_FALSE(layers.back().binarized);
  const int64_t binarized = std::count_if(layers.begin(), layers.end(), [](const LayerReport& l) { return l.binarized; });
  EXPECT_EQ(binarized, static_cast<int64_t>(layers.size()) - 2);
  EXPECT_EQ(count_ops(b, "FakeBinarize"), binarized);
  EXPECT_GT(count_ops(b, "Binarize"), 0);
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(count_ops(b, "Relu"), count_ops(g, "Relu") - dropped);
  for (ir::NodeId id : b.node_ids()) {
    if (b.node(id).op_type == "Binarize") {
      EXPECT_EQ(b.node(id).attrs.get_string("scale", ""), "mean_abs");
    }
  }
  // BinaryConnect binarizes weights only.
  spec.method = Method::binaryconnect;
  const ir::Graph bc = insert_fake_binarize(g, spec);
  EXPECT_EQ(count_ops(bc, "Binarize"), 0);
  EXPECT_EQ(count_ops(bc, "Relu"), count_ops(g, "Relu"));
}

TEST(Binarize, UnknownExcludedLayerIsAUsageError) {
  Spec spec;
  spec.exclude = {"no_such_layer"};
  try {
    insert_fake_binarize(model("resnet20"), spec);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
}

TEST(Binarize, PackedXnorModelComputesTheTrainingGraphAndRunsOnXnorKernels) {
  const ir::Graph g = trained_like("resnet20");
  Spec spec;
  const Report r = run(g, {}, {}, spec);
  EXPECT_EQ(count_ops(r.graph, "FakeBinarize"), 0);
  EXPECT_EQ(count_ops(r.graph, "BatchNormalization"), 0);  // folded into the binary rows
  EXPECT_EQ(count_ops(r.graph, "BinaryWeights"), r.binarized);
  // 1 bit per binarized weight and input, as the size figures and the accelerator read them.
  const ir::OpTable& ops = ops::op_table();
  for (ir::NodeId id : r.graph.node_ids()) {
    const ir::Node& n = r.graph.node(id);
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    const ir::StoredTensor w = ir::stored_tensor(r.graph, ops, n.inputs[1]);
    const bool binary = r.graph.value(n.inputs[1]).producer != ir::kNone;
    EXPECT_EQ(w.bits, binary ? 1 : 32) << n.name;
    EXPECT_EQ(ir::value_bits(r.graph, ops, n.inputs[0]), binary ? 1 : 32) << n.name;
  }
  const Tensor x = images(3, 5);
  const Tensor want = forward(r.trained, x);
  const Tensor ref = forward(r.graph, x);
  EXPECT_LT(max_rel_diff(ref, want), 1e-3);
  runtime::Plan plan = runtime::Plan::compile(r.graph);
  const Tensor fast = plan.run({x}).at(0);
  EXPECT_LT(max_rel_diff(fast, want), 1e-3);
  int64_t xnor = 0;
  for (const runtime::PlanStep& s : plan.steps()) {
    if (s.op_type != "BinaryConv") continue;
    ++xnor;
    if (cpu_features().avx2) {
      EXPECT_NE(s.kernel.find("cpu_binary_conv_b1"), std::string::npos) << s.name << " " << s.kernel;
    }
  }
  EXPECT_EQ(xnor, r.binarized);
}

TEST(Binarize, PackedFileIsAbout1Of32OfFloatWithFirstAndLastLayersIncluded) {
  const ir::Graph g = model("resnet20");
  Spec spec;
  const Report r = run(g, {}, {}, spec);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "leancnn_binarize_size_test";
  std::filesystem::create_directories(dir);
  io::save_onnx(g, (dir / "float.onnx").string());
  io::save_onnx(r.graph, (dir / "binary.onnx").string());
  const double ratio = static_cast<double>(std::filesystem::file_size(dir / "binary.onnx")) /
                       static_cast<double>(std::filesystem::file_size(dir / "float.onnx"));
  EXPECT_LT(ratio, 0.06);
  // The file loads back and computes the same outputs.
  const ir::Graph back = io::load_onnx((dir / "binary.onnx").string(), ops::op_table());
  const Tensor x = images(2, 8);
  EXPECT_EQ(max_rel_diff(forward(back, x), forward(r.graph, x)), 0.0);
  std::filesystem::remove_all(dir);
}

TEST(Binarize, TernaryPacksTwoBitsAndBinaryConnectKeepsFloatInputs) {
  const ir::Graph g = trained_like("resnet20");
  for (Method m : {Method::twn, Method::binaryconnect, Method::bnn, Method::irnet}) {
    Spec spec;
    spec.method = m;
    const Report r = run(g, {}, {}, spec);
    int bits = 0;
    for (ir::NodeId id : r.graph.node_ids())
      if (r.graph.node(id).op_type == "BinaryWeights") bits = static_cast<int>(r.graph.node(id).attrs.get_int("bits", 0));
    EXPECT_EQ(bits, weight_bits(m)) << method_name(m);
    EXPECT_EQ(count_ops(r.graph, "Binarize") > 0, binarizes_activations(m)) << method_name(m);
    const Tensor x = images(2, 6);
    EXPECT_LT(max_rel_diff(forward(r.graph, x), forward(r.trained, x)), 1e-3) << method_name(m);
  }
}

TEST(Binarize, TrainingClipsLatentWeightsAndPacks) {
  const ir::Graph g = model("small_cnn");
  Spec spec;
  spec.method = Method::bnn;
  spec.keep_first_last = false;
  spec.train.epochs = 1;
  spec.train.batch = 32;
  spec.train.optimizer.lr = 0.5f;  // large steps: the clip must hold them
  spec.train.progress = 0;
  spec.train.out_dir = ::testing::TempDir() + "/binarize_train";  // the trainer checkpoints there
  std::filesystem::remove_all(spec.train.out_dir);
  const train::Dataset data = testing::random_blobs(64, 2);
  const Report r = run(g, data, data, spec);
  ASSERT_EQ(r.train.epochs.size(), 1u);
  for (ir::NodeId id : r.trained.node_ids()) {
    const ir::Node& n = r.trained.node(id);
    if (n.op_type != "FakeBinarize") continue;
    const Tensor& w = r.trained.value(n.inputs[0]).data;
    for (int64_t i = 0; i < w.numel(); ++i) ASSERT_LE(std::fabs(w.data<float>()[i]), 1.f);
  }
  EXPECT_GT(count_ops(r.graph, "BinaryWeights"), 0);
}

}  // namespace
}  // namespace leancnn::compress::binarize
