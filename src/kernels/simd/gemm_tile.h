// The register-blocked fp32 GEMM micro-kernel the kernels share (Winograd's batched GEMMs, the
// inverted residual's 1x1 convolutions, the direct convolution), written over a vector traits type S (vec_f32_*.h): the
// caller owns the R x NV accumulators (their start and their store: raw, or with bias, residual
// and activation).
#pragma once
#include <cstdint>

namespace leancnn::kernels::simd {

// acc[r][v] += sum_k A[r][k] * B[k][v * W .. v * W + W) for R rows of A (lda apart) and NV
// vectors of B's columns (B's rows ldb apart). Every loop over registers is unrolled by pragma:
// GCC leaves a 24-iteration loop rolled, and the accumulators then live on the stack (a load and
// a store per FMA, twice the time).
template <class S, int R, int NV>
inline void gemm_accumulate(typename S::V (&acc)[R][NV], const float* a, int64_t lda, const float* b, int64_t ldb,
                            int64_t k_len) {
  using V = typename S::V;
  constexpr int W = S::W;
  for (int64_t k = 0; k < k_len; ++k) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::load(b + k * ldb + v * W);
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r) {
      const V x = S::set1(a[r * lda + k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = S::fmadd(x, bv[v], acc[r][v]);
    }
  }
}

// The same with each row of A at its own address (a[r][k]): rows that are not equally spaced,
// as the direct convolution's output pixels across the end of an output row.
template <class S, int R, int NV>
inline void gemm_accumulate_rows(typename S::V (&acc)[R][NV], const float* const (&a)[R], const float* b, int64_t ldb,
                                 int64_t k_len) {
  using V = typename S::V;
  constexpr int W = S::W;
  for (int64_t k = 0; k < k_len; ++k) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::load(b + k * ldb + v * W);
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r) {
      const V x = S::set1(a[r][k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = S::fmadd(x, bv[v], acc[r][v]);
    }
  }
}

}  // namespace leancnn::kernels::simd
