// The registry of fast kernel lists: (domain, op type) -> that family's ordered list, each in
// its own *_impl_list.cpp. Ops not named here run their reference only.
#include "leancnn/kernels/impl_lists.h"

#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> fast_kernels(const std::string& domain, const std::string& op_type) {
  if (domain == "ai.leancnn" && op_type == "QLinearFusedConv") return qconv_impl_list();
  if (domain == "ai.leancnn" && op_type == "QGemm") return qgemm_impl_list();
  if (domain == "ai.leancnn" && op_type == "QAdd") return qadd_impl_list();
  if (domain == "ai.leancnn" && op_type == "BinaryConv") return binary_conv_impl_list();
  if (domain == "ai.leancnn" && op_type == "FusedInvertedResidual") return fused_inverted_residual_impl_list();
  if (domain == "ai.leancnn" && (op_type == "QLinearMaxPool" || op_type == "QLinearGlobalAveragePool"))
    return qpool_impl_list(op_type);
  if (domain == "ai.leancnn") return op_type == "FusedConv" ? fused_conv_impl_list() : std::vector<Kernel>{};
  if (!domain.empty() && domain != "ai.onnx") return {};
  if (op_type == "Conv") return conv_impl_list();
  if (op_type == "QLinearConv") return qconv_impl_list();
  if (op_type == "QLinearMatMul") return qgemm_impl_list();
  if (op_type == "Gemm") return gemm_impl_list();
  if (op_type == "BatchNormalization") return batch_norm_impl_list();
  if (op_type == "MaxPool" || op_type == "AveragePool" || op_type == "GlobalAveragePool")
    return pool_impl_list(op_type);
  if (op_type == "Relu" || op_type == "Sigmoid" || op_type == "Clip" || op_type == "HardSwish" ||
      op_type == "HardSigmoid")
    return eltwise_impl_list(op_type);
  if (op_type == "Add" || op_type == "Mul") return binary_impl_list(op_type);
  return {};
}

}  // namespace leancnn::kernels
