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
  // lut_rows.h: a chunk of `chunk` columns of x is one register; a slot's lanes pick from it.
  static constexpr int chunk = 8;
  struct Table {
    __m256 v;
  };
  static Table load_table(const float* x) { return {_mm256_loadu_ps(x)}; }
  static Reg lookup(const Table& t, const uint8_t* idx) {
    return _mm256_permutevar8x32_ps(t.v, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(idx))));
  }
};
}  // namespace

void spmm(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y, int64_t ldy,
          const Epilogue& e) {
  detail::spmm<Ymm>(a, r0, r1, x, n, y, ldy, e);
}


// lut_rows.h: 8 rows x 8-column chunks; the table is one register, the lookup vpermps.
void lut_gemv(const LutRows& a, int64_t b0, int64_t b1, const float* x, const float* bias, float* y) {
  detail::lut_gemv<Ymm>(a, b0, b1, x, bias, y);
}

}  // namespace leancnn::kernels::sparse::avx2
