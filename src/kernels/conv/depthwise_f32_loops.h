// The depthwise backward loops (depthwise_f32.cpp), as a header included by two translation
// units: depthwise_f32.cpp (baseline SSE2) and depthwise_f32_avx2.cpp (AVX2 + FMA flags, chosen at
// run time), so the loops are written once and vectorized at each width. Internal linkage.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "leancnn/core/cpu.h"
#include "leancnn/ops/conv.h"

namespace leancnn::kernels {
namespace {
using ops::ConvGeometry;

// The output columns [lo, hi) whose input column ox * stride + x0 lies in [0, iw).
void column_range(int64_t x0, int64_t stride, int64_t iw, int64_t ow, int64_t* lo, int64_t* hi) {
  *lo = x0 >= 0 ? 0 : (-x0 + stride - 1) / stride;
  *hi = iw - 1 - x0 < 0 ? 0 : std::min(ow, (iw - 1 - x0) / stride + 1);
  if (*hi < *lo) *hi = *lo;
}

void backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) {
  const int64_t planes = g.n * g.ic, taps = g.kh * g.kw;
  const bool parallel = num_threads() > 1 && planes > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t c = p % g.ic;
    const float* wc = w + c * taps;
    const float* dyp = dy + p * g.oh * g.ow;
    float* dxp = dx + p * g.ih * g.iw;
    std::fill(dxp, dxp + g.ih * g.iw, 0.f);
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const float* dyr = dyp + oy * g.ow;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
        if (iy < 0 || iy >= g.ih) continue;
        float* dxr = dxp + iy * g.iw;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const float wv = wc[ky * g.kw + kx];
          const int64_t x0 = kx * g.dil_w - g.pad_l;
          int64_t lo, hi;
          column_range(x0, g.stride_w, g.iw, g.ow, &lo, &hi);
          if (g.stride_w == 1) {
            float* d = dxr + x0;
#pragma omp simd
            for (int64_t ox = lo; ox < hi; ++ox) d[ox] += wv * dyr[ox];
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dxr[ox * g.stride_w + x0] += wv * dyr[ox];
          }
        }
      }
    }
  }
}

void backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* db) {
  const int64_t taps = g.kh * g.kw;
  const bool parallel = num_threads() > 1 && g.ic > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < g.ic; ++c) {
    std::vector<double> acc(static_cast<size_t>(taps), 0.0);
    double bias = 0;
    for (int64_t n = 0; n < g.n; ++n) {
      const int64_t p = n * g.ic + c;
      const float* xp = x + p * g.ih * g.iw;
      const float* dyp = dy + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const float* dyr = dyp + oy * g.ow;
        if (db) {
          float s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t ox = 0; ox < g.ow; ++ox) s += dyr[ox];
          bias += s;
        }
        if (!dw) continue;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
          if (iy < 0 || iy >= g.ih) continue;
          const float* xr = xp + iy * g.iw;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t x0 = kx * g.dil_w - g.pad_l;
            int64_t lo, hi;
            column_range(x0, g.stride_w, g.iw, g.ow, &lo, &hi);
            float s = 0;
            if (g.stride_w == 1) {
              const float* xs = xr + x0;
#pragma omp simd reduction(+ : s)
              for (int64_t ox = lo; ox < hi; ++ox) s += dyr[ox] * xs[ox];
            } else {
              for (int64_t ox = lo; ox < hi; ++ox) s += dyr[ox] * xr[ox * g.stride_w + x0];
            }
            acc[static_cast<size_t>(ky * g.kw + kx)] += s;
          }
        }
      }
    }
    if (dw)
      for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] = static_cast<float>(acc[static_cast<size_t>(t)]);
    if (db) db[c] = static_cast<float>(bias);
  }
}

}  // namespace
}  // namespace leancnn::kernels
