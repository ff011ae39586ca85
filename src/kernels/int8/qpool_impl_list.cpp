// The integer pooling ops' ordered fast kernels (the reference, appended last by dispatch.cpp,
// is the oracle they are bit-exact with).
#include "impl_list.h"
#include "int8_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> qpool_impl_list(const std::string& op_type) {
  if (op_type == "QLinearMaxPool") return {cpu_qmax_pool_x8()};  // u8/s8, NCHW or NHWC in and out, table requantization
  if (op_type == "QLinearGlobalAveragePool") return {cpu_qglobal_average_pool_x8()};  // exact s32/s64 sums, NCHW or NHWC in
  return {};
}

}  // namespace leancnn::kernels
