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
ir::OpSchema gemm_schema() { return pending("Gemm"); }
ir::OpSchema batch_norm_schema() { return pending("BatchNormalization"); }
ir::OpSchema max_pool_schema() { return pending("MaxPool"); }
ir::OpSchema average_pool_schema() { return pending("AveragePool"); }
ir::OpSchema global_average_pool_schema() { return pending("GlobalAveragePool"); }
ir::OpSchema dropout_schema() { return pending("Dropout"); }
ir::OpSchema softmax_cross_entropy_schema() { return pending("SoftmaxCrossEntropy", "ai.leancnn"); }
ir::OpSchema kl_div_schema() { return pending("KLDivergence", "ai.leancnn"); }
ir::OpSchema mse_loss_schema() { return pending("MSELoss", "ai.leancnn"); }
}  // namespace leancnn::ops
