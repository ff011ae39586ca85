// The direct convolution's run for AVX2 + FMA (8 floats per vector, 6 x 16 tiles); compiled with
// -mavx2 -mfma and reached only through run-time dispatch (conv_direct.cpp).
#include "direct_simd.h"
#include "simd/vec_f32_avx2.h"

namespace leancnn::kernels::direct {

void run_avx2(const Packed& p, const NhwcIo& io) { run<simd::Avx2>(p, io); }

}  // namespace leancnn::kernels::direct
