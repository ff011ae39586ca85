// ai.leancnn BinaryConv's kernels, most specialised first: VPOPCNTQ where the CPU has AVX-512
// VPOPCNTDQ, else the AVX2 nibble-lookup popcount; the reference last (dispatch.cpp).
#include "binary/xnor_kernels.h"
#include "impl_list.h"

namespace leancnn::kernels {

std::vector<Kernel> binary_conv_impl_list() {
  return {binary::cpu_binary_conv_b1_avx512(), binary::cpu_binary_conv_b1_avx2()};
}

}  // namespace leancnn::kernels
