// The inverted residual row pass written once over an ISA's vector type (included only by
// inverted_residual_avx2.cpp and inverted_residual_avx512.cpp, each compiled for its ISA).
// inverted_residual.h describes the pass; here are its three stages: a register-blocked GEMM
// micro-kernel (rows of pixels x one or two vectors of output channels, bias in the
// accumulators, residual and activation at the store) for the two 1x1 convolutions, and the
// depthwise row, vectors across channels with the taps' weights in registers.
#pragma once
#include <algorithm>
#include <cstring>
#include <vector>

#include "inverted_residual.h"
#include "leancnn/core/cpu.h"
#include "simd/activate.h"
#include "simd/gemm_tile.h"

namespace leancnn::kernels::inverted_residual {

// C[r][0:valid] = act(A[r] . B + bias [+ Z[r]]) for R rows and NV vectors of columns; B's rows
// are ldb floats apart (in a packed column block); the bias holds NV * W values; Z and C share ldc.
template <class S, int R, int NV>
inline void tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k_len, const float* bias,
                 const ops::FusedEpilogue& act, float* c, int64_t ldc, const float* z, int valid) {
  using V = typename S::V;
  constexpr int W = S::W;
  V acc[R][NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const V bv = S::load(bias + v * W);
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r) acc[r][v] = bv;
  }
  simd::gemm_accumulate<S, R, NV>(acc, a, lda, b, ldb, k_len);
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const int n = std::min(W, valid - v * W);
      if (n <= 0) break;
      V y = acc[r][v];
      if (z) y = S::add(y, n == W ? S::load(z + r * ldc + v * W) : S::load_n(z + r * ldc + v * W, n));
      y = simd::activate<S>(act, y);
      if (n == W) S::store(c + r * ldc + v * W, y); else S::store_n(c + r * ldc + v * W, y, n);
    }
}

template <class S, int NV, int R = S::MR * (3 - NV)>
inline void tile_rows(int rows, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k_len,
                      const float* bias, const ops::FusedEpilogue& act, float* c, int64_t ldc, const float* z,
                      int valid) {
  if constexpr (R > 0) {
    if (rows == R) return tile<S, R, NV>(a, lda, b, ldb, k_len, bias, act, c, ldc, z, valid);
    tile_rows<S, NV, R - 1>(rows, a, lda, b, ldb, k_len, bias, act, c, ldc, z, valid);
  }
}

// The rows a GEMM computes: A's and C's (and Z's) first rows and strides.
struct Rows {
  const float* a = nullptr;
  int64_t lda = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  const float* z = nullptr;  // the residual, C's layout, or null
  int64_t rows = 0;
};

// C[0:cols] = act(A[0:k_len] . B + bias [+ Z]) for every row of r, with B packed in column
// blocks of two vectors (the last may be one) over cols_padded columns (inverted_residual.h).
// Column blocks outermost, so one block of B stays in cache while all the rows pass, in chunks
// of even size.
template <class S>
void gemm(const Rows& r, const float* packed, int64_t k_len, int64_t cols, int64_t cols_padded, const float* bias,
          const ops::FusedEpilogue& act) {
  constexpr int W = S::W;
  for (int64_t j = 0; j < cols_padded;) {
    const int64_t ldb = std::min<int64_t>(2 * W, cols_padded - j);
    const int nv = static_cast<int>(ldb / W);
    const float* b = packed + j * k_len;
    const int valid = static_cast<int>(std::min<int64_t>(cols - j, nv * W));
    const int64_t mr = nv == 2 ? S::MR : 2 * S::MR;
    const int64_t chunks = (r.rows + mr - 1) / mr, per = (r.rows + chunks - 1) / chunks;
    for (int64_t r0 = 0; r0 < r.rows; r0 += per) {
      const int n = static_cast<int>(std::min(per, r.rows - r0));
      const float* a = r.a + r0 * r.lda;
      const int64_t co = r0 * r.ldc + j;
      const float* z = r.z ? r.z + co : nullptr;
      if (nv == 2)
        tile_rows<S, 2>(n, a, r.lda, b, ldb, k_len, bias + j, act, r.c + co, r.ldc, z, valid);
      else
        tile_rows<S, 1>(n, a, r.lda, b, ldb, k_len, bias + j, act, r.c + co, r.ldc, z, valid);
    }
    j += ldb;
  }
}

// The activation as a compile-time choice (the depthwise applies it per vector: a switch there
// costs a reload of the kind each time).
template <class S, ops::FusedActivation A>
inline typename S::V activate_as(const ops::FusedEpilogue& e, typename S::V v) {
  if constexpr (A == ops::FusedActivation::none) return v;
  else if constexpr (A == ops::FusedActivation::relu) return S::max(v, S::zero());
  else if constexpr (A == ops::FusedActivation::clip) return S::min(S::max(v, S::set1(e.clip_min)), S::set1(e.clip_max));
  else return simd::activate<S>(e, v);
}

// One depthwise output row into d [ow][mp]: rows[ky] is the input row (iw pixels, `stride`
// floats apart) that tap row ky reads, a row of zeros above or below the image. Interior pixels
// (every tap inside the row) go P at a time, P independent accumulator chains, every tap loop
// unrolled; the few border pixels skip their outside taps. KH, KW: the kernel size when fixed at
// compile time (the weights then stay in registers), 0 for any.
template <class S, int KH, int KW, ops::FusedActivation A>
void depthwise_row(const Packed& p, const float* const* rows, int64_t stride, float* d) {
  using V = typename S::V;
  constexpr int W = S::W, P = 4;
  const Geometry& g = p.g;
  const int64_t kh = KH ? KH : g.kh, kw = KW ? KW : g.kw, mp = p.mp, step = g.sw * stride;
  // Interior outputs [lo, hi): ox * sw - pad_l >= 0 and ox * sw - pad_l + kw <= iw.
  const int64_t lo = std::min(g.ow, (g.pad_l + g.sw - 1) / g.sw);
  const int64_t hi = std::max(lo, std::min(g.ow, g.iw + g.pad_l - kw < 0 ? 0 : (g.iw + g.pad_l - kw) / g.sw + 1));
  for (int64_t cv = 0; cv < mp; cv += W) {
    V w[KH * KW > 0 ? KH * KW : 1];
    if constexpr (KH * KW > 0)
      for (int t = 0; t < KH * KW; ++t) w[t] = S::load(p.wd.data() + t * mp + cv);
    const auto weight = [&](int64_t t) { return KH * KW > 0 ? w[t] : S::load(p.wd.data() + t * mp + cv); };
    const V bias = S::load(p.bd.data() + cv);
    const auto border = [&](int64_t ox) {
      V acc = bias;
      const int64_t ix0 = ox * g.sw - g.pad_l;
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t kx = std::max<int64_t>(0, -ix0); kx < kw && ix0 + kx < g.iw; ++kx)
          acc = S::fmadd(S::load(rows[ky] + (ix0 + kx) * stride + cv), weight(ky * kw + kx), acc);
      S::store(d + ox * mp + cv, activate_as<S, A>(p.act_dw, acc));
    };
    for (int64_t ox = 0; ox < lo; ++ox) border(ox);
    int64_t ox = lo;
    for (; ox + P <= hi; ox += P) {
      V acc[P];
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q) acc[q] = bias;
      const int64_t base = (ox * g.sw - g.pad_l) * stride + cv;
#pragma GCC unroll 8
      for (int64_t ky = 0; ky < kh; ++ky) {
        const float* e = rows[ky] + base;
#pragma GCC unroll 8
        for (int64_t kx = 0; kx < kw; ++kx) {
          const V wv = weight(ky * kw + kx);
#pragma GCC unroll 8
          for (int q = 0; q < P; ++q) acc[q] = S::fmadd(S::load(e + q * step + kx * stride), wv, acc[q]);
        }
      }
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q) S::store(d + (ox + q) * mp + cv, activate_as<S, A>(p.act_dw, acc[q]));
    }
    for (; ox < g.ow; ++ox) border(ox);
  }
}

using DepthwiseRow = void (*)(const Packed&, const float* const*, int64_t, float*);

template <class S, int KH, int KW>
DepthwiseRow depthwise_for(ops::FusedActivation a) {
  switch (a) {
    case ops::FusedActivation::none: return depthwise_row<S, KH, KW, ops::FusedActivation::none>;
    case ops::FusedActivation::relu: return depthwise_row<S, KH, KW, ops::FusedActivation::relu>;
    case ops::FusedActivation::clip: return depthwise_row<S, KH, KW, ops::FusedActivation::clip>;
    case ops::FusedActivation::hard_swish: break;
  }
  return depthwise_row<S, KH, KW, ops::FusedActivation::hard_swish>;
}

// The depthwise row for the block's kernel size and activation.
template <class S>
DepthwiseRow depthwise_for(const Geometry& g, ops::FusedActivation a) {
  if (g.kh == 3 && g.kw == 3) return depthwise_for<S, 3, 3>(a);
  if (g.kh == 5 && g.kw == 5) return depthwise_for<S, 5, 5>(a);
  return depthwise_for<S, 0, 0>(a);
}

// The ring's rows [from, to) of image img: the expansion of those rows of X, or (channels not a
// whole number of vectors) the rows themselves with the channels padded to mp.
template <class S>
void fill_rows(const Packed& p, const Io& io, int64_t img, int64_t from, int64_t to, float* ring, int64_t cap) {
  const Geometry& g = p.g;
  const int64_t mp = p.mp, row_floats = g.iw * mp;
  while (from < to) {  // a run of consecutive slots at a time (the ring wraps)
    const int64_t slot = from % cap, n = std::min(to - from, cap - slot);
    const float* x = io.src + (img * g.ih + from) * g.iw * g.c;
    float* e = ring + slot * row_floats;
    if (g.expand) {
      Rows r;
      r.a = x;
      r.lda = g.c;
      r.c = e;
      r.ldc = mp;
      r.rows = n * g.iw;
      gemm<S>(r, p.we.data(), g.c, p.mp, p.mp, p.be.data(), p.act_expand);
    } else {
      for (int64_t px = 0; px < n * g.iw; ++px) {
        std::memcpy(e + px * mp, x + px * g.c, static_cast<size_t>(g.c) * sizeof(float));
        std::fill(e + px * mp + g.c, e + (px + 1) * mp, 0.f);
      }
    }
    from += n;
  }
}

// Whether the depthwise reads X itself (no expansion, and X's channels fill whole vectors).
inline bool reads_x(const Packed& p) { return !p.g.expand && p.g.c == p.mp; }

// Output rows per band: as many as keep the ring (the band's input rows, mp channels) within
// kRingBytes, a thread's share of L2, at least one; and the ring's rows for bands of that many.
constexpr int64_t kRingBytes = 256 * 1024;
inline int64_t band_rows(const Packed& p) {
  const Geometry& g = p.g;
  const int64_t row_bytes = g.iw * p.mp * static_cast<int64_t>(sizeof(float));
  const int64_t cap = std::max<int64_t>(g.kh, kRingBytes / row_bytes);
  return std::clamp<int64_t>((cap - g.kh) / g.sh + 1, 1, g.oh);
}
inline int64_t ring_rows(const Packed& p) { return reads_x(p) ? 0 : (band_rows(p) - 1) * p.g.sh + p.g.kh; }

// Output rows [r_begin, r_end) of the batch (row r = image r / oh, row r % oh), a band at a time:
// the band's new input rows expanded into the ring (the rows it shares with the band before are
// kept), its depthwise rows into d, then one projection GEMM over the whole band.
// (Running small maps by the whole team instead, each stage's channels shared out and the
// threads meeting at barriers between stages, measured 1.05-1.8x slower: docs/fused_blocks.md.)
template <class S>
void run_rows(const Packed& p, const Io& io, int64_t r_begin, int64_t r_end, float* ring, float* d,
              const float* zeros) {
  const Geometry& g = p.g;
  const int64_t mp = p.mp, row_floats = g.iw * mp, band = band_rows(p), cap = ring_rows(p);
  const DepthwiseRow dw = depthwise_for<S>(g, p.act_dw.activation);
  const float* rows[kMaxKernelRows];
  int64_t have_img = -1, have_hi = 0;  // the ring holds image have_img's rows below have_hi
  for (int64_t r = r_begin; r < r_end;) {
    const int64_t img = r / g.oh, oy0 = r % g.oh;
    const int64_t nb = std::min({band, g.oh - oy0, r_end - r});
    if (!reads_x(p)) {
      const int64_t lo = std::max<int64_t>(0, oy0 * g.sh - g.pad_t);
      const int64_t hi = std::min<int64_t>(g.ih, (oy0 + nb - 1) * g.sh - g.pad_t + g.kh);
      const int64_t from = have_img == img ? std::max(lo, have_hi) : lo;
      if (from < hi) fill_rows<S>(p, io, img, from, hi, ring, cap);
      have_img = img;
      have_hi = hi;  // bands ascend within an image: hi never falls
    }
    for (int64_t i = 0; i < nb; ++i) {
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = (oy0 + i) * g.sh - g.pad_t + ky;
        rows[ky] = iy < 0 || iy >= g.ih ? zeros
                   : reads_x(p)         ? io.src + (img * g.ih + iy) * g.iw * g.c
                                        : ring + (iy % cap) * row_floats;
      }
      dw(p, rows, mp, d + i * g.ow * mp);
    }
    Rows pr;
    pr.a = d;
    pr.lda = mp;
    pr.c = io.dst + r * g.ow * g.oc;
    pr.ldc = g.oc;
    pr.z = io.z ? io.z + r * g.ow * g.oc : nullptr;
    pr.rows = nb * g.ow;
    gemm<S>(pr, p.wp.data(), g.m, g.oc, p.ocp, p.bp.data(), p.act);
    r += nb;
  }
}

template <class S>
void run(const Packed& p, const Io& io) {
  const Geometry& g = p.g;
  const int64_t rows = g.n * g.oh, parts = std::min<int64_t>(num_threads(), rows);
  const size_t ring_floats = static_cast<size_t>(ring_rows(p) * g.iw * p.mp);
  const size_t d_floats = static_cast<size_t>(band_rows(p) * g.ow * p.mp);
  const size_t zero_floats = static_cast<size_t>(g.iw * p.mp);  // a row of zeros for the taps off the image
#pragma omp parallel for schedule(static) if (parts > 1)
  for (int64_t t = 0; t < parts; ++t) {
    thread_local std::vector<float> ring_buf, d_buf, zero_buf;  // zero_buf: only ever resized (zeros)
    run_rows<S>(p, io, rows * t / parts, rows * (t + 1) / parts, grown(ring_buf, ring_floats), grown(d_buf, d_floats),
                grown(zero_buf, zero_floats));
  }
}

}  // namespace leancnn::kernels::inverted_residual
