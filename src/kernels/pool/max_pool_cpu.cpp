// MaxPool over fp32 in inference (pool_kernels.h). NCHW: oneDNN's NCHW max pooling without
// AVX-512 is a reference-speed path (9 ms for ResNet-18's 3x3/2 pool after a sparse stem, which
// writes NCHW), so the dnnl kernel hands NCHW inference calls here: per output row, the column
// maxima over the window's rows (contiguous, vectorized by the compiler), then the maximum over
// the window's columns; padding never wins (windows skip it), as in the reference. 2x2/2 with
// either side channels-last (the small CNN's pools after its convs, the second writing NCHW for
// Flatten): oneDNN's NHWC call took 2.4-3 us for 25 K values; here each output pixel is the
// maximum of four rows of channels.
#include <algorithm>
#include <limits>
#include <vector>

#include "leancnn/core/cpu.h"
#include "max_pool_2x2.h"
#include "pool_kernels.h"

namespace leancnn::kernels {

namespace {

// The 2x2 window at stride 2 without padding or dilation whose windows all lie inside (small
// CNNs, VGG): per output, the same std::max sequence as the general loop below (column maxima
// over the two rows, from -inf, then over the two columns, from -inf), so NaNs propagate alike,
// without the general loop's bounds tests and column buffer (64x14x14: 6.5 -> ~2 us).
bool is_2x2_stride_2(const ops::PoolGeometry& g) {
  return g.kh == 2 && g.kw == 2 && g.stride_h == 2 && g.stride_w == 2 && g.dil_h == 1 && g.dil_w == 1 && g.pad_t == 0 &&
         g.pad_l == 0 && 2 * g.oh <= g.ih && 2 * g.ow <= g.iw;
}

void max_pool_2x2_stride_2(const ops::PoolGeometry& g, const float* src, float* dst, bool parallel) {
  constexpr float lowest = -std::numeric_limits<float>::infinity();
  const int64_t planes = g.n * g.c;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const float* r0 = src + (p * g.ih + 2 * oy) * g.iw;
      const float* r1 = r0 + g.iw;
      float* out = dst + (p * g.oh + oy) * g.ow;
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const float c0 = std::max(std::max(lowest, r0[2 * ox]), r1[2 * ox]);
        const float c1 = std::max(std::max(lowest, r0[2 * ox + 1]), r1[2 * ox + 1]);
        out[ox] = std::max(std::max(lowest, c0), c1);
      }
    }
}

}  // namespace

bool max_pool_is_2x2_stride_2(const ops::PoolGeometry& g) {
  return g.kind == ops::PoolKind::max && is_2x2_stride_2(g);
}

bool max_pool_2x2_f32(const ops::PoolGeometry& g, const float* src, bool src_nhwc, float* dst, bool dst_nhwc) {
  if (!max_pool_is_2x2_stride_2(g)) return false;
  if (cpu_features().avx2) max_pool_2x2_avx2(g, src, src_nhwc, dst, dst_nhwc);
  else max_pool_2x2_any_layouts(g, src, src_nhwc, dst, dst_nhwc);
  return true;
}

void max_pool_nhwc_f32(const ops::PoolGeometry& g, const float* src, float* dst) {
  if (cpu_features().avx2) max_pool_nhwc_avx2(g, src, dst);
  else max_pool_nhwc_any(g, src, dst);
}

void max_pool_nchw_f32(const ops::PoolGeometry& g, const float* src, float* dst) {
  const int64_t planes = g.n * g.c;
  if (is_2x2_stride_2(g)) {
    max_pool_2x2_stride_2(g, src, dst, num_threads() > 1 && planes * g.oh * g.ow * 4 >= (1 << 16));
    return;
  }
  const bool parallel = num_threads() > 1 && planes * g.oh * g.ow * g.kh * g.kw >= (1 << 16);
#pragma omp parallel if (parallel)
  {
    std::vector<float> cols(static_cast<size_t>(g.iw));
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      const float* plane = src + p * g.ih * g.iw;
      float* out = dst + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        std::fill(cols.begin(), cols.end(), -std::numeric_limits<float>::infinity());
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = g.y0(oy) + ky * g.dil_h;
          if (iy < 0 || iy >= g.ih) continue;
          const float* row = plane + iy * g.iw;
          for (int64_t x = 0; x < g.iw; ++x) cols[static_cast<size_t>(x)] = std::max(cols[static_cast<size_t>(x)], row[x]);
        }
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = g.x0(ox) + kx * g.dil_w;
            if (ix >= 0 && ix < g.iw) m = std::max(m, cols[static_cast<size_t>(ix)]);
          }
          out[oy * g.ow + ox] = m;
        }
      }
    }
  }
}

}  // namespace leancnn::kernels
