// The direct convolution's run written once over an ISA's vector type (included only by
// direct_avx2.cpp and direct_avx512.cpp, each compiled for its ISA). One OpenMP task is a band
// of output rows x a group of output-channel blocks: it copies the band's input rows into a
// thread-local zero-padded buffer (not needed without padding: the rows are read in place), then
// per block of nr output channels and per tile of R output pixels accumulates kh GEMM inner
// loops of kw * ic steps (the pixels' window rows, contiguous) and stores bias + [z] + activation.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "direct.h"
#include "simd/activate.h"
#include "simd/gemm_tile.h"

namespace leancnn::kernels::direct {

// Where a band's input rows are: row y of the band (padded coordinates) starts at base + y *
// row_stride, pixel x of it at + x * ic.
struct BandView {
  const float* base;
  int64_t row_stride;
};

// The output side of a task, copied out of NhwcIo so that the stores through dst cannot make
// the compiler reload it (NhwcIo is reached by reference).
struct Out {
  float* dst;
  int64_t dst_stride;
  const float* z;
  int64_t z_stride;
  ops::FusedEpilogue act;
};

// Stores one vector column v of a tile: act(acc + bias [+ z]), on channels oc .. oc + on.
template <class S, int R, ops::FusedActivation A>
inline void store_column(const typename S::V (&col)[R], const Out& o, const int64_t (&out)[R], int64_t oc, int on,
                         const float* bias_p) {
  using V = typename S::V;
  constexpr int W = S::W;
  const V bias = S::load(bias_p), lo = S::set1(o.act.clip_min), hi = S::set1(o.act.clip_max);
  float* const dst = o.dst;
  const float* const z = o.z;
  const int64_t ds = o.dst_stride, zs = o.z_stride;
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r) {
    V y = S::add(col[r], bias);
    if (z) y = S::add(y, on == W ? S::load(z + out[r] * zs + oc) : S::load_n(z + out[r] * zs + oc, on));
    if constexpr (A == ops::FusedActivation::relu) y = S::max(y, S::zero());
    if constexpr (A == ops::FusedActivation::clip) y = S::min(S::max(y, lo), hi);
    if constexpr (A == ops::FusedActivation::hard_swish) y = simd::activate<S>(o.act, y);
    float* yp = dst + out[r] * ds + oc;
    if (on == W) S::store(yp, y); else S::store_n(yp, y, on);
  }
}

// One tile: R output pixels (px: their window's first float) x block ob of nr output channels,
// over the kernel rows and, within them, chunks of at most kc steps. A tile's partial sums go
// to part (R x nr floats) between chunks, so that each chunk of weights (kc x nr floats, L1-sized)
// serves every tile of the band before the next is read.
template <class S, int R, int NV>
inline void tile(const Packed& p, const Out& o, const BandView& band, const float* const (&px)[R],
                 const int64_t (&out)[R], int64_t ob, int64_t ky, int64_t c0, int64_t len, bool first, bool last,
                 float* part) {
  using V = typename S::V;
  constexpr int W = S::W;
  const ops::ConvGeometry& g = p.g;
  V acc[R][NV];
  if (first) {
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = S::zero();
  } else {
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = S::load(part + (r * NV + v) * W);
  }
  const int64_t k_len = g.kw * g.ic;
  const float* a[R];
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r) a[r] = px[r] + ky * band.row_stride + c0;
  simd::gemm_accumulate_rows<S, R, NV>(acc, a, p.w.data() + ((ob * g.kh + ky) * k_len + c0) * p.nr, p.nr, len);
  if (!last) {
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) S::store(part + (r * NV + v) * W, acc[r][v]);
    return;
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const int64_t oc = ob * p.nr + v * W;
    if (oc >= g.oc) break;
    const int on = static_cast<int>(std::min<int64_t>(W, g.oc - oc));
    V col[R];
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r) col[r] = acc[r][v];
    const float* bias = p.bias.data() + oc;
    switch (o.act.activation) {
      case ops::FusedActivation::none: store_column<S, R, ops::FusedActivation::none>(col, o, out, oc, on, bias); break;
      case ops::FusedActivation::relu: store_column<S, R, ops::FusedActivation::relu>(col, o, out, oc, on, bias); break;
      case ops::FusedActivation::clip: store_column<S, R, ops::FusedActivation::clip>(col, o, out, oc, on, bias); break;
      case ops::FusedActivation::hard_swish:
        store_column<S, R, ops::FusedActivation::hard_swish>(col, o, out, oc, on, bias);
        break;
    }
  }
}

// Output pixels in_off / out_px[0 .. R) of the band (their window's first float in the band,
// their index among the output's pixels, precomputed per band).
template <class S, int R, int NV>
inline void tile_at(const Packed& p, const Out& o, const BandView& band, const int64_t* in_off,
                    const int64_t* out_px, int64_t ob, int64_t ky, int64_t c0, int64_t len, bool first, bool last,
                    float* part) {
  const float* px[R];
  int64_t out[R];
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r) {
    px[r] = band.base + in_off[r];
    out[r] = out_px[r];
  }
  tile<S, R, NV>(p, o, band, px, out, ob, ky, c0, len, first, last, part);
}

template <class S, int NV, int R>
inline void tile_any(int rows, const Packed& p, const Out& o, const BandView& band, const int64_t* in_off,
                     const int64_t* out_px, int64_t ob, int64_t ky, int64_t c0, int64_t len, bool first, bool last,
                     float* part) {
  if constexpr (R > 0) {
    if (rows == R) return tile_at<S, R, NV>(p, o, band, in_off, out_px, ob, ky, c0, len, first, last, part);
    tile_any<S, NV, R - 1>(rows, p, o, band, in_off, out_px, ob, ky, c0, len, first, last, part);
  }
}

// Pixels per tile: the ISA's micro-kernel rows with two vectors of output channels, twice as
// many with one; at most 12 (each row keeps its own address in a general register).
template <class S, int NV>
constexpr int tile_rows() {
  return std::min(12, S::MR * (3 - NV));
}

// Steps of the GEMM's inner loop per pass over a band's tiles: the weights they read (kc x nr
// floats) stay in L1 for all the tiles.
inline int64_t k_chunk(const Packed& p) { return std::max<int64_t>(64, (16 << 10) / (p.nr * 4)); }

template <class S, int NV>
void run_nv(const Packed& p, const NhwcIo& io) {
  constexpr int R = tile_rows<S, NV>();
  const ops::ConvGeometry& g = p.g;
  const Blocking bk = blocking(p);
  const int64_t per_image = (g.oh + bk.band_rows - 1) / bk.band_rows;
  const int64_t wp = g.iw + g.pad_l + g.pad_r;
  const bool pad = g.pad_t || g.pad_l || g.pad_b || g.pad_r || io.src_stride != g.ic;
  const int64_t tasks = bk.bands * bk.groups;
#pragma omp parallel for schedule(static) if (tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t band_i = task / bk.groups, grp = task % bk.groups;
    const int64_t img = band_i / per_image, oy0 = band_i % per_image * bk.band_rows;
    const int64_t rows = std::min(bk.band_rows, g.oh - oy0);
    const int64_t iy0 = oy0 * g.stride_h - g.pad_t, in_rows = (rows - 1) * g.stride_h + g.kh;
    const float* image = io.src + img * g.ih * g.iw * io.src_stride;
    BandView band;
    if (pad) {
      thread_local std::vector<float> buf;
      float* b = grown(buf, static_cast<size_t>(in_rows * wp * g.ic));
      for (int64_t y = 0; y < in_rows; ++y) {
        float* row = b + y * wp * g.ic;
        const int64_t iy = iy0 + y;
        if (iy < 0 || iy >= g.ih) {
          std::memset(row, 0, sizeof(float) * static_cast<size_t>(wp * g.ic));
          continue;
        }
        std::memset(row, 0, sizeof(float) * static_cast<size_t>(g.pad_l * g.ic));
        for (int64_t x = 0; x < g.iw; ++x)
          std::memcpy(row + (g.pad_l + x) * g.ic, image + (iy * g.iw + x) * io.src_stride,
                      sizeof(float) * static_cast<size_t>(g.ic));
        std::memset(row + (g.pad_l + g.iw) * g.ic, 0, sizeof(float) * static_cast<size_t>(g.pad_r * g.ic));
      }
      band = {b, wp * g.ic};
    } else {
      band = {image + iy0 * g.iw * g.ic, g.iw * g.ic};
    }
    // The band's pixels in tiles of at most R, as equal as can be (49 as 4 x 6 + 5 x 5, not 8 x 6 + 1).
    const int64_t pixels = rows * g.ow, chunks = (pixels + R - 1) / R;
    thread_local std::vector<int64_t> offsets;
    if (offsets.size() < static_cast<size_t>(2 * pixels)) offsets.resize(static_cast<size_t>(2 * pixels));
    int64_t* in_off = offsets.data();
    int64_t* out_px = in_off + pixels;
    for (int64_t dy = 0, q = 0; dy < rows; ++dy)
      for (int64_t ox = 0; ox < g.ow; ++ox, ++q) {
        in_off[q] = dy * g.stride_h * band.row_stride + ox * g.stride_w * g.ic;
        out_px[q] = (img * g.oh + oy0 + dy) * g.ow + ox;
      }
    const int64_t small = pixels / chunks, extra = pixels % chunks;
    thread_local std::vector<float> parts;
    float* part = grown(parts, static_cast<size_t>(chunks * R * p.nr));
    const Out o{io.dst, io.dst_stride, io.z, io.z_stride, io.act};
    const int64_t k_len = g.kw * g.ic, kc = k_chunk(p);
    const int64_t ob1 = std::min(p.oc_blocks, (grp + 1) * bk.group_blocks);
    const int64_t w_end = ob1 * g.kh * k_len * p.nr;  // this group's last weight (+1)
    for (int64_t ob = grp * bk.group_blocks; ob < ob1; ++ob)
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t c0 = 0; c0 < k_len; c0 += kc) {
          const int64_t len = std::min(kc, k_len - c0);
          const bool first = ky == 0 && c0 == 0, last = ky == g.kh - 1 && c0 + len == k_len;
          // The weights are read in the order they are packed: ask for the next chunk now, so that it
          // comes from memory (a network's deep layers do not stay in cache) while this one computes.
          const int64_t next = ((ob * g.kh + ky) * k_len + c0 + len) * p.nr;
          const int64_t ahead = std::min<int64_t>(kc * p.nr, w_end - next);
          for (int64_t i = 0; i < ahead; i += 16)
            _mm_prefetch(reinterpret_cast<const char*>(p.w.data() + next + i), _MM_HINT_T1);
          for (int64_t c = 0, q0 = 0; c < chunks; ++c) {
            const int n = static_cast<int>(small + (c < extra ? 1 : 0));
            tile_any<S, NV, R>(n, p, o, band, in_off + q0, out_px + q0, ob, ky, c0, len, first, last,
                               part + c * R * p.nr);
            q0 += n;
          }
        }
  }
}

template <class S>
void run(const Packed& p, const NhwcIo& io) {
  if (p.nr == S::W) run_nv<S, 1>(p, io); else run_nv<S, 2>(p, io);
}

}  // namespace leancnn::kernels::direct
