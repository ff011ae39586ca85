// The exact int8 depthwise convolution for CPUs without VNNI (one filter per channel: groups =
// in = out channels), direct on NHWC activations: per output pixel and 8 channels, pairs of taps
// interleaved as s16 (x - x_zp) and multiplied with the packed weights by vpmaddwd into s32, then
// the requantization of s16_gemm.h. Private to the int8 kernels; the AVX2 code is in
// depthwise_avx2.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "s16_gemm.h"

namespace leancnn::kernels::int8 {

// Weights of kh x kw taps for c channels, padded to whole blocks of kPanel (16) channels, in the
// order the kernel's vpunpck{l,h}wd + vpmaddwd produce: for each pair of taps p and block of 16
// channels, a "low" and a "high" vector of 8 channels x 2 taps,
//   low:  channels 0-3 and 8-11 of the block,  high: channels 4-7 and 12-15,
// each channel's two taps adjacent (s16 weight minus its zero point; 0 past the last tap and in
// the channel padding).
struct PackedDepthwise {
  int64_t taps = 0, c = 0, blocks = 0;  // taps, channels, blocks of 16 channels
  std::vector<int16_t> pairs;           // (taps + 1) / 2 * blocks * 32 values
};

// The channel (within its block of 16) of lane l (0..7) of half h (0 low, 1 high).
inline int64_t depthwise_lane_channel(int h, int l) { return (l < 4 ? l : l + 4) + 4 * h; }

template <typename At>
PackedDepthwise pack_depthwise(int64_t taps, int64_t c, At w) {
  PackedDepthwise p;
  p.taps = taps;
  p.c = c;
  p.blocks = panels(c);
  p.pairs.assign(static_cast<size_t>((taps + 1) / 2 * p.blocks * 32), 0);
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t j = 0; j < p.blocks; ++j)
      for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 8; ++l) {
          const int64_t ch = j * kPanel + depthwise_lane_channel(h, l);
          if (ch < c) p.pairs[(((t / 2) * p.blocks + j) * 2 + h) * 16 + l * 2 + t % 2] = static_cast<int16_t>(w(ch, t));
        }
  return p;
}

// One output row of a depthwise convolution: src is the NHWC image (ih x iw x c bytes, u8 or s8),
// dst the output row oy: element (ox, ch) of q.y at dst + ox * pixel_stride + ch * channel_stride.
struct DepthwiseGeometry {
  int64_t ih, iw, c, oh, ow, kh, kw, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l;
};

namespace avx2 {
void depthwise_row(const DepthwiseGeometry& g, const PackedDepthwise& w, const Requant& q, const uint8_t* src,
                   bool src_u8, int32_t x_zp, int64_t oy, void* dst, int64_t pixel_stride, int64_t channel_stride);
}  // namespace avx2

}  // namespace leancnn::kernels::int8
