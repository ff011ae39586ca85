// The element-wise activations' ordered fast kernels (the reference is appended last by
// dispatch.cpp), one list per op type.
#include "eltwise_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> eltwise_impl_list(const std::string& op_type) {
  if (op_type == "Relu") return {cpu_relu_f32(), dnnl_relu_f32()};
  if (op_type == "Sigmoid") return {dnnl_sigmoid_f32()};
  if (op_type == "Clip") return {dnnl_clip_f32()};
  if (op_type == "HardSwish") return {dnnl_hard_swish_f32()};
  if (op_type == "HardSigmoid") return {dnnl_hard_sigmoid_f32()};
  return {};
}

}  // namespace leancnn::kernels
