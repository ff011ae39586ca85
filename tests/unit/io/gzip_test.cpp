// gzip-compressed ONNX files (leancnn/io/gzip.h, Deep Compression's coding stage): the byte
// strings round-trip, a ".gz" path is written compressed and smaller (much smaller for a pruned
// model), load_onnx reads it back to the same weights whatever the file's name, and truncated or
// corrupt streams are bad input naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/file.h"
#include "leancnn/io/gzip.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "onnx_test_support.h"

namespace leancnn {
namespace {

using Gzip = onnx_test::OnnxDir;
namespace fs = std::filesystem;

TEST(GzipBytes, RoundTripAndMagic) {
  std::string bytes;
  for (int i = 0; i < 200000; ++i) bytes.push_back(static_cast<char>((i * 7) % 13));
  const std::string gz = io::gzip(bytes);
  EXPECT_TRUE(io::is_gzip(gz));
  EXPECT_FALSE(io::is_gzip(bytes));
  EXPECT_LT(gz.size(), bytes.size() / 10);
  EXPECT_EQ(io::gunzip(gz, bytes.size()), bytes);
  EXPECT_EQ(io::gunzip(io::gzip(""), 0), "");
}

TEST(GzipBytes, TruncatedCorruptOrTooLargeStreamsAreBadInput) {
  std::string bytes(100000, 'x');
  for (size_t i = 0; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(i % 251);
  const std::string gz = io::gzip(bytes);
  auto expect_bad = [](const std::string& s, uint64_t max, const char* what) {
    try {
      io::gunzip(s, max);
      ADD_FAILURE() << what << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input) << what;
    }
  };
  expect_bad(gz.substr(0, gz.size() / 2), 1 << 20, "truncated");
  std::string corrupt = gz;
  corrupt[gz.size() / 2] = static_cast<char>(corrupt[gz.size() / 2] ^ 0x5a);
  expect_bad(corrupt, 1 << 20, "corrupt");
  expect_bad(gz, 1000, "past max_bytes");
}

// Zero all but `keep` of every rank >= 2 initializer's values (a pruned model).
void prune(ir::Graph& g, double keep, uint64_t seed) {
  Rng rng(seed);
  for (ir::ValueId id : g.initializers()) {
    Tensor& t = g.value(id).data;
    if (t.rank() < 2 || t.dtype() != DType::f32) continue;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (rng.uniform() >= keep) t.data<float>()[i] = 0.f;
  }
}

TEST_F(Gzip, GzPathsAreWrittenCompressedAndLoadBack) {
  ir::Graph g = models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 4}, ops::op_table());
  prune(g, 0.1, 5);
  const fs::path plain = file("m.onnx"), gz = file("m.onnx.gz"), renamed = file("renamed.onnx");
  io::save_onnx(g, plain.string());
  io::save_onnx(g, gz.string());
  EXPECT_FALSE(io::is_gzip(io::read_file(plain.string())));
  EXPECT_TRUE(io::is_gzip(io::read_file(gz.string())));
  // Sparse storage already dropped the zeros; DEFLATE codes the mask and the values.
  EXPECT_LT(fs::file_size(gz), fs::file_size(plain) * 9 / 10);
  fs::copy_file(gz, renamed);  // read by content, not by name
  for (const fs::path& p : {gz, renamed}) {
    const ir::Graph back = io::load_onnx(p.string(), ops::op_table());
    for (ir::ValueId id : g.initializers()) {
      const ir::Value& v = g.value(id);
      const ir::ValueId b = back.find_value(v.name);
      ASSERT_NE(b, ir::kNone) << v.name;
      ASSERT_EQ(back.value(b).data.shape(), v.data.shape());
      EXPECT_EQ(std::memcmp(back.value(b).data.raw(), v.data.raw(), v.data.nbytes()), 0) << v.name;
    }
  }
}

TEST_F(Gzip, ACorruptGzFileIsBadInputNamingIt) {
  ir::Graph g = models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 4}, ops::op_table());
  const fs::path gz = file("m.onnx.gz"), cut = file("cut.onnx.gz");
  io::save_onnx(g, gz.string());
  const std::string bytes = io::read_file(gz.string());
  io::write_file_atomic(cut.string(), bytes.substr(0, bytes.size() / 3));
  try {
    io::load_onnx(cut.string(), ops::op_table());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("cut.onnx.gz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gzip data is truncated or corrupt"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace leancnn
