// The XOR-popcount tiles' shared epilogue store (xnor_kernels.h): eight output channels' values
// for each of a tile's P patches, [p][8] in registers, written NCHW (out[oc * stride + p]).
// Included by the per-ISA tile files only (AVX2 at least), so internal linkage: each keeps its
// own copy compiled with its own ISA flags.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace leancnn::kernels::binary {
namespace {

// f[p] holds channels oc0 .. oc0 + 7 of patch p; channels from oc0 + `channels` on are not
// stored (the filters' padding). Groups of four patches with eight channels: a 4x8 register
// transpose and eight 4-float stores each; otherwise element by element.
template <int P>
inline void store_channels(float* out, int64_t stride, int64_t channels, const __m256 (&f)[P]) {
  if constexpr (P % 4 == 0) {
    if (channels >= 8) {
      for (int g = 0; g < P; g += 4) {
        const __m256 t0 = _mm256_unpacklo_ps(f[g], f[g + 1]), t1 = _mm256_unpackhi_ps(f[g], f[g + 1]);
        const __m256 t2 = _mm256_unpacklo_ps(f[g + 2], f[g + 3]), t3 = _mm256_unpackhi_ps(f[g + 2], f[g + 3]);
        const __m256 c04 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));  // channels 0 | 4
        const __m256 c15 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 c26 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 c37 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
        float* o = out + g;
        _mm_storeu_ps(o, _mm256_castps256_ps128(c04));
        _mm_storeu_ps(o + stride, _mm256_castps256_ps128(c15));
        _mm_storeu_ps(o + 2 * stride, _mm256_castps256_ps128(c26));
        _mm_storeu_ps(o + 3 * stride, _mm256_castps256_ps128(c37));
        _mm_storeu_ps(o + 4 * stride, _mm256_extractf128_ps(c04, 1));
        _mm_storeu_ps(o + 5 * stride, _mm256_extractf128_ps(c15, 1));
        _mm_storeu_ps(o + 6 * stride, _mm256_extractf128_ps(c26, 1));
        _mm_storeu_ps(o + 7 * stride, _mm256_extractf128_ps(c37, 1));
      }
      return;
    }
  }
  alignas(32) float v[P][8];
  for (int p = 0; p < P; ++p) _mm256_store_ps(v[p], f[p]);
  const int64_t n = std::min<int64_t>(channels, 8);
  for (int64_t c = 0; c < n; ++c)
    for (int p = 0; p < P; ++p) out[c * stride + p] = v[p][c];
}

}  // namespace
}  // namespace leancnn::kernels::binary
