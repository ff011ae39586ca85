// AVX2 + FMA products of sparse weight rows with dense activations (csr.h): spmm_impl.h's
// product over 8-float vectors (runs of up to 32 outputs), and the batch-1 sparse dot products
// of fully connected layers. Reached only through run-time dispatch on CPUs with AVX2 and FMA.
#include <immintrin.h>

#include <cstddef>

#include "csr.h"
#include "spmm_impl.h"

namespace leancnn::kernels::sparse::avx2 {

namespace {
struct Ymm {
  using Reg = __m256;
  using Mask = __m256i;
  static constexpr int width = 8;
  static Mask tail_mask(int n) {  // lanes [0, n) set, n in [1, 8]
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static Reg maskload(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }  // masked lanes read nothing
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static void maskstore(float* p, Mask m, Reg v) { _mm256_maskstore_ps(p, m, v); }
  static Reg set1(float v) { return _mm256_set1_ps(v); }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
};
}  // namespace

void spmm(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y, int64_t ldy,
          const Epilogue& e) {
  detail::spmm<Ymm>(a, r0, r1, x, n, y, ldy, e);
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
