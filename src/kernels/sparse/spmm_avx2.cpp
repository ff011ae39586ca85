// AVX2 + FMA products of sparse weight rows with dense activations (csr.h): per output row, up
// to 32 outputs in four accumulators, each non-zero broadcast once and multiplied into the input
// run at its offset (Elsen et al., "Fast Sparse ConvNets", 2020: weights sparse, activations
// dense); bias and Relu applied in registers before the store; partial runs with masked loads
// and stores. Callers keep a run's inputs small enough to stay in L1 across all the rows.
// Reached only through run-time dispatch on CPUs with AVX2 and FMA.
#include <immintrin.h>

#include <cstddef>

#include "csr.h"

namespace leancnn::kernels::sparse::avx2 {

namespace {
inline __m256i tail_mask(int64_t n) {  // lanes [0, n) set, n in [1, 8]
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes);
}

// V vectors of 8 outputs; the last holds `last` (1..8) valid lanes.
template <int V>
void run_rows(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int last, float* y, int64_t ldy,
              const float* bias, const float* z, bool relu) {
  const __m256i m = tail_mask(last);
  const bool full = last == 8;
  const int32_t* off = a.off.data();
  const float* val = a.val.data();
  for (int64_t r = r0; r < r1; ++r) {
    const __m256 b = _mm256_set1_ps(bias ? bias[r] : 0.f);
    __m256 c0 = b, c1 = b, c2 = b, c3 = b;
    const int64_t j1 = a.row_ptr[static_cast<size_t>(r + 1)];
    for (int64_t j = a.row_ptr[static_cast<size_t>(r)]; j < j1; ++j) {
      const __m256 w = _mm256_broadcast_ss(val + j);
      const float* xr = x + off[j];
      // Full vectors load plainly; the last one masked unless full (masked lanes read nothing).
      if constexpr (V == 1) {
        c0 = _mm256_fmadd_ps(w, full ? _mm256_loadu_ps(xr) : _mm256_maskload_ps(xr, m), c0);
      } else {
        c0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(xr), c0);
      }
      if constexpr (V == 2) c1 = _mm256_fmadd_ps(w, full ? _mm256_loadu_ps(xr + 8) : _mm256_maskload_ps(xr + 8, m), c1);
      if constexpr (V > 2) c1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(xr + 8), c1);
      if constexpr (V == 3) c2 = _mm256_fmadd_ps(w, full ? _mm256_loadu_ps(xr + 16) : _mm256_maskload_ps(xr + 16, m), c2);
      if constexpr (V > 3) c2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(xr + 16), c2);
      if constexpr (V == 4) c3 = _mm256_fmadd_ps(w, full ? _mm256_loadu_ps(xr + 24) : _mm256_maskload_ps(xr + 24, m), c3);
    }
    __m256 c[4] = {c0, c1, c2, c3};
    if (z) {  // the residual after conv + bias, before the activation, as FusedConv's reference
      const float* zr = z + r * ldy;
      for (int v = 0; v < V - 1; ++v) c[v] = _mm256_add_ps(c[v], _mm256_loadu_ps(zr + 8 * v));
      c[V - 1] = _mm256_add_ps(c[V - 1], full ? _mm256_loadu_ps(zr + 8 * (V - 1)) : _mm256_maskload_ps(zr + 8 * (V - 1), m));
    }
    if (relu)
      for (int v = 0; v < V; ++v) c[v] = _mm256_max_ps(c[v], _mm256_setzero_ps());
    float* yr = y + r * ldy;
    for (int v = 0; v < V - 1; ++v) _mm256_storeu_ps(yr + 8 * v, c[v]);
    if (full)
      _mm256_storeu_ps(yr + 8 * (V - 1), c[V - 1]);
    else
      _mm256_maskstore_ps(yr + 8 * (V - 1), m, c[V - 1]);
  }
}
}  // namespace

void spmm(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y, int64_t ldy,
          const float* bias, const float* z, bool relu) {
  for (int64_t t = 0; t < n; t += 32) {
    const int64_t len = n - t < 32 ? n - t : 32;
    const int vectors = static_cast<int>((len + 7) / 8), last = static_cast<int>(len - 8 * (vectors - 1));
    switch (vectors) {
      case 1: run_rows<1>(a, r0, r1, x + t, last, y + t, ldy, bias, z ? z + t : nullptr, relu); break;
      case 2: run_rows<2>(a, r0, r1, x + t, last, y + t, ldy, bias, z ? z + t : nullptr, relu); break;
      case 3: run_rows<3>(a, r0, r1, x + t, last, y + t, ldy, bias, z ? z + t : nullptr, relu); break;
      default: run_rows<4>(a, r0, r1, x + t, last, y + t, ldy, bias, z ? z + t : nullptr, relu); break;
    }
  }
}

void spmv(const SparseRows& a, int64_t r0, int64_t r1, const float* x, float* y) {
  // Scalar loads with four independent sums: AMD cores run AVX2 gathers at about one element per
  // cycle, no faster than plain loads (measured with bench/sparse_bench).
  const int32_t* off = a.off.data();
  const float* val = a.val.data();
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t j0 = a.row_ptr[static_cast<size_t>(r)], j1 = a.row_ptr[static_cast<size_t>(r + 1)];
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      s0 += val[j] * x[off[j]];
      s1 += val[j + 1] * x[off[j + 1]];
      s2 += val[j + 2] * x[off[j + 2]];
      s3 += val[j + 3] * x[off[j + 3]];
    }
    for (; j < j1; ++j) s0 += val[j] * x[off[j]];
    y[r] = (s0 + s1) + (s2 + s3);
  }
}

}  // namespace leancnn::kernels::sparse::avx2
