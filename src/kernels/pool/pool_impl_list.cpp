// The pooling ops' ordered fast kernels (the reference is appended last by dispatch.cpp), one
// list per op type.
#include "impl_list.h"
#include "pool_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> pool_impl_list(const std::string& op_type) {
  if (op_type == "MaxPool") return {dnnl_max_pool_f32()};
  if (op_type == "AveragePool") return {dnnl_average_pool_f32()};
  if (op_type == "GlobalAveragePool") return {cpu_global_average_pool_f32(), dnnl_global_average_pool_f32()};
  return {};
}

}  // namespace leancnn::kernels
