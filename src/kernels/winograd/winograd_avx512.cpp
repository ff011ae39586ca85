// The Winograd run for AVX-512F (16 floats per vector, 12 x 32 GEMM micro-kernel: 24 of the 32
// registers accumulate); compiled with -mavx512f and reached only through run-time dispatch
// (conv_winograd.cpp).
#include "simd/vec_f32_avx512.h"
#include "winograd_simd.h"

namespace leancnn::kernels::winograd {

void run_avx512(const Packed& p, const Io& io) { run<simd::Avx512>(p, io); }

}  // namespace leancnn::kernels::winograd
