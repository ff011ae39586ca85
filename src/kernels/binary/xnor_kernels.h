// The XNOR-popcount kernels of ai.leancnn BinaryConv (kernels/binary): the per-ISA tile products
// (one translation unit each, reached only through run-time dispatch) and the kernel list.
#pragma once
#include <cstdint>

#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels::binary {

// Output channels per filter vector: the filters are stored transposed, word-major, with the
// output channels padded to a multiple of this (padding filters are zero).
inline constexpr int64_t kOcBlock = 8;
// Patches (output pixels) per tile.
inline constexpr int64_t kTilePixels = 8;

// One tile: `npatch` (<= kTilePixels) packed input patches (patches + p * words) against `ocp`
// (a multiple of kOcBlock) filters stored transposed, filters[w * ocp + oc]. The disagreements
// d = popcount(patch_p XOR filter_oc) over `words` 64-bit words, less outside[p][oc] when
// outside[p] is given (a border pixel's taps outside the input), become the output
// ops::binary_conv_output(valid[p] - 2 d, alpha[oc], beta, bias[oc]), the reference's f32
// expression (alpha and bias padded to ocp), stored at out[oc * out_stride + p] for oc < oc_out
// (NCHW: consecutive output pixels, one plane per channel). Lanes hold output channels, so no
// horizontal sum is needed; each filter vector loaded serves every patch of the tile.
struct TileArgs {
  const uint64_t* patches;
  int64_t npatch;
  const uint64_t* filters;
  const uint64_t* filter_nibbles;  // AVX2: [words][2][ocp], the filters' low and high nibbles
  int64_t words, ocp;
  const int64_t* outside[kTilePixels];  // per patch: [ocp] counts to take back, or nullptr
  const int64_t* valid;                 // per patch: ic * taps inside the input
  const float *alpha, *bias;
  float beta;
  float* out;
  int64_t out_stride, oc_out;
};
using XorPopcountTile = void (*)(const TileArgs& a);

void xor_popcount_tile_avx2(const TileArgs& a);    // vpshufb nibble lookup + vpsadbw
void xor_popcount_tile_avx512(const TileArgs& a);  // VPOPCNTQ

// The signs of one sample, [ic][plane] f32 (NCHW), packed per pixel: bit c % 64 of
// out[i * cw + c / 64] = (src[c * plane + i] >= 0) (ops::sign_bit), padding bits 0; `out` must
// hold plane * cw zeroed words. Gather-free: per channel, one compare gives the signs of 16 (8)
// consecutive pixels as mask bits; 64 (32) channels' masks, one byte each, are then transposed
// to per-pixel words by shifting bit k of every byte to its top and collecting the tops
// (vpmovb2m / vpmovmskb).
using PackSigns = void (*)(const float* src, int64_t ic, int64_t plane, int64_t cw, uint64_t* out);
void pack_signs_avx2(const float* src, int64_t ic, int64_t plane, int64_t cw, uint64_t* out);
void pack_signs_avx512(const float* src, int64_t ic, int64_t plane, int64_t cw, uint64_t* out);

// ops::mean_abs_scale (XNOR-Net's beta) with its 32 partial sums in vector lanes: the same
// double additions in the same order, so the same bits.
using MeanAbs = float (*)(const float* x, int64_t n);
float mean_abs_avx2(const float* x, int64_t n);
float mean_abs_avx512(const float* x, int64_t n);

// The BinaryConv kernels (xnor_conv.cpp): AVX-512 VPOPCNTDQ and AVX2 tiles.
Kernel cpu_binary_conv_b1_avx512();
Kernel cpu_binary_conv_b1_avx2();

}  // namespace leancnn::kernels::binary
