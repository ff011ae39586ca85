// Inputs the libFuzzer targets (fuzz/) found crashing, reduced to small hand-written files:
// each must now be a clear Error(bad_input) naming what is wrong.
#include <gtest/gtest.h>

#include <limits>

#include "onnx_proto_util.h"
#include "onnx_test_support.h"

namespace leancnn {
namespace {

using namespace onnx_test;
using OnnxFuzzRegression = OnnxDir;

// x[N, 4] -> Reshape(shape) -> y.
onnx::ModelProto reshape_model(const std::vector<int64_t>& shape) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 4});
  add_int64_init(g, "shape", {static_cast<int64_t>(shape.size())}, shape);
  add_node(g, "reshape", "Reshape", {"x", "shape"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {});
  return m;
}

// Reshape's shape inference multiplied the requested dims in int64 (signed overflow, UB).
TEST_F(OnnxFuzzRegression, ReshapeToAShapeBeyondInt64) {
  write_proto(file("reshape.onnx"), reshape_model({8286623314361712641, 2}));
  expect_bad_file(file("reshape.onnx"), {"node 'reshape' (Reshape)", "int64"});
}

// The same product in the folding of a Reshape of constants and in the batch rule.
TEST_F(OnnxFuzzRegression, FoldedReshapeBeyondInt64) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 4});
  add_int64_constant(g, "c", {1, 2, 3, 4});
  add_int64_constant(g, "huge", {std::numeric_limits<int64_t>::max() / 3, 5});
  add_node(g, "fold", "Reshape", {"c", "huge"}, {"c2"});
  add_node(g, "reshape", "Reshape", {"x", "c2"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {});
  write_proto(file("fold.onnx"), m);
  expect_bad_file(file("fold.onnx"), {"node 'fold' (Reshape)", "too large"});
}

// Graph input dims each below 2^31 whose product overflows int64.
TEST_F(OnnxFuzzRegression, InputShapeBeyondInt64) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 2147483647, 2147483647, 2147483647});
  add_node(g, "relu", "Relu", {"x"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {});
  write_proto(file("input.onnx"), m);
  expect_bad_file(file("input.onnx"), {"graph input 'x'", "too large"});
}

// An initializer's dims were multiplied in int64 with the 2^40 check after each step: below
// 2^40 times a dim below 2^31 overflowed (UB) and could wrap under the limit.
TEST_F(OnnxFuzzRegression, InitializerDimsBeyondInt64) {
  onnx::ModelProto m = empty_model(13);
  auto* g = m.mutable_graph();
  add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 4});
  add_float_init(g, "w", {int64_t{1} << 20, int64_t{1} << 19, 2147483647}, {1.f});
  add_node(g, "add", "Add", {"x", "w"}, {"y"});
  add_tensor_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {});
  write_proto(file("dims.onnx"), m);
  expect_bad_file(file("dims.onnx"), {"initializer 'w'", "2^40"});
}

// Lowering rules read input 0 (or output 0) with vector::at: std::out_of_range, not an Error.
TEST_F(OnnxFuzzRegression, LoweredNodesWithoutInputsOrOutputs) {
  struct Case {
    const char* op;
    int64_t opset;
    std::vector<std::string> inputs, outputs;
    const char* needle;
  };
  for (const Case& c : {Case{"ReduceMean", 13, {}, {"y"}, "input 0"}, Case{"Softmax", 11, {}, {"y"}, "input 0"},
                        Case{"Unsqueeze", 11, {}, {"y"}, "input 0"}, Case{"Slice", 13, {"x", "s", "e", "s"}, {}, "output 0"}}) {
    SCOPED_TRACE(c.op);
    onnx::ModelProto m = empty_model(c.opset);
    auto* g = m.mutable_graph();
    add_tensor_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 4});
    add_int64_constant(g, "s", {1});
    add_int64_constant(g, "e", {2});
    add_node(g, "node", c.op, c.inputs, c.outputs);
    add_tensor_value(g->add_output(), "x", onnx::TensorProto::FLOAT, {-1, 4});
    write_proto(file("node.onnx"), m);
    expect_bad_file(file("node.onnx"), {"node 'node'", c.needle});
  }
}

}  // namespace
}  // namespace leancnn
