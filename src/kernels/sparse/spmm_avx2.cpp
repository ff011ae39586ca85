// AVX2 + FMA products of sparse weight rows with dense activations (csr.h): spmm_impl.h's
// product over 8-float vectors (runs of up to 32 outputs), and lut_rows.h's table-lookup
// product for fully connected layers. Reached only through run-time dispatch on CPUs with AVX2 and FMA.
#include <immintrin.h>

#include <cstddef>

#include "csr.h"
#include "lut_rows.h"
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


// lut_rows.h: 8 rows x 8-column chunks; the table is one register, the lookup vpermps. Four
// accumulators, slots taken round-robin, cover the FMA latency.
void lut_gemv(const LutRows& a, int64_t b0, int64_t b1, const float* x, const float* bias, float* y) {
  const float* val = a.val.data();
  const uint8_t* idx = a.idx.data();
  for (int64_t b = b0; b < b1; ++b) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t c = 0; c < a.chunks; ++c) {
      const __m256 table = _mm256_loadu_ps(x + 8 * c);
      auto slot = [&](int64_t s, __m256 acc) {
        const __m256i i = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(idx + 8 * s)));
        return _mm256_fmadd_ps(_mm256_loadu_ps(val + 8 * s), _mm256_permutevar8x32_ps(table, i), acc);
      };
      int64_t s = a.slot_ptr[static_cast<size_t>(b * a.chunks + c)];
      const int64_t s1 = a.slot_ptr[static_cast<size_t>(b * a.chunks + c + 1)];
      for (; s + 4 <= s1; s += 4) {
        acc0 = slot(s, acc0);
        acc1 = slot(s + 1, acc1);
        acc2 = slot(s + 2, acc2);
        acc3 = slot(s + 3, acc3);
      }
      if (s < s1) acc0 = slot(s, acc0);
      if (s + 1 < s1) acc1 = slot(s + 1, acc1);
      if (s + 2 < s1) acc2 = slot(s + 2, acc2);
    }
    __m256 sum = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    if (bias) sum = _mm256_add_ps(sum, _mm256_loadu_ps(bias + 8 * b));
    _mm256_storeu_ps(y + 8 * b, sum);
  }
}

}  // namespace leancnn::kernels::sparse::avx2
