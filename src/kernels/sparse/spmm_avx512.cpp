// AVX-512F products of sparse weight rows with dense activations (csr.h): spmm_impl.h's product
// over 16-float vectors (runs of up to 64 outputs, tails by mask registers). Half the
// instructions per output of the AVX2 product, as oneDNN's dense AVX-512 kernels have against
// their AVX2 ones. Reached only through run-time dispatch on CPUs with AVX-512F (and FMA).
#include <immintrin.h>

#include "csr.h"
#include "lut_rows.h"
#include "spmm_impl.h"

namespace leancnn::kernels::sparse::avx512 {

namespace {
struct Zmm {
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int width = 16;
  static Mask tail_mask(int n) { return static_cast<Mask>((1u << n) - 1u); }  // n in [1, 16]
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static Reg maskload(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }  // masked lanes read nothing
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static void maskstore(float* p, Mask m, Reg v) { _mm512_mask_storeu_ps(p, m, v); }
  static Reg set1(float v) { return _mm512_set1_ps(v); }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  // The masked form: GCC 12's _mm512_max_ps passes an undefined source (a false -Wmaybe-uninitialized).
  static Reg max(Reg a, Reg b) { return _mm512_mask_max_ps(a, static_cast<__mmask16>(0xFFFF), a, b); }
  // lut_rows.h: a chunk of `chunk` columns of x is two registers; a slot's lanes pick from them.
  static constexpr int chunk = 32;
  struct Table {
    __m512 lo, hi;
  };
  static Table load_table(const float* x) { return {_mm512_loadu_ps(x), _mm512_loadu_ps(x + 16)}; }
  static Reg lookup(const Table& t, const uint8_t* idx) {
    const __m512i i = _mm512_maskz_cvtepu8_epi32(static_cast<__mmask16>(0xFFFF), _mm_loadu_si128(reinterpret_cast<const __m128i*>(idx)));
    return _mm512_permutex2var_ps(t.lo, i, t.hi);
  }
};
}  // namespace

void spmm(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y, int64_t ldy,
          const Epilogue& e) {
  detail::spmm<Zmm>(a, r0, r1, x, n, y, ldy, e);
}


// lut_rows.h: 16 rows x 32-column chunks; the table is two registers, the lookup vpermt2ps.
void lut_gemv(const LutRows& a, int64_t b0, int64_t b1, const float* x, const float* bias, float* y) {
  detail::lut_gemv<Zmm>(a, b0, b1, x, bias, y);
}

}  // namespace leancnn::kernels::sparse::avx512
