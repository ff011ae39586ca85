// The exact int8 GEMM for CPUs without VNNI (docs/int8_runtime.md §4): both operands widened to
// s16 with their zero points subtracted, products summed pairwise into s32 by vpmaddwd (exact:
// |a|, |b| <= 255, so a pair sum is at most 130050), then the requantization of
// ops/quant_math.h, bit for bit. Private to the int8 kernels; no intrinsics here (the AVX2 code
// is in s16_gemm_avx2.cpp, compiled with its own flags and called only where AVX2 is present).
//
// Packed weights ("B", K x N): N padded to panels of 16 columns, K to an even count; panel j
// holds, for each pair of rows p, the 16 columns' two values interleaved:
//   panel[p][col][t] = w'(2p + t, 16 j + col)          (s16; zero in the padding)
// so one 256-bit load gives 8 columns x 2 rows, ready for vpmaddwd against a broadcast pair of
// activations. Activations ("A", M x K) are rows of s16 (x - x_zp), K padded to the same even
// count with zeros.
#pragma once
#include <cstdint>
#include <vector>

#include "leancnn/core/dtype.h"

namespace leancnn::kernels::int8 {

constexpr int kPanel = 16;  // columns per weight panel (two 8-lane s32 accumulators)
constexpr int kTileRows = 6;  // rows of A per micro-tile (12 accumulators)

inline int64_t padded_k(int64_t k) { return (k + 1) / 2 * 2; }
inline int64_t panels(int64_t n) { return (n + kPanel - 1) / kPanel; }

struct PackedB {
  int64_t k = 0, n = 0, kp = 0;  // logical K and N, padded K
  std::vector<int16_t> data;     // panels(n) * kp * kPanel values
  const int16_t* panel(int64_t j) const { return data.data() + j * kp * kPanel; }
};

// Packs B from a weight matrix given by an element accessor w(k, n) already minus its zero
// point (an int in [-255, 255]).
template <typename At>
PackedB pack_b(int64_t k, int64_t n, At w) {
  PackedB b;
  b.k = k;
  b.n = n;
  b.kp = padded_k(k);
  b.data.assign(static_cast<size_t>(panels(n) * b.kp * kPanel), 0);
  for (int64_t j = 0; j < panels(n); ++j) {
    int16_t* dst = b.data.data() + j * b.kp * kPanel;
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t col = 0; col < kPanel && j * kPanel + col < n; ++col)
        dst[(kk / 2) * 2 * kPanel + col * 2 + (kk % 2)] = static_cast<int16_t>(w(kk, j * kPanel + col));
  }
  return b;
}

// The requantization of one output column range, expanded per column (padded to whole panels):
// y = clamp(((float)acc + bias[c]) * mult[c] + y_zp, lo, hi) rounded half to even, stored as
// `y` (u8 or s8); or, for an f32 output, ((float)acc + bias[c]) * mult[c], then max(., 0) when
// relu. bias[c] is (float) of the s32 bias (0 without one).
struct Requant {
  std::vector<float> bias, mult;  // panels(n) * kPanel values (0 in the padding)
  DType y = DType::u8;
  float y_zp = 0.f, lo = 0.f, hi = 255.f;
  bool relu = false;  // f32 output only
};

// AVX2 micro-kernels (s16_gemm_avx2.cpp). Call only when the CPU has AVX2.
namespace avx2 {
// tile[r][c] (+)= sum over k < kp of a[r * lda + k] * panel(k, c), for r < rows (1..kTileRows),
// c < kPanel; kp even; `panel` points at row pair 0 of the K range. tile is rows x kPanel s32,
// row-major; accumulate adds to what it holds, else it is overwritten.
void gemm_tile(int rows, int64_t kp, const int16_t* a, int64_t lda, const int16_t* panel, int32_t* tile,
               bool accumulate);
// Requantizes rows x cols (cols <= kPanel) of a tile whose first column is column `col0` of the
// output, storing element (r, c) at dst + (r * row_stride + c * col_stride) elements of q.y.
void store_tile(const int32_t* tile, int rows, int cols, const Requant& q, int64_t col0, void* dst,
                int64_t row_stride, int64_t col_stride);
// dst[i] = src[i] - zp as s16, i < n (u8 or s8 source).
void widen_u8(const uint8_t* src, int64_t n, int32_t zp, int16_t* dst);
void widen_s8(const int8_t* src, int64_t n, int32_t zp, int16_t* dst);
}  // namespace avx2

}  // namespace leancnn::kernels::int8
