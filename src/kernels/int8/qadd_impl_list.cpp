// ai.leancnn QAdd's ordered fast kernels (the reference, appended last by dispatch.cpp, is the
// oracle they are bit-exact with).
#include "impl_list.h"
#include "int8_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> qadd_impl_list() {
  return {
      cpu_qadd_x8_avx2(),  // AVX2, threaded; layout-agnostic
      cpu_qadd_x8(),       // the op's loop, layout-agnostic (residual activations stay channels-last)
  };
}

}  // namespace leancnn::kernels
