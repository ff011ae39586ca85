// Exported files carry only the initializers their nodes read: every zoo model, and a graph a
// rewrite left an unused tensor in (ONNX Runtime warns "Removing initializer ... It is not used
// by any node" for each such tensor, and the file is larger than it needs to be).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <set>
#include <string>
#include <vector>

#include "leancnn/io/onnx.h"
#include "leancnn/ir/builder.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "onnx_proto_util.h"
#include "onnx_test_support.h"

namespace leancnn::onnx_test {
namespace {

// Initializers of the file that no node reads and that are no graph output.
std::vector<std::string> unused_initializers(const fs::path& file) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(read_file(file))) << file;
  std::set<std::string> read;
  for (const onnx::NodeProto& n : m.graph().node())
    for (const std::string& in : n.input()) read.insert(in);
  for (const onnx::ValueInfoProto& o : m.graph().output()) read.insert(o.name());
  std::vector<std::string> out;
  for (const onnx::TensorProto& t : m.graph().initializer())
    if (!read.count(t.name())) out.push_back(t.name());
  return out;
}

class ExportInitializers : public OnnxDir {};

TEST_F(ExportInitializers, NoZooModelExportsAnUnusedInitializer) {
  for (const models::ZooEntry& e : models::zoo()) {
    SCOPED_TRACE(e.name);
    const ir::Graph g = models::build_model(e.name, {{3, 32, 32}, 10, 0}, ops::op_table());
    const fs::path f = file(e.name + ".onnx");
    io::save_onnx(g, f.string());
    EXPECT_EQ(unused_initializers(f), std::vector<std::string>{});
    // And it loads back with every parameter the graph's nodes read.
    EXPECT_EQ(io::load_onnx(f.string(), ops::op_table()).initializers().size(), g.initializers().size());
  }
}

TEST_F(ExportInitializers, ATensorNoNodeReadsIsNotWritten) {
  // What a rewrite leaves behind: an initializer that a node read before the rewrite.
  ir::Graph g = models::build_model("lenet5", {{1, 28, 28}, 10, 0}, ops::op_table());
  const size_t before = g.initializers().size();
  g.add_initializer("left_over.weight", Tensor::zeros({64, 64}), true);
  ASSERT_EQ(g.initializers().size(), before + 1);
  const fs::path f = file("lenet5.onnx");
  io::save_onnx(g, f.string());
  EXPECT_EQ(unused_initializers(f), std::vector<std::string>{});
  const ir::Graph back = io::load_onnx(f.string(), ops::op_table());
  EXPECT_EQ(back.initializers().size(), before);
  // The unused tensor's 16 KiB are not in the file.
  fs::path plain = file("plain.onnx");
  io::save_onnx(models::build_model("lenet5", {{1, 28, 28}, 10, 0}, ops::op_table()), plain.string());
  EXPECT_EQ(fs::file_size(f), fs::file_size(plain));
}

}  // namespace
}  // namespace leancnn::onnx_test
