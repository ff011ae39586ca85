// Post-training quantization: the QDQ graph follows the contract (docs/quantization.md), runs,
// stays close to the float model, and its file is small; W4 packs, log deploys as s8, bias
// correction removes a layer's mean output error, stochastic rounding is seeded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "leancnn/compress/quantize/ptq.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/predict.h"

namespace leancnn::compress::quantize {
namespace {

namespace fs = std::filesystem;

// Random u8 "images" with labels; smooth enough (blurred noise) that activations are not all alike.
train::Dataset random_images(int64_t n, uint64_t seed) {
  train::Dataset d;
  d.name = "random";
  d.images = Tensor::empty({n, 1, 28, 28}, DType::u8);
  d.labels = Tensor::empty({n}, DType::s64);
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const float cx = rng.uniform(6, 22), cy = rng.uniform(6, 22), r = rng.uniform(3, 9);
    for (int64_t y = 0; y < 28; ++y)
      for (int64_t x = 0; x < 28; ++x) {
        const float d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        const float v = 255.f * std::exp(-d2 / (2 * r * r)) + rng.uniform(0, 30);
        d.images.data<uint8_t>()[(i * 28 + y) * 28 + x] = static_cast<uint8_t>(std::min(255.f, v));
      }
    d.labels.data<int64_t>()[i] = rng.below(10);
  }
  return d;
}

ir::Graph zoo(const std::string& name) { return models::build_model(name, {{1, 28, 28}, 10, 3}, ops::op_table()); }

PtqOptions small_options() {
  PtqOptions o;
  o.calib_images = 32;
  o.calib_batch = 16;
  return o;
}

const ir::Node* producer(const ir::Graph& g, ir::ValueId v) {
  return g.value(v).producer == ir::kNone ? nullptr : &g.node(g.value(v).producer);
}

class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_((fs::temp_directory_path() / (std::to_string(::getpid()) + "_" + name)).string()) {}
  ~TempFile() { fs::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Ptq, W8A8FollowsTheQdqContract) {
  const ir::Graph g = zoo("small_cnn");
  const train::Dataset data = random_images(48, 1);
  const PtqResult r = quantize_post_training(g, data, small_options());
  const ir::Graph& q = r.graph;
  EXPECT_EQ(q.value(q.outputs()[0]).name, g.value(g.outputs()[0]).name);
  EXPECT_EQ(q.value(q.inputs()[0]).name, g.value(g.inputs()[0]).name);
  int layers = 0;
  for (ir::NodeId id : q.node_ids()) {
    const ir::Node& n = q.node(id);
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    ++layers;
    // x -> Q -> DQ -> layer
    const ir::Node* x = producer(q, n.inputs[0]);
    ASSERT_TRUE(x && x->op_type == "DequantizeLinear") << n.name;
    const ir::Node* xq = producer(q, x->inputs[0]);
    ASSERT_TRUE(xq && xq->op_type == "QuantizeLinear");
    EXPECT_EQ(q.value(x->inputs[2]).data.dtype(), DType::u8);
    // weights: s8, symmetric (zero points 0), per channel on axis 0
    const ir::Node* w = producer(q, n.inputs[1]);
    ASSERT_TRUE(w && w->op_type == "DequantizeLinear");
    const Tensor& wq = q.value(w->inputs[0]).data;
    EXPECT_EQ(wq.dtype(), DType::s8);
    EXPECT_EQ(w->attrs.get_int("axis", 1), 0);
    const Tensor& wzp = q.value(w->inputs[2]).data;
    EXPECT_EQ(wzp.dtype(), DType::s8);
    EXPECT_EQ(wzp.numel(), wq.dim(0));
    for (int64_t i = 0; i < wzp.numel(); ++i) EXPECT_EQ(wzp.data<int8_t>()[i], 0);
    // bias: s32 with scale = input scale * weight scale
    ASSERT_GE(n.inputs.size(), 3u);
    const ir::Node* b = producer(q, n.inputs[2]);
    ASSERT_TRUE(b && b->op_type == "DequantizeLinear");
    EXPECT_EQ(q.value(b->inputs[0]).data.dtype(), DType::s32);
    const float s_in = q.value(x->inputs[1]).data.at(0);
    const Tensor& sw = q.value(w->inputs[1]).data;
    const Tensor& sb = q.value(b->inputs[1]).data;
    for (int64_t c = 0; c < sw.numel(); ++c) EXPECT_EQ(sb.at(c), s_in * sw.at(c));
  }
  EXPECT_EQ(layers, 4);
  EXPECT_EQ(static_cast<int>(r.layers.size()), 4);
  for (const LayerReport& l : r.layers) {
    EXPECT_EQ(l.weight_bits, 8);
    EXPECT_GT(l.weight_sqnr_db, 30.0) << l.name;
    EXPECT_GT(l.input_scale, 0.f);
    EXPECT_GT(l.output_scale, 0.f);
  }
  EXPECT_GT(r.quantized_activations, 0);
  EXPECT_LT(r.bytes, r.float_bytes / 3);
}

TEST(Ptq, FakeQuantStaysCloseToFloat) {
  const ir::Graph g = zoo("resnet20");
  const train::Dataset data = random_images(64, 2);
  const PtqResult r = quantize_post_training(g, data, small_options());
  ir::Graph fg = g, qg = r.graph;
  runtime::Executor fe(fg, ops::op_table()), qe(qg, ops::op_table());
  const std::vector<Tensor> batches = calibration_batches(data, 16, 16, 9);
  const Tensor yf = fe.forward({{"input", batches[0]}}).at(0);
  const Tensor yq = qe.forward({{"input", batches[0]}}).at(0);
  double num = 0, den = 0;
  for (int64_t i = 0; i < yf.numel(); ++i) {
    num += (yf.at(i) - yq.at(i)) * (yf.at(i) - yq.at(i));
    den += yf.at(i) * yf.at(i);
  }
  EXPECT_LT(std::sqrt(num / den), 0.1);  // relative RMS error of the logits
}

TEST(Ptq, FileSizesReflectTheBits) {
  // ResNet-20 (0.27 M parameters): int8 file <= 0.27x the fp32 file, packed W4 <= 0.15x.
  const ir::Graph g = zoo("resnet20");
  const train::Dataset data = random_images(16, 3);
  TempFile f32("r20_f32.onnx"), f8("r20_w8.onnx"), f4("r20_w4.onnx"), f4u("r20_w4u.onnx");
  io::save_onnx(g, f32.path());
  PtqOptions o = small_options();
  o.calib_images = 16;
  io::save_onnx(quantize_post_training(g, data, o).graph, f8.path());
  o.weight_bits = 4;
  const PtqResult w4 = quantize_post_training(g, data, o);
  io::save_onnx(w4.graph, f4.path());
  o.pack_int4 = false;
  io::save_onnx(quantize_post_training(g, data, o).graph, f4u.path());
  const double base = static_cast<double>(fs::file_size(f32.path()));
  const double r8 = fs::file_size(f8.path()) / base, r4 = fs::file_size(f4.path()) / base;
  std::printf("  resnet20 file size vs fp32: W8A8 %.3f, W4A8 %.3f, W4A8 unpacked %.3f\n", r8, r4,
              fs::file_size(f4u.path()) / base);
  EXPECT_LE(r8, 0.27);
  EXPECT_LE(r4, 0.15);
  int unpack = 0;
  for (ir::NodeId id : w4.graph.node_ids()) unpack += w4.graph.node(id).op_type == "UnpackInt4";
  EXPECT_EQ(unpack, 22);  // every Conv and the Gemm
  // The saved files load back and verify.
  const ir::Graph back = io::load_onnx(f4.path(), ops::op_table());
  EXPECT_EQ(back.node_ids().size(), w4.graph.node_ids().size());
}

TEST(Ptq, W4WeightsAreInMinus7To7AndPerLayerBitsApply) {
  const ir::Graph g = zoo("small_cnn");
  const train::Dataset data = random_images(16, 4);
  PtqOptions o = small_options();
  o.pack_int4 = false;
  o.weight_bits = 4;
  const QuantizableSet qs = quantizable(prepare_for_quantization(g));
  ASSERT_EQ(qs.layers.size(), 4u);
  o.layer_bits[qs.layers[0]] = 8;
  o.layer_bits[qs.layers[3]] = 0;
  const PtqResult r = quantize_post_training(g, data, o);
  EXPECT_EQ(r.layers[0].weight_bits, 8);
  EXPECT_EQ(r.layers[1].weight_bits, 4);
  EXPECT_EQ(r.layers[3].weight_bits, 0);
  EXPECT_EQ(r.layers[3].scheme, "float");
  for (ir::NodeId id : r.graph.node_ids()) {
    const ir::Node& n = r.graph.node(id);
    if (n.name != qs.layers[1]) continue;
    const Tensor& w = r.graph.value(producer(r.graph, n.inputs[1])->inputs[0]).data;
    int lo = 0, hi = 0;
    for (int64_t i = 0; i < w.numel(); ++i) lo = std::min<int>(lo, w.data<int8_t>()[i]), hi = std::max<int>(hi, w.data<int8_t>()[i]);
    EXPECT_EQ(lo, -7);
    EXPECT_EQ(hi, 7);
  }
  o.layer_bits["no_such_layer"] = 4;
  EXPECT_THROW(quantize_post_training(g, data, o), Error);
}

TEST(Ptq, LogWeightsArePowersOfTwoOnS8) {
  const ir::Graph g = zoo("small_cnn");
  const train::Dataset data = random_images(16, 5);
  PtqOptions o = small_options();
  o.weight_scheme = WeightScheme::log2;
  const PtqResult r = quantize_post_training(g, data, o);
  for (ir::NodeId id : r.graph.node_ids()) {
    const ir::Node& n = r.graph.node(id);
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    const Tensor& w = r.graph.value(producer(r.graph, n.inputs[1])->inputs[0]).data;
    ASSERT_EQ(w.dtype(), DType::s8);
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int a = std::abs(static_cast<int>(w.data<int8_t>()[i]));
      ASSERT_TRUE(a == 0 || (a <= 64 && (a & (a - 1)) == 0)) << a;
    }
  }
  for (const LayerReport& l : r.layers) EXPECT_EQ(l.scheme, "log2");
}

TEST(Ptq, BiasCorrectionRemovesTheFirstLayersMeanError) {
  // The first layer's input (the quantized image) is the same in both graphs, so after
  // correction its per-channel mean output matches the float layer's up to bias rounding.
  const ir::Graph g = zoo("small_cnn");
  const train::Dataset data = random_images(32, 6);
  PtqOptions o = small_options();
  o.weight_bits = 4;  // a large weight error, so there is something to correct
  const PtqResult plain = quantize_post_training(g, data, o);
  o.bias_correction = true;
  const PtqResult corrected = quantize_post_training(g, data, o);
  EXPECT_GT(corrected.layers[0].bias_correction, 0.0);
  const ir::Graph prepared = prepare_for_quantization(g);
  const std::string conv_out = prepared.value(prepared.node(prepared.topo_order()[0]).outputs[0]).name;
  const std::vector<Tensor> batches = calibration_batches(data, o.calib_images, o.calib_batch, o.seed);
  auto channel_means = [&](const ir::Graph& graph) {
    ir::Graph copy = graph;
    runtime::Executor e(copy, ops::op_table(), {.keep_values = true});
    std::vector<double> m;
    int64_t count = 0;
    for (const Tensor& b : batches) {
      e.forward({{"input", b}});
      const Tensor& y = e.value(copy.find_value(conv_out));
      const int64_t n = y.dim(0), c = y.dim(1), hw = y.numel() / (n * c);
      m.resize(c, 0.0);
      for (int64_t i = 0; i < y.numel(); ++i) m[(i / hw) % c] += y.at(i);
      count += n * hw;
    }
    for (double& v : m) v /= count;
    return m;
  };
  const std::vector<double> mf = channel_means(prepared), mp = channel_means(plain.graph), mc = channel_means(corrected.graph);
  double err_plain = 0, err_corrected = 0;
  for (size_t c = 0; c < mf.size(); ++c) {
    err_plain += std::fabs(mp[c] - mf[c]);
    err_corrected += std::fabs(mc[c] - mf[c]);
  }
  EXPECT_LT(err_corrected, 0.2 * err_plain) << "plain " << err_plain << ", corrected " << err_corrected;
}

TEST(Ptq, StochasticRoundingIsSeeded) {
  const ir::Graph g = zoo("small_cnn");
  const train::Dataset data = random_images(16, 7);
  PtqOptions o = small_options();
  o.rounding = Rounding::stochastic;
  auto weights = [&](uint64_t seed) {
    o.seed = seed;
    const PtqResult r = quantize_post_training(g, data, o);
    for (ir::NodeId id : r.graph.node_ids())
      if (r.graph.node(id).op_type == "Conv") return r.graph.value(producer(r.graph, r.graph.node(id).inputs[1])->inputs[0]).data;
    return Tensor();
  };
  const Tensor a = weights(1), b = weights(1), c = weights(2);
  ASSERT_TRUE(a.defined());
  bool ab = true, ac = true;
  for (int64_t i = 0; i < a.numel(); ++i) {
    ab &= a.data<int8_t>()[i] == b.data<int8_t>()[i];
    ac &= a.data<int8_t>()[i] == c.data<int8_t>()[i];
  }
  EXPECT_TRUE(ab);
  EXPECT_FALSE(ac);
}

TEST(Ptq, MethodsAndErrors) {
  const ir::Graph g = zoo("small_cnn");
  const train::Dataset data = random_images(16, 8);
  for (RangeMethod m : {RangeMethod::ema, RangeMethod::percentile, RangeMethod::entropy, RangeMethod::mse}) {
    PtqOptions o = small_options();
    o.act_observer.method = m;
    o.weight_method = m == RangeMethod::mse ? RangeMethod::mse : RangeMethod::minmax;
    EXPECT_NO_THROW(quantize_post_training(g, data, o)) << range_method_name(m);
  }
  PtqOptions weight_only = small_options();
  weight_only.act_bits = 0;
  const PtqResult wo = quantize_post_training(g, data, weight_only);
  EXPECT_EQ(wo.quantized_activations, 0);
  PtqOptions bad = small_options();
  bad.act_bits = 4;
  EXPECT_THROW(quantize_post_training(g, data, bad), Error);
  // An already quantized model is refused.
  const PtqResult r = quantize_post_training(g, data, small_options());
  try {
    quantize_post_training(r.graph, data, small_options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
  }
  train::Dataset empty;
  EXPECT_THROW(quantize_post_training(g, empty, small_options()), Error);
}

TEST(Ptq, PredictAndAgreement) {
  const ir::Graph g = zoo("small_cnn");
  const train::Dataset data = random_images(40, 9);
  const train::Predictions a = train::predict(g, data, train::Engine::executor, 30, 16);
  const train::Predictions b = train::predict(g, data, train::Engine::plan, 30, 7);
  EXPECT_EQ(a.top1.size(), 30u);
  EXPECT_DOUBLE_EQ(train::agreement(a, b), 1.0);
}

}  // namespace
}  // namespace leancnn::compress::quantize
