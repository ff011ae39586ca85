// ONNX files: every zoo model and a graph of every op round-trip bit-exactly (structure,
// weights, trainable flags, executor outputs) and pass libonnx's checker; hand-written files
// cover the import extras (Constant, Identity, initializer inputs, symbolic batch); saves are
// atomic; malformed files are Error(bad_input) naming the file and node, never a crash.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/builder.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "onnx_proto_util.h"
#include "onnx_test_support.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;
using namespace onnx_test;

onnx::ModelProto read_proto(const fs::path& p) {
  onnx::ModelProto m;
  const std::string bytes = read_file(p);
  EXPECT_TRUE(m.ParseFromString(bytes)) << p;
  return m;
}

// Rank-1 float initializers (biases, BN scale/shift/statistics) get values in [0.5, 1.5) so
// that a swap or a lost BN statistic changes the outputs (the zoo builds them as 0s and 1s).
void randomize_vectors(ir::Graph& g, uint64_t seed) {
  Rng rng(seed);
  for (ir::ValueId id : g.initializers()) {
    const ir::Value& v = g.value(id);
    if (v.dtype == DType::f32 && v.shape.size() == 1) rng.fill_uniform(v.data, 0.5f, 1.5f);
  }
}

void expect_same_graph(const ir::Graph& a, const ir::Graph& b, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.node_ids().size(), b.node_ids().size());
  std::map<std::string, const ir::Node*> by_name;
  for (ir::NodeId id : a.node_ids()) by_name[a.node(id).name] = &a.node(id);
  ASSERT_EQ(by_name.size(), a.node_ids().size()) << "node names are not unique";
  for (ir::NodeId id : b.node_ids()) {
    const ir::Node& nb = b.node(id);
    ASSERT_TRUE(by_name.count(nb.name)) << nb.label();
    const ir::Node& na = *by_name[nb.name];
    EXPECT_EQ(na.op_type, nb.op_type) << nb.label();
    EXPECT_EQ(na.domain, nb.domain) << nb.label();
    EXPECT_TRUE(na.attrs == nb.attrs) << nb.label();
    ASSERT_EQ(na.inputs.size(), nb.inputs.size()) << nb.label();
    for (size_t i = 0; i < na.inputs.size(); ++i)
      EXPECT_EQ(na.inputs[i] == ir::kNone ? "" : a.value(na.inputs[i]).name,
                nb.inputs[i] == ir::kNone ? "" : b.value(nb.inputs[i]).name);
    ASSERT_EQ(na.outputs.size(), nb.outputs.size()) << nb.label();
    for (size_t i = 0; i < na.outputs.size(); ++i) {
      EXPECT_EQ(a.value(na.outputs[i]).name, b.value(nb.outputs[i]).name);
      EXPECT_EQ(a.value(na.outputs[i]).shape, b.value(nb.outputs[i]).shape);
    }
  }
  const std::vector<ir::ValueId> ia = a.initializers(), ib = b.initializers();
  ASSERT_EQ(ia.size(), ib.size());
  for (size_t i = 0; i < ia.size(); ++i) {  // same order: graph order is kept
    const ir::Value& va = a.value(ia[i]);
    const ir::Value& vb = b.value(ib[i]);
    EXPECT_EQ(va.name, vb.name);
    EXPECT_EQ(va.trainable, vb.trainable) << va.name;
    ASSERT_EQ(va.dtype, vb.dtype) << va.name;
    ASSERT_EQ(va.shape, vb.shape) << va.name;
    ASSERT_EQ(va.data.nbytes(), vb.data.nbytes());
    EXPECT_EQ(std::memcmp(va.data.raw(), vb.data.raw(), va.data.nbytes()), 0) << va.name << " differs";
  }
  ASSERT_EQ(a.inputs().size(), b.inputs().size());
  for (size_t i = 0; i < a.inputs().size(); ++i) {
    EXPECT_EQ(a.value(a.inputs()[i]).name, b.value(b.inputs()[i]).name);
    EXPECT_EQ(a.value(a.inputs()[i]).shape, b.value(b.inputs()[i]).shape);
    EXPECT_EQ(a.value(a.inputs()[i]).dtype, b.value(b.inputs()[i]).dtype);
  }
  ASSERT_EQ(a.outputs().size(), b.outputs().size());
  for (size_t i = 0; i < a.outputs().size(); ++i)
    EXPECT_EQ(a.value(a.outputs()[i]).name, b.value(b.outputs()[i]).name);
}

// Random feeds for every graph input at batch 2 (integer inputs: labels in [0, 3)).
std::map<std::string, Tensor> random_feeds(const ir::Graph& g, uint64_t seed) {
  Rng rng(seed);
  std::map<std::string, Tensor> feeds;
  for (ir::ValueId id : g.inputs()) {
    const ir::Value& v = g.value(id);
    Shape s = v.shape;
    s[0] = 2;
    if (v.dtype == DType::f32) {
      Tensor t = Tensor::empty(s);
      rng.fill_uniform(t, -1.f, 1.f);
      feeds[v.name] = t;
    } else {
      std::vector<int64_t> labels;
      for (int64_t i = 0; i < shape_numel(s); ++i) labels.push_back(rng.below(3));
      feeds[v.name] = Tensor::from_ints(s, labels, v.dtype);
    }
  }
  return feeds;
}

void expect_same_outputs(ir::Graph& a, ir::Graph& b, uint64_t seed, const std::string& what) {
  SCOPED_TRACE(what);
  const auto feeds = random_feeds(a, seed);
  runtime::Executor ea(a, ops::op_table(), {.training = false});
  runtime::Executor eb(b, ops::op_table(), {.training = false});
  const std::vector<Tensor> ya = ea.forward(feeds), yb = eb.forward(feeds);
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t i = 0; i < ya.size(); ++i) {
    ASSERT_EQ(ya[i].shape(), yb[i].shape());
    ASSERT_GT(ya[i].numel(), 0);
    EXPECT_EQ(std::memcmp(ya[i].raw(), yb[i].raw(), ya[i].nbytes()), 0) << "output " << i << " differs";
    for (int64_t k = 0; k < ya[i].numel(); ++k) ASSERT_TRUE(std::isfinite(ya[i].at(k)));
  }
}

using OnnxFiles = OnnxDir;

TEST_F(OnnxFiles, EveryZooModelRoundTripsBitExactly) {
  // One thread: the file round trip is under test here, and OpenMP barriers on a loaded
  // machine would make this test slow (threaded kernels are tested in their own suites).
  const int threads = num_threads();
  set_num_threads(1);
  for (const auto& entry : models::zoo()) {
    ir::Graph g = models::build_model(entry.name, {{3, 32, 32}, 10, 7}, ops::op_table());
    randomize_vectors(g, 11);
    const fs::path p = file(entry.name + ".onnx");
    io::save_onnx(g, p.string());
    EXPECT_EQ(io::onnx_check(p.string()), "") << entry.name;

    ir::Graph loaded = io::load_onnx(p.string(), ops::op_table());
    expect_same_graph(g, loaded, entry.name);
    expect_same_outputs(g, loaded, 3, entry.name);

    // Without leancnn's metadata (as another tool may write it) the rule gives the same flags.
    onnx::ModelProto m = read_proto(p);
    m.clear_metadata_props();
    write_proto(p, m);
    ir::Graph by_rule = io::load_onnx(p.string(), ops::op_table());
    expect_same_graph(g, by_rule, entry.name + " (trainable flags by rule)");
  }
  set_num_threads(threads);
}

// A graph using every op leancnn has that the zoo does not, and the ai.leancnn losses.
ir::Graph every_op_graph() {
  ir::Graph g;
  ir::Builder b(g, ops::op_table(), 5);
  ir::ValueId x = b.input("input", {1, 3, 8, 8});
  ir::ValueId labels = b.input("labels", {1}, DType::s64);
  ir::ValueId teacher = b.input("teacher", {1, 5});
  ir::ValueId y = b.hard_swish(b.batch_norm(b.conv(x, 4, 3, 1, -1, 1, true)));
  y = b.avg_pool(y, 2, 2);                                                        // 1x4x4x4
  ir::Attributes reflect;
  reflect.set("mode", std::string("reflect"));
  y = b.op("Pad", {y, b.constant("pads", Tensor::from_ints({8}, {0, 0, 1, 0, 0, 0, 1, 0}, DType::s64))}, reflect)[0];
  ir::Attributes fused;  // 1x4x6x4 -> 1x4x4x4
  fused.set("kernel_shape", std::vector<int64_t>{3, 1});
  fused.set("activation", std::string("Clip"));
  fused.set("activation_params", std::vector<float>{-2.f, 2.f});
  Tensor fw = Tensor::empty({4, 4, 3, 1});
  Rng(3).fill_uniform(fw, -0.5f, 0.5f);
  y = b.op("FusedConv", {y, b.constant("fused.weight", fw, true)}, fused, 1, ir::kLeancnnDomain)[0];
  ir::Attributes block;  // 1x4x4x4 -> 1x4x4x4; Be and Bp omitted (empty names in the file)
  block.set("kernel_shape", std::vector<int64_t>{3, 3});
  block.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  block.set("group", int64_t{8});
  block.set("expand_activation", std::string("Relu"));
  block.set("dw_activation", std::string("Clip"));
  block.set("dw_activation_params", std::vector<float>{0.f, 6.f});
  Tensor we = Tensor::empty({8, 4, 1, 1}), wd = Tensor::empty({8, 1, 3, 3}), bd = Tensor::empty({8}),
         wp = Tensor::empty({4, 8, 1, 1});
  for (Tensor* t : {&we, &wd, &bd, &wp}) Rng(4).fill_uniform(*t, -0.5f, 0.5f);
  y = b.op("FusedInvertedResidual",
           {y, b.constant("block.we", we), ir::kNone, b.constant("block.wd", wd), b.constant("block.bd", bd),
            b.constant("block.wp", wp), ir::kNone, y},
           block, 1, ir::kLeancnnDomain)[0];
  y = b.mul(b.sigmoid(y), b.hard_sigmoid(b.clip(y, -1.f, 1.f), 0.25f, 0.4f));
  y = b.relu(b.max_pool(b.transpose(y, {0, 1, 3, 2}), 2, 2, 0, true));             // 1x4x2x2
  std::vector<ir::ValueId> parts = b.split(y, {1, 3}, 1);
  y = b.concat({parts[1], parts[0]}, 1);
  y = b.add(y, b.global_avg_pool(y));
  const ir::ValueId feature_map = y;  // 1x4x2x2
  ir::ValueId logits = b.linear(b.dropout(b.reshape(y, {0, -1}), 0.3f), 5);
  b.output(b.softmax(b.flatten(logits, 1), -1));
  ir::Attributes ls;
  ls.set("label_smoothing", 0.1f);
  b.output(b.op("SoftmaxCrossEntropy", {logits, labels}, ls, 1, ir::kLeancnnDomain)[0]);
  ir::Attributes t;
  t.set("temperature", 3.f);
  b.output(b.op("KLDivergence", {logits, teacher}, t, 1, ir::kLeancnnDomain)[0]);
  b.output(b.op("MSELoss", {logits, teacher}, {}, 1, ir::kLeancnnDomain)[0]);
  b.output(b.op("AttentionMap", {feature_map}, {}, 1, ir::kLeancnnDomain)[0]);  // 1x4 (attention transfer)
  // The int8 runtime's ops: QuantizeLinear / DequantizeLinear, the integer ops, 4-bit weights.
  const ir::ValueId qs = b.constant("q.scale", Tensor::from_floats({}, {0.05f}));
  const ir::ValueId qz = b.constant("q.zero_point", Tensor::from_ints({}, {128}, DType::u8));
  const ir::ValueId lq = b.op("QuantizeLinear", {logits, qs, qz})[0];  // u8 [1, 5]
  ir::Attributes w4_shape;
  w4_shape.set("shape", std::vector<int64_t>{4, 5});
  const ir::ValueId w4 = b.op("UnpackInt4",
                              {b.constant("w4.packed", Tensor::from_ints({10}, {0x21, 0xF3, 0x7E, 0x08, 0x19, 0x2A,
                                                                                0x3B, 0x4C, 0x5D, 0x6E},
                                                                         DType::u8))},
                              w4_shape, 1, ir::kLeancnnDomain)[0];  // s8 [4, 5]
  // SparseToDense of computed values (a constant one would be folded into an initializer on load):
  // five quantized codes scattered into a [2, 5] tensor by a mask with 5 bits set.
  const ir::ValueId codes =
      b.op("QuantizeLinear", {b.constant("sparse.floats", Tensor::from_floats({5}, {0.5f, -1.f, 2.f, 0.25f, 3.f})), qs, qz})[0];
  ir::Attributes sparse_shape;
  sparse_shape.set("shape", std::vector<int64_t>{2, 5});
  const ir::ValueId scattered =
      b.op("SparseToDense", {b.constant("sparse.mask", Tensor::from_ints({2}, {0b10010101, 0b10}, DType::u8)), codes},
           sparse_shape, 1, ir::kLeancnnDomain)[0];  // u8 [2, 5]
  b.output(b.op("DequantizeLinear", {scattered, qs, qz})[0]);  // f32 [2, 5]
  const ir::ValueId w_scale = b.constant("w.scale", Tensor::from_floats({4}, {0.1f, 0.2f, 0.3f, 0.4f}));
  const ir::ValueId w_zp = b.constant("w.zero_point", Tensor::zeros({4}, DType::s8));
  b.output(b.op("QGemm", {lq, qs, qz, w4, w_scale, w_zp}, {}, 1, ir::kLeancnnDomain)[0]);  // f32 [1, 4]
  const ir::ValueId mm = b.op("QLinearMatMul", {lq, qs, qz, b.constant("mm.w", Tensor::from_ints({5, 2}, {1, -2, 3, -4, 5, -6, 7, -8, 9, -10}, DType::s8)),
                                                b.constant("mm.w_scale", Tensor::from_floats({}, {0.02f})),
                                                b.constant("mm.w_zero_point", Tensor::from_ints({}, {0}, DType::s8)), qs, qz})[0];
  const ir::ValueId sum = b.op("QAdd", {mm, qs, qz, mm, qs, qz, qs, qz}, {}, 1, ir::kLeancnnDomain)[0];
  b.output(b.op("DequantizeLinear", {sum, qs, qz})[0]);
  const ir::ValueId xq = b.op("QuantizeLinear", {x, qs, qz})[0];  // u8 [1, 3, 8, 8]
  const ir::ValueId cw = b.constant("qconv.w", Tensor::from_ints({2, 3, 1, 1}, {1, -1, 2, -2, 3, -3}, DType::s8));
  const ir::ValueId cs = b.constant("qconv.w_scale", Tensor::from_floats({2}, {0.5f, 0.25f}));
  const ir::ValueId cz = b.constant("qconv.w_zero_point", Tensor::zeros({2}, DType::s8));
  const ir::ValueId cb = b.constant("qconv.bias", Tensor::from_ints({2}, {10, -10}, DType::s32));
  const ir::ValueId qc = b.op("QLinearConv", {xq, qs, qz, cw, cs, cz, qs, qz, cb})[0];  // u8 [1, 2, 8, 8]
  ir::Attributes relu;
  relu.set("activation", std::string("Relu"));
  const ir::ValueId qfw = b.constant("qfused.w", Tensor::from_ints({2, 2, 1, 1}, {3, -1, 2, 5}, DType::s8));
  const ir::ValueId qf = b.op("QLinearFusedConv", {qc, qs, qz, qfw, cs, cz, qs, qz}, relu, 1, ir::kLeancnnDomain)[0];
  b.output(b.op("DequantizeLinear", {qf, qs, qz})[0]);
  ir::Attributes qpool;  // u8 [1, 2, 8, 8] -> [1, 2, 4, 4] -> [1, 2, 1, 1]
  qpool.set("kernel_shape", std::vector<int64_t>{3, 3});
  qpool.set("strides", std::vector<int64_t>{2, 2});
  qpool.set("pads", std::vector<int64_t>{1, 1, 0, 0});
  const ir::ValueId ys = b.constant("qpool.y_scale", Tensor::from_floats({}, {0.07f}));
  const ir::ValueId yz = b.constant("qpool.y_zero_point", Tensor::from_ints({}, {-3}, DType::s8));
  const ir::ValueId mp = b.op("QLinearMaxPool", {qf, qs, qz, qs, qz}, qpool, 1, ir::kLeancnnDomain)[0];
  const ir::ValueId gap = b.op("QLinearGlobalAveragePool", {mp, qs, qz, ys, yz}, {}, 1, ir::kLeancnnDomain)[0];
  b.output(b.op("DequantizeLinear", {gap, ys, yz})[0]);
  // QAT's FakeQuantize, with a learnable (LSQ) scale.
  ir::Attributes fq;
  fq.set("bits", int64_t{4});
  fq.set("method", std::string("lsq"));
  const ir::ValueId fq_scale = b.constant("fq.scale", Tensor::from_floats({}, {0.1f}), true);
  const ir::ValueId fq_zp = b.constant("fq.zero_point", Tensor::from_ints({}, {3}, DType::u8));
  b.output(b.op("FakeQuantize", {logits, fq_scale, fq_zp}, fq, 1, ir::kLeancnnDomain)[0]);
  // Binary networks: packed 1-bit weights, activation signs, the training binarizer, BinaryConv.
  ir::Attributes bw;
  bw.set("shape", std::vector<int64_t>{2, 3, 1, 1});
  bw.set("bits", int64_t{1});
  const ir::ValueId bwv = b.op("BinaryWeights", {b.constant("bin.packed", Tensor::from_ints({1}, {0b101101}, DType::u8)),
                                                 b.constant("bin.alpha", Tensor::from_floats({2}, {0.5f, 0.25f}))},
                               bw, 1, ir::kLeancnnDomain)[0];  // f32 [2, 3, 1, 1]
  ir::Attributes scale;
  scale.set("scale", std::string("mean_abs"));
  const ir::ValueId signs = b.op("Binarize", {x}, scale, 1, ir::kLeancnnDomain)[0];
  b.output(b.op("Conv", {signs, bwv})[0]);  // f32 [1, 2, 8, 8]
  ir::Attributes fb;
  fb.set("method", std::string("xnor"));
  Tensor latent = Tensor::empty({2, 3, 3, 3});
  Rng(4).fill_uniform(latent, -1.f, 1.f);
  const ir::ValueId wb = b.op("FakeBinarize", {b.constant("bin.latent", latent, true)}, fb, 1, ir::kLeancnnDomain)[0];
  ir::Attributes bc;
  bc.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  bc.set("input_scale", std::string("none"));
  b.output(b.op("BinaryConv", {x, wb}, bc, 1, ir::kLeancnnDomain)[0]);  // f32 [1, 2, 8, 8]
  return g;
}

TEST_F(OnnxFiles, EveryOpAndTheLeancnnDomainRoundTrip) {
  ir::Graph g = every_op_graph();
  std::set<std::string> used;
  for (ir::NodeId id : g.node_ids())
    used.insert((g.node(id).domain.empty() ? "" : g.node(id).domain + "::") + g.node(id).op_type);
  const std::vector<std::string> all = ops::op_table().names();
  EXPECT_EQ(used, std::set<std::string>(all.begin(), all.end())) << "a new op: add it to every_op_graph()";
  randomize_vectors(g, 2);
  g.value(g.find_value("conv.weight")).trainable = false;  // a frozen layer keeps its flag
  const fs::path p = file("every_op.onnx");
  io::save_onnx(g, p.string());
  EXPECT_EQ(io::onnx_check(p.string()), "");  // the checker skips the ai.leancnn nodes

  const onnx::ModelProto m = read_proto(p);
  EXPECT_EQ(m.producer_name(), "leancnn");
  std::map<std::string, int64_t> opsets;
  for (const auto& op : m.opset_import()) opsets[op.domain()] = op.version();
  EXPECT_EQ(opsets, (std::map<std::string, int64_t>{{"", 14}, {"ai.leancnn", 1}}));
  for (const auto& init : m.graph().initializer()) EXPECT_TRUE(init.has_raw_data()) << init.name();
  const auto& in0 = m.graph().input(0).type().tensor_type();
  EXPECT_EQ(in0.shape().dim(0).dim_param(), "N");
  EXPECT_EQ(in0.shape().dim(1).dim_value(), 3);
  EXPECT_EQ(m.graph().input(1).type().tensor_type().elem_type(), onnx::TensorProto::INT64);
  EXPECT_EQ(m.graph().output(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(m.graph().output(1).type().tensor_type().shape().dim_size(), 0);  // the scalar loss

  ir::Graph loaded = io::load_onnx(p.string(), ops::op_table());
  expect_same_graph(g, loaded, "every op");
  EXPECT_FALSE(loaded.value(loaded.find_value("conv.weight")).trainable);
  EXPECT_TRUE(loaded.value(loaded.find_value("conv.bias")).trainable);
  expect_same_outputs(g, loaded, 4, "every op");
}

TEST_F(OnnxFiles, SymbolicBatchCanBeTurnedOff) {
  ir::Graph g = models::build_model("lenet5", {{1, 28, 28}, 10, 0}, ops::op_table());
  const fs::path p = file("m.onnx");
  io::save_onnx(g, p.string(), {.symbolic_batch = false, .doc_string = "lenet"});
  const onnx::ModelProto m = read_proto(p);
  EXPECT_EQ(m.doc_string(), "lenet");
  EXPECT_FALSE(m.graph().input(0).type().tensor_type().shape().dim(0).has_dim_param());
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_value(), 1);
  EXPECT_EQ(io::onnx_check(p.string()), "");
}

// ---- hand-written files: what other exporters write ----

// x[batch,3,4,4] -> Conv(W as float_data, also a graph input) -> Identity -> Relu ->
// Reshape(Constant shape) -> Identity -> y.
onnx::ModelProto foreign_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("hand");
  auto* op = m.add_opset_import();
  op->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("hand");
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3, 4, 4});
  add_tensor_value(g->add_input(), "W", onnx::TensorProto::FLOAT, {2, 3, 1, 1});
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {2, 3, 1, 1}) w->add_dims(d);
  for (float f : {1.f, -2.f, 0.5f, -1.f, 1.f, 3.f}) w->add_float_data(f);
  add_node(g, "conv", "Conv", {"x", "W"}, {"c"});
  add_node(g, "", "Identity", {"c"}, {"c_id"});
  add_node(g, "relu", "Relu", {"c_id"}, {"r"});
  onnx::NodeProto* k = add_node(g, "shape_const", "Constant", {}, {"shape"});
  auto* a = k->add_attribute();
  a->set_name("value_ints");
  a->set_type(onnx::AttributeProto::INTS);
  a->add_ints(0);
  a->add_ints(-1);
  add_node(g, "flat", "Reshape", {"r", "shape"}, {"flat_out"});
  add_node(g, "out_id", "Identity", {"flat_out"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, 32});
  return m;
}

TEST_F(OnnxFiles, ImportsConstantIdentityInitializerInputsAndSymbolicBatch) {
  const fs::path p = file("foreign.onnx");
  onnx::ModelProto m = foreign_model();
  onnx::AttributeProto* group = m.mutable_graph()->mutable_node(0)->add_attribute();
  group->set_name("group");  // no type field, as old writers leave it (the checker would refuse it)
  group->set_i(1);
  write_proto(p, m);
  ir::Graph g = io::load_onnx(p.string(), ops::op_table());
  std::vector<std::string> types;
  for (ir::NodeId id : g.node_ids()) types.push_back(g.node(id).op_type);
  EXPECT_EQ(types, (std::vector<std::string>{"Conv", "Relu", "Reshape"}));
  EXPECT_EQ(g.node(g.node_ids()[0]).attrs.get_int("group", -1), 1);
  ASSERT_EQ(g.inputs().size(), 1u);  // W is an initializer, not an input
  EXPECT_EQ(g.value(g.inputs()[0]).shape, (Shape{1, 3, 4, 4}));
  const ir::Value& w = g.value(g.find_value("W"));
  EXPECT_TRUE(w.trainable);  // by the rule: Conv weight slot
  const ir::Value& shape = g.value(g.find_value("shape"));
  ASSERT_TRUE(shape.is_initializer());
  EXPECT_EQ(shape.dtype, DType::s64);
  EXPECT_FALSE(shape.trainable);
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.value(g.outputs()[0]).name, "y");
  EXPECT_EQ(g.value(g.outputs()[0]).shape, (Shape{1, 32}));

  // y[n, o*16 + p] = relu(sum_c W[o, c] x[n, c, p]) at batch 2.
  Tensor x = Tensor::empty({2, 3, 4, 4});
  Rng(1).fill_uniform(x, -1.f, 1.f);
  runtime::Executor ex(g, ops::op_table());
  const Tensor y = ex.forward({{"x", x}})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 32}));
  const float wv[2][3] = {{1.f, -2.f, 0.5f}, {-1.f, 1.f, 3.f}};
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 2; ++o)
      for (int q = 0; q < 16; ++q) {
        float s = 0.f;
        for (int c = 0; c < 3; ++c) s += wv[o][c] * x.at((n * 3 + c) * 16 + q);
        EXPECT_NEAR(y.at(n * 32 + o * 16 + q), std::max(s, 0.f), 1e-5f);
      }
}

TEST_F(OnnxFiles, TheCheckerRejectsInvalidModels) {
  write_proto(file("ok.onnx"), foreign_model());
  EXPECT_EQ(io::onnx_check(file("ok.onnx").string()), "");
  onnx::ModelProto m = foreign_model();
  m.mutable_graph()->mutable_node(0)->mutable_input()->RemoveLast();  // Conv without weights
  write_proto(file("arity.onnx"), m);
  EXPECT_NE(io::onnx_check(file("arity.onnx").string()), "");
  m = foreign_model();  // a declared output type that type inference contradicts
  m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  write_proto(file("type.onnx"), m);
  EXPECT_NE(io::onnx_check(file("type.onnx").string()), "");
  EXPECT_NE(io::onnx_check(file("absent.onnx").string()), "");
}

// ---- atomic saves ----

TEST_F(OnnxFiles, FailedSavesLeaveTheExistingFileIntact) {
  const fs::path p = file("model.onnx");
  ir::Graph good = models::build_model("lenet5", {{1, 28, 28}, 10, 1}, ops::op_table());
  io::save_onnx(good, p.string());
  const std::string before = read_file(p);

  // A graph ONNX cannot hold (a 1-bit packed initializer) fails before anything is written.
  ir::Graph bad = models::build_model("lenet5", {{1, 28, 28}, 10, 2}, ops::op_table());
  // (A graph output, as the writer leaves out initializers nothing reads.)
  bad.mark_output(bad.add_initializer("packed", Tensor::zeros({4, 64}, DType::b1), false));
  try {
    io::save_onnx(bad, p.string());
    ADD_FAILURE() << "saved a b1 initializer";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("packed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(p), before);
  EXPECT_TRUE(others("model.onnx").empty());

  // A write that fails half-way (the file size limit stands in for a full disk).
  ir::Graph big = models::build_model("resnet20", {{3, 32, 32}, 10, 3}, ops::op_table());
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  try {
    io::save_onnx(big, p.string());
  } catch (const Error& e) {
    threw = true;
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(threw);
  EXPECT_EQ(read_file(p), before);
  EXPECT_TRUE(others("model.onnx").empty()) << others("model.onnx")[0];

  // A target that is a folder, and a folder that does not exist.
  fs::create_directories(file("sub"));
  EXPECT_THROW(io::save_onnx(good, file("sub").string()), Error);
  EXPECT_TRUE(fs::is_directory(file("sub")));
  EXPECT_THROW(io::save_onnx(good, file("missing/m.onnx").string()), Error);
  EXPECT_EQ(others("model.onnx"), std::vector<std::string>{"sub"});

  // And a good save replaces the file.
  io::save_onnx(big, p.string());
  EXPECT_EQ(io::load_onnx(p.string(), ops::op_table()).initializers().size(), big.initializers().size());
}

// ---- bad files ----

TEST_F(OnnxFiles, NonOnnxAndMissingFilesAreClearErrors) {
  expect_bad_file(file("absent.onnx"), {"cannot open"});
  expect_bad_file(dir_, {"folder"});
  write_file(file("empty.onnx"), "");
  expect_bad_file(file("empty.onnx"), {"empty"});
  write_file(file("text.onnx"), "name,value\nconv,3\n");
  expect_bad_file(file("text.onnx"), {});
  Rng rng(9);
  for (int i = 0; i < 500; ++i) {  // random bytes of many lengths
    std::string bytes(static_cast<size_t>(1 + rng.below(4000)), '\0');
    for (char& c : bytes) c = static_cast<char>(rng.below(256));
    write_file(file("random.onnx"), bytes);
    expect_bad_file(file("random.onnx"), {});
  }
}

TEST_F(OnnxFiles, TruncatedFilesAreErrors) {
  ir::Graph g = models::build_model("lenet5", {{1, 28, 28}, 10, 0}, ops::op_table());
  io::save_onnx(g, file("full.onnx").string());
  const std::string bytes = read_file(file("full.onnx"));
  std::vector<size_t> cuts = {1, 2, 10, bytes.size() / 2, bytes.size() - 1};
  for (size_t i = 1; i < 64; ++i) cuts.push_back(bytes.size() * i / 64);
  const auto& m = read_proto(file("full.onnx"));
  cuts.push_back(bytes.size() - m.opset_import(0).ByteSizeLong() - 2);  // around a field boundary
  for (size_t cut : cuts) {
    SCOPED_TRACE(cut);
    write_file(file("cut.onnx"), bytes.substr(0, cut));
    expect_bad_file(file("cut.onnx"), {});
  }
}

TEST_F(OnnxFiles, CorruptedFilesNeverCrash) {
  // Flipped bytes may still give a valid model (a changed weight); anything else must be an Error.
  write_proto(file("seed.onnx"), foreign_model());
  const std::string bytes = read_file(file("seed.onnx"));
  Rng rng(3);
  int rejected = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string b = bytes;
    for (int k = 0; k < 3; ++k) b[static_cast<size_t>(rng.below(static_cast<int64_t>(b.size())))] ^= static_cast<char>(1 + rng.below(255));
    write_file(file("flip.onnx"), b);
    try {
      io::load_onnx(file("flip.onnx").string(), ops::op_table());
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input) << e.what();
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 100);
}

TEST_F(OnnxFiles, UnsupportedOpNamesTheNodeAndTheSupportedOps) {
  onnx::ModelProto m = foreign_model();
  auto* g = m.mutable_graph();
  add_node(g, "rnn1", "LSTM", {"y"}, {"h"});
  write_proto(file("lstm.onnx"), m);
  expect_bad_file(file("lstm.onnx"), {"node 'rnn1' (LSTM)", "unsupported op", "Conv", "BatchNormalization",
                                      "ai.leancnn::SoftmaxCrossEntropy"});
}

TEST_F(OnnxFiles, BadNodesAndFieldsNameWhatIsWrong) {
  auto expect_bad = [&](const std::string& name, const std::function<void(onnx::ModelProto&)>& edit,
                        const std::vector<std::string>& needles) {
    SCOPED_TRACE(name);
    onnx::ModelProto m = foreign_model();
    edit(m);
    write_proto(file(name + ".onnx"), m);
    expect_bad_file(file(name + ".onnx"), needles);
  };
  expect_bad("wrong_attr_type", [&](onnx::ModelProto& m) {
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("strides");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(2.f);
  }, {"node 'conv' (Conv)", "strides", "ints"});
  expect_bad("graph_attr", [&](onnx::ModelProto& m) {
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("body");
    a->set_type(onnx::AttributeProto::GRAPH);
  }, {"node 'conv' (Conv)", "body", "GRAPH"});
  expect_bad("unknown_attr", [&](onnx::ModelProto& m) {
    auto* a = m.mutable_graph()->mutable_node(2)->add_attribute();
    a->set_name("alpha");
    a->set_type(onnx::AttributeProto::FLOAT);
  }, {"node 'relu' (Relu)", "alpha"});
  expect_bad("dangling", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(2)->set_input(0, "nowhere");
  }, {"node 'relu' (Relu)", "nowhere"});
  expect_bad("unsorted", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node()->SwapElements(0, 2);
  }, {"topological"});
  expect_bad("twice", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(2)->set_output(0, "c");
  }, {"node 'relu' (Relu)", "'c'", "twice"});
  expect_bad("raw_size", [&](onnx::ModelProto& m) {
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_float_data();
    w->set_raw_data(std::string(20, '\0'));
  }, {"initializer 'W'", "raw_data", "24"});
  expect_bad("negative_dim", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_initializer(0)->set_dims(0, -2);
  }, {"initializer 'W'", "dims"});
  expect_bad("double", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::DOUBLE);
  }, {"initializer 'W'", "DOUBLE"});
  expect_bad("symbolic_channels", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_param("C");
  }, {"graph input 'x'", "dim 1", "'C'"});
  expect_bad("old_opset", [&](onnx::ModelProto& m) { m.mutable_opset_import(0)->set_version(5); }, {"opset 5"});
  expect_bad("no_opset", [&](onnx::ModelProto& m) { m.clear_opset_import(); }, {"opset_import"});
  expect_bad("no_graph", [&](onnx::ModelProto& m) { m.clear_graph(); }, {"no graph"});
  expect_bad("wrong_output", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(31);
  }, {"graph output 'y'", "31"});
  expect_bad("bad_constant", [&](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(3)->mutable_attribute(0)->set_name("value_strings");
  }, {"node 'shape_const' (Constant)", "value_strings"});
}

}  // namespace
}  // namespace leancnn
