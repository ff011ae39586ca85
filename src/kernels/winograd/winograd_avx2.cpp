// The Winograd run for AVX2 + FMA (8 floats per vector, 6 x 16 GEMM micro-kernel); compiled with
// -mavx2 -mfma and reached only through run-time dispatch (conv_winograd.cpp).
#include "simd/vec_f32_avx2.h"
#include "winograd_simd.h"

namespace leancnn::kernels::winograd {

void run_avx2(const Packed& p, const Io& io) { run<simd::Avx2>(p, io); }

}  // namespace leancnn::kernels::winograd
