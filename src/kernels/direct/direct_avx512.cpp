// The direct convolution's run for AVX-512F (16 floats per vector, 12 x 32 tiles); compiled for
// AVX-512 and reached only through run-time dispatch (conv_direct.cpp).
#include "direct_simd.h"
#include "simd/vec_f32_avx512.h"

namespace leancnn::kernels::direct {

void run_avx512(const Packed& p, const NhwcIo& io) { run<simd::Avx512>(p, io); }

}  // namespace leancnn::kernels::direct
