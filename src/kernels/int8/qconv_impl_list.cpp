// QLinearConv's and ai.leancnn QLinearFusedConv's ordered fast kernels, every one exact
// (docs/int8_runtime.md §4): oneDNN's where its u8 x s8 arithmetic cannot saturate (VNNI, or
// weights within 7 bits), else our s16 kernel on AVX2; the reference (dispatch.cpp appends it
// last) runs everything else.
#include "impl_list.h"
#include "int8_kernels.h"

namespace leancnn::kernels {

std::vector<Kernel> qconv_impl_list() {
  return {
      dnnl_qconv_u8s8(),     // u8 x s8 -> u8/s8, requantization + Relu/Clip fused; declines where 16-bit pair sums could saturate
      cpu_qconv_s16_avx2(),  // u8/s8 x s8/u8 widened to s16 (vpmaddwd: exact on any AVX2 CPU)
  };
}

}  // namespace leancnn::kernels
