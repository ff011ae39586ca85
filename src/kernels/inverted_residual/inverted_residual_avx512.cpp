// The inverted residual row pass for AVX-512; compiled for that ISA and reached only through
// run-time dispatch (fused_inverted_residual.cpp).
#include "inverted_residual_simd.h"
#include "simd/vec_f32_avx512.h"

namespace leancnn::kernels::inverted_residual {

void run_avx512(const Packed& p, const Io& io) { run<simd::Avx512>(p, io); }

}  // namespace leancnn::kernels::inverted_residual
