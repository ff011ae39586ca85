// The inverted residual row pass for AVX-2; compiled for that ISA and reached only through
// run-time dispatch (fused_inverted_residual.cpp).
#include "inverted_residual_simd.h"
#include "simd/vec_f32_avx2.h"

namespace leancnn::kernels::inverted_residual {

void run_avx2(const Packed& p, const Io& io) { run<simd::Avx2>(p, io); }

}  // namespace leancnn::kernels::inverted_residual
