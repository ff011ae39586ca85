// TEMPORARY placeholders (development only): ops not yet written. Delete each as its file lands.
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"
namespace leancnn::ops {
namespace {
ir::OpSchema pending(const char* op, const char* domain = "") {
  ir::OpSchema s; s.op_type = op; s.domain = domain; s.min_inputs = 0; s.max_inputs = 8;
  s.infer = [](const ir::Node& n, const std::vector<const ir::Value*>&) -> std::vector<ir::TensorType> { fail(ErrorKind::internal, n.op_type, " is not implemented yet"); };
  return s;
}
}  // namespace
ir::OpSchema clip_schema() { return pending("Clip"); }
ir::OpSchema sigmoid_schema() { return pending("Sigmoid"); }
ir::OpSchema hard_sigmoid_schema() { return pending("HardSigmoid"); }
ir::OpSchema hard_swish_schema() { return pending("HardSwish"); }
ir::OpSchema add_schema() { return pending("Add"); }
ir::OpSchema mul_schema() { return pending("Mul"); }
ir::OpSchema concat_schema() { return pending("Concat"); }
ir::OpSchema flatten_schema() { return pending("Flatten"); }
ir::OpSchema reshape_schema() { return pending("Reshape"); }
ir::OpSchema transpose_schema() { return pending("Transpose"); }
ir::OpSchema softmax_schema() { return pending("Softmax"); }
}  // namespace leancnn::ops
