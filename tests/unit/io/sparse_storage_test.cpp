// Sparse weight storage in ONNX files (OnnxSaveOptions::sparse_storage, ai.leancnn SparseToDense):
// the encoding round-trips every value bit for bit (f32 with -0, s8, u8), a pruned model's file
// shrinks with its density and loads back to the same dense weights, trainable flags and
// outputs; dense files and dense models are written as before; corrupt encodings are bad input.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/sparse_storage.h"
#include "leancnn/runtime/executor.h"
#include "onnx_test_support.h"

namespace leancnn {
namespace {

using onnx_test::OnnxDir;
using SparseStorage = OnnxDir;
namespace fs = std::filesystem;

Tensor roundtrip(const Tensor& t) {
  const ops::SparseEncoding e = ops::sparse_encode(t);
  Tensor back = Tensor::empty(t.shape(), t.dtype());
  ops::sparse_decode(e.mask, e.values, back);
  return back;
}

TEST(SparseEncoding, RoundTripsEveryDtypeBitForBit) {
  Tensor f = Tensor::from_floats({3, 7}, {0.f, 1.f, -0.f, 0.f, 2.5f, 0.f, 0.f, 0.f, 0.f, -3.f, 0.f, 0.f, 0.f, 0.f, 0.f,
                                          0.f, 0.f, 0.f, 0.f, 0.f, 9.f});
  const Tensor fb = roundtrip(f);
  EXPECT_EQ(std::memcmp(fb.raw(), f.raw(), f.nbytes()), 0);
  const ops::SparseEncoding e = ops::sparse_encode(f);
  EXPECT_EQ(e.mask.numel(), 3);                 // 21 elements -> 3 bytes
  EXPECT_EQ(e.values.numel(), 5);               // -0 is kept: its bits are not zero
  EXPECT_EQ(e.mask.data<uint8_t>()[0], 0b00010110);  // elements 1, 2, 4
  EXPECT_EQ(ops::sparse_encoded_bytes(f), 3 + 5 * 4);
  const Tensor s8 = Tensor::from_ints({9}, {0, -1, 0, 0, 127, -128, 0, 0, 5}, DType::s8);
  const Tensor sb = roundtrip(s8);
  EXPECT_EQ(std::memcmp(sb.raw(), s8.raw(), s8.nbytes()), 0);
  const Tensor u8 = Tensor::from_ints({4}, {0, 0, 0, 0}, DType::u8);
  EXPECT_EQ(ops::sparse_encode(u8).values.numel(), 0);
  EXPECT_EQ(std::memcmp(roundtrip(u8).raw(), u8.raw(), 4), 0);
}

TEST(SparseEncoding, DecodeRejectsInconsistentMasks) {
  Tensor dense = Tensor::empty({10});
  EXPECT_THROW(ops::sparse_decode(Tensor::zeros({1}, DType::u8), Tensor::empty({0}), dense), Error);  // 10 need 2 bytes
  Tensor mask = Tensor::from_ints({2}, {0b11, 0}, DType::u8);
  EXPECT_THROW(ops::sparse_decode(mask, Tensor::empty({3}), dense), Error);  // 2 bits, 3 values
  Tensor past = Tensor::from_ints({2}, {0, 0b100}, DType::u8);             // bit 10 of 10 elements
  EXPECT_THROW(ops::sparse_decode(past, Tensor::empty({1}), dense), Error);
}

// Zeroes all but about `keep` of every Conv/Gemm weight (large ones) of g.
void prune(ir::Graph& g, double keep, uint64_t seed) {
  Rng rng(seed);
  for (ir::ValueId id : g.initializers()) {
    ir::Value& v = g.value(id);
    if (v.dtype != DType::f32 || v.data.rank() < 2 || v.data.numel() < io::kSparseMinElems) continue;
    v.data = v.data.clone();
    for (int64_t i = 0; i < v.data.numel(); ++i)
      if (rng.uniform() >= keep) v.data.data<float>()[i] = 0.f;
  }
}

int count_sparse_nodes(const fs::path& file) {
  onnx::ModelProto m;
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&in));
  int k = 0;
  for (const onnx::NodeProto& n : m.graph().node()) k += n.op_type() == "SparseToDense" && n.domain() == "ai.leancnn";
  return k;
}

TEST_F(SparseStorage, PrunedModelFilesShrinkAndLoadBackTheSameWeights) {
  ir::Graph g = models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 4}, ops::op_table());
  const fs::path dense_file = dir_ / "dense.onnx", sparse_file = dir_ / "sparse.onnx", plain = dir_ / "plain.onnx";
  io::save_onnx(g, dense_file.string());
  EXPECT_EQ(count_sparse_nodes(dense_file), 0) << "an unpruned model stays dense";
  prune(g, 0.1, 5);
  io::save_onnx(g, sparse_file.string());
  io::OnnxSaveOptions dense_options;
  dense_options.sparse_storage = false;
  io::save_onnx(g, plain.string(), dense_options);
  EXPECT_EQ(count_sparse_nodes(sparse_file), 4);  // conv1, conv2, fc1, fc2 weights
  EXPECT_EQ(count_sparse_nodes(plain), 0);
  const double ratio = static_cast<double>(fs::file_size(sparse_file)) / static_cast<double>(fs::file_size(dense_file));
  EXPECT_LT(ratio, 0.2) << "10 % density: 1/32 + 0.1 of the dense bytes, plus the biases";
  EXPECT_NEAR(static_cast<double>(fs::file_size(plain)), static_cast<double>(fs::file_size(dense_file)), 1024.0);

  ir::Graph back = io::load_onnx(sparse_file.string(), ops::op_table());
  for (ir::ValueId id : g.initializers()) {
    const ir::Value& v = g.value(id);
    const ir::ValueId b = back.find_value(v.name);
    ASSERT_NE(b, ir::kNone) << v.name;
    const ir::Value& bv = back.value(b);
    ASSERT_TRUE(bv.is_initializer()) << v.name;
    EXPECT_EQ(bv.trainable, v.trainable) << v.name;
    ASSERT_EQ(bv.data.shape(), v.data.shape());
    EXPECT_EQ(std::memcmp(bv.data.raw(), v.data.raw(), v.data.nbytes()), 0) << v.name;
  }
  EXPECT_EQ(back.initializers().size(), g.initializers().size()) << "no mask or values initializers left behind";
  for (ir::NodeId id : back.node_ids()) EXPECT_NE(back.node(id).op_type, "SparseToDense");
}

// Regression: a fresh ResNet-18's zero 1000-class bias and zero BN means were written as
// SparseToDense, so `leancnn export` gave ONNX Runtime a file it refused. Rank-1 tensors (biases,
// BN parameters) stay dense however many zeros they hold; pruned weights still go sparse.
TEST_F(SparseStorage, ZeroBiasesAndBatchNormParametersStayDense) {
  ir::Graph g = models::build_model("resnet18", {.input = {3, 32, 32}, .classes = 1000, .seed = 1}, ops::op_table());
  const fs::path file = dir_ / "fresh_resnet18.onnx";
  io::save_onnx(g, file.string());
  EXPECT_EQ(count_sparse_nodes(file), 0);
  prune(g, 0.1, 6);
  io::save_onnx(g, file.string());
  EXPECT_GT(count_sparse_nodes(file), 20);  // the 21 conv weights (and the fc's)
}

TEST_F(SparseStorage, CorruptEncodingsAreBadInputNamingTheNode) {
  ir::Graph g = models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 4}, ops::op_table());
  prune(g, 0.1, 6);
  const fs::path file = dir_ / "m.onnx", bad = dir_ / "bad.onnx";
  io::save_onnx(g, file.string());
  onnx::ModelProto m;
  {
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(m.ParseFromIstream(&in));
  }
  for (onnx::TensorProto& t : *m.mutable_graph()->mutable_initializer())
    if (t.name().find(".sparse_values") != std::string::npos) {
      std::string raw = t.raw_data();
      raw.resize(raw.size() - 4);  // one f32 value short of the mask's count
      t.set_raw_data(raw);
      t.set_dims(0, t.dims(0) - 1);
      break;
    }
  {
    std::ofstream out(bad, std::ios::binary);
    ASSERT_TRUE(m.SerializeToOstream(&out));
  }
  onnx_test::expect_bad_file(bad, {"SparseToDense", "non-zeros"});
}

}  // namespace
}  // namespace leancnn
