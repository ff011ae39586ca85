// MaxPool 2x2 at stride 2 over fp32, source and destination each NCHW or channels-last, and any
// window channels-last on both sides, as templates included by two translation units: max_pool_cpu.cpp (baseline) and
// max_pool_2x2_avx2.cpp (compiled with AVX2, chosen at run time), so the same loop is written
// once and vectorized at each width. Internal linkage (unnamed namespace): each file keeps its
// own instantiations, so the AVX2 code can never stand in for the baseline's.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "leancnn/core/cpu.h"
#include "leancnn/ops/pool.h"

namespace leancnn::kernels {
namespace {

// One output pixel's channels: the NCHW path's order (column maxima, then across, each from -inf,
// so NaNs propagate as in the reference). Restrict parameters: no aliasing checks around a loop
// of a few dozen channels (they cost as much as the loop).
inline void max_of_four(const float* __restrict a, const float* __restrict b, const float* __restrict a1,
                        const float* __restrict b1, float* __restrict o, int64_t c, int64_t sic, int64_t soc) {
  constexpr float lowest = -std::numeric_limits<float>::infinity();
  for (int64_t ch = 0; ch < c; ++ch) {
    const int64_t i = ch * sic;
    const float c0 = std::max(std::max(lowest, a[i]), b[i]);
    const float c1 = std::max(std::max(lowest, a1[i]), b1[i]);
    o[ch * soc] = std::max(std::max(lowest, c0), c1);
  }
}

// One 2x2/2 pass with the layouts fixed at compile time, so that the channel loop of an NHWC
// source runs over contiguous values and vectorizes (with run-time strides it did not: 2.9 us for
// the small CNN's 32x28x28 NHWC pool).
template <bool SrcNhwc, bool DstNhwc>
void max_pool_2x2_layouts(const ops::PoolGeometry& g, const float* src, float* dst) {
  struct Strides {
    int64_t n, y, x, c;
  };
  const auto strides = [&](bool nhwc, int64_t h, int64_t w) {
    return nhwc ? Strides{h * w * g.c, w * g.c, g.c, 1} : Strides{g.c * h * w, w, 1, h * w};
  };
  const Strides si = strides(SrcNhwc, g.ih, g.iw), so = strides(DstNhwc, g.oh, g.ow);
  const int64_t sic = SrcNhwc ? 1 : si.c, soc = DstNhwc ? 1 : so.c;  // constants where the layout says so
  const int64_t rows = g.n * g.oh;
  const bool parallel = num_threads() > 1 && rows * g.ow * g.c * 4 >= (1 << 16);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / g.oh, oy = r % g.oh;
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const float* a = src + n * si.n + 2 * oy * si.y + 2 * ox * si.x;  // the window's top-left pixel
      const float* b = a + si.y;
      const float* a1 = a + si.x;
      const float* b1 = b + si.x;
      max_of_four(a, b, a1, b1, dst + n * so.n + oy * so.y + ox * so.x, g.c, sic, soc);
    }
  }
}

// Any window (kh x kw, strides, pads, dilation) with both sides channels-last, as the reference
// computes it (ops/pool.cpp's window_argmax: the window's first tap in row-major order, then
// each later tap that is greater; NaN propagates only from the first tap, padding never wins),
// eight channels at a time in a GCC vector kept in registers through the window (one AVX2
// register, two SSE ones in the baseline build). oneDNN's NHWC pooling without AVX-512 took
// 0.8-0.9 ms for ResNet-18's 3x3/2 pool over 64x112x112; this 0.33-0.37 ms.
inline void max_pool_nhwc_any(const ops::PoolGeometry& g, const float* src, float* dst) {
  typedef float V8 __attribute__((vector_size(32)));
  constexpr int64_t kChunk = 8;
  const int64_t rows = g.n * g.oh, c = g.c;
  const bool parallel = num_threads() > 1 && rows * g.ow * c * g.kh * g.kw >= (1 << 16);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / g.oh, oy = r % g.oh;
    const float* img = src + n * g.ih * g.iw * c;
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      float* o = dst + (r * g.ow + ox) * c;
      for (int64_t ch0 = 0; ch0 < c; ch0 += kChunk) {
        const int64_t w = std::min(kChunk, c - ch0);
        V8 best = {};
        bool first = true;
        ops::for_each_tap(g, oy, ox, [&](int64_t iy, int64_t ix) {
          V8 v = {};
          const float* p = img + (iy * g.iw + ix) * c + ch0;
          if (w == kChunk)
            std::memcpy(&v, p, sizeof v);  // a constant size: one vector load
          else
            std::memcpy(&v, p, sizeof(float) * static_cast<size_t>(w));
          best = first ? v : (v > best ? v : best);
          first = false;
        });
        if (w == kChunk)
          std::memcpy(o + ch0, &best, sizeof best);
        else
          std::memcpy(o + ch0, &best, sizeof(float) * static_cast<size_t>(w));
      }
    }
  }
}

// The four layout combinations.
inline void max_pool_2x2_any_layouts(const ops::PoolGeometry& g, const float* src, bool src_nhwc, float* dst,
                                     bool dst_nhwc) {
  if (src_nhwc && dst_nhwc) max_pool_2x2_layouts<true, true>(g, src, dst);
  else if (src_nhwc) max_pool_2x2_layouts<true, false>(g, src, dst);
  else if (dst_nhwc) max_pool_2x2_layouts<false, true>(g, src, dst);
  else max_pool_2x2_layouts<false, false>(g, src, dst);
}

}  // namespace
}  // namespace leancnn::kernels
