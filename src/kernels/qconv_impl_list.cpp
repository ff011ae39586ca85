// The int8 (QLinear, QAdd) ops' ordered fast kernels; the reference (dispatch.cpp appends it last) is
// the exact fallback, e.g. on a CPU without VNNI for weights wider than 7 bits.
#include "cpu/qadd_cpu.h"
#include "dnnl/dnnl_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> qconv_impl_list() {
  return {
      dnnl_qconv_u8s8(),  // u8 x s8 -> u8/s8, requantization + Relu/Clip fused; declines where 16-bit pair sums could saturate
  };
}

std::vector<Kernel> qgemm_impl_list() {
  return {
      dnnl_qgemm_u8s8(),  // u8 x s8 -> u8/s8/f32 matmul, requantization fused; same exactness rule
  };
}

std::vector<Kernel> qadd_impl_list() {
  return {
      cpu_qadd_u8(),  // the op's loop, layout-agnostic (residual activations stay channels-last)
  };
}

}  // namespace leancnn::kernels
