// Add and Mul: equal shapes first (residual connections), then per-channel broadcasting
// (squeeze-excitation), then one operand a single value (DARTS's weighted operations); anything
// else falls to the reference.
#include "eltwise_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> binary_impl_list(const std::string& op_type) {
  const bool mul = op_type == "Mul";
  return {cpu_binary_f32_same(mul), cpu_binary_f32_per_channel(mul), cpu_binary_f32_scalar(mul)};
}

}  // namespace leancnn::kernels
