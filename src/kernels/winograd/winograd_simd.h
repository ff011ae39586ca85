// The Winograd run written once over an ISA's vector type (included only by winograd_avx2.cpp
// and winograd_avx512.cpp, each compiled for its ISA). One OpenMP task is a block of tiles x a
// group of output channels: it transforms its tiles' inputs (B^T d B, vectors across input
// channels) into a thread-local V[p][tile][ic], runs the alpha^2 GEMMs M[p] = V[p] U[p] with an
// MR x 2-vector (or 2MR x 1-vector) register-blocked micro-kernel, and transforms M back
// (A^T M A, vectors across output channels) into the output with bias, residual and activation
// applied in registers.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "simd/activate.h"
#include "simd/gemm_tile.h"
#include "winograd.h"

namespace leancnn::kernels::winograd {

// ---- 1-D transforms on alpha values (rows, then columns, give the 2-D ones) ----

// F(2, 3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
template <class S>
inline void input_1d_f2(const typename S::V* d, typename S::V* r) {
  r[0] = S::sub(d[0], d[2]);
  r[1] = S::add(d[1], d[2]);
  r[2] = S::sub(d[2], d[1]);
  r[3] = S::sub(d[1], d[3]);
}
// A^T = [1 1 1 0; 0 1 -1 -1].
template <class S>
inline void output_1d_f2(const typename S::V* m, typename S::V* o) {
  o[0] = S::add(S::add(m[0], m[1]), m[2]);
  o[1] = S::sub(S::sub(m[1], m[2]), m[3]);
}

// F(4, 3) (Lavin & Gray 2016): B^T rows [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0],
// [0 -2 -1 2 1 0], [0 2 -1 -2 1 0], [0 4 0 -5 0 1].
template <class S>
inline void input_1d_f4(const typename S::V* d, typename S::V* r) {
  using V = typename S::V;
  const V four = S::set1(4.f), five = S::set1(-5.f), two = S::set1(2.f);
  r[0] = S::fmadd(four, d[0], S::fmadd(five, d[2], d[4]));
  const V s12 = S::add(d[1], d[2]), s34 = S::add(d[3], d[4]);
  r[1] = S::fnmadd(four, s12, s34);
  const V d12 = S::sub(d[1], d[2]), d43 = S::sub(d[4], d[3]);
  r[2] = S::fmadd(four, d12, d43);
  const V d42 = S::sub(d[4], d[2]), d31 = S::sub(d[3], d[1]);
  r[3] = S::fmadd(two, d31, d42);
  r[4] = S::fnmadd(two, d31, d42);
  r[5] = S::fmadd(four, d[1], S::fmadd(five, d[3], d[5]));
}
// A^T rows [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0], [0 1 -1 8 -8 1].
template <class S>
inline void output_1d_f4(const typename S::V* m, typename S::V* o) {
  using V = typename S::V;
  const V a = S::add(m[1], m[2]), b = S::sub(m[1], m[2]), c = S::add(m[3], m[4]), d = S::sub(m[3], m[4]);
  o[0] = S::add(S::add(m[0], a), c);
  o[1] = S::fmadd(S::set1(2.f), d, b);
  o[2] = S::fmadd(S::set1(4.f), c, a);
  o[3] = S::add(S::fmadd(S::set1(8.f), d, b), m[5]);
}

template <class S, int A>
inline void input_1d(const typename S::V* d, typename S::V* r) {
  if constexpr (A == 4) input_1d_f2<S>(d, r); else input_1d_f4<S>(d, r);
}
template <class S, int A>
inline void output_1d(const typename S::V* m, typename S::V* o) {
  if constexpr (A == 4) output_1d_f2<S>(m, o); else output_1d_f4<S>(m, o);
}

// ---- the batched GEMM's micro-kernel: C[R][NV*W] = sum_k A[r][k] * B[k][0:NV*W] ----
// NV = 2 (MR rows: 2 * MR accumulators) or 1 (2 * MR rows, the same accumulator count).
template <class S, int R, int NV>
inline void gemm_rows(const float* a, int64_t lda, const float* b, int64_t k_len, float* c, int64_t ldc) {
  using V = typename S::V;
  constexpr int W = S::W;
  V acc[R][NV];
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = S::zero();
  simd::gemm_accumulate<S, R, NV>(acc, a, lda, b, NV * W, k_len);
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) S::store(c + r * ldc + v * W, acc[r][v]);
}

template <class S, int NV, int R = S::MR * (3 - NV)>
inline void gemm_any_rows(int rows, const float* a, int64_t lda, const float* b, int64_t k_len, float* c,
                          int64_t ldc) {
  if constexpr (R > 0) {
    if (rows == R) return gemm_rows<S, R, NV>(a, lda, b, k_len, c, ldc);
    gemm_any_rows<S, NV, R - 1>(rows, a, lda, b, k_len, c, ldc);
  }
}

// One tile's input transform over all input channels, a vector at a time: V[p] at
// v + p * v_point. Inside: the window is wholly in the image, pixel (i, j) at w0 + i * row + j *
// col; otherwise at[i][j] (null where the window reads padding).
template <class S, int A, bool Inside>
inline void input_tile(const float* w0, int64_t row_stride, int64_t col_stride, const float* const (*at)[A],
                       int64_t ic, float* v, int64_t v_point) {
  using V = typename S::V;
  constexpr int W = S::W;
  for (int64_t c0 = 0; c0 < ic; c0 += W) {
    const int cn = static_cast<int>(std::min<int64_t>(W, ic - c0));
    V col[A], tmp[A][A], row[A], out[A];
    for (int j = 0; j < A; ++j) {
      for (int i = 0; i < A; ++i) {
        const float* px = Inside ? w0 + i * row_stride + j * col_stride + c0 : at[i][j] ? at[i][j] + c0 : nullptr;
        col[i] = !Inside && !px ? S::zero() : cn == W ? S::load(px) : S::load_n(px, cn);
      }
      input_1d<S, A>(col, out);
      for (int i = 0; i < A; ++i) tmp[i][j] = out[i];
    }
    for (int i = 0; i < A; ++i) {
      for (int j = 0; j < A; ++j) row[j] = tmp[i][j];
      input_1d<S, A>(row, out);
      for (int j = 0; j < A; ++j) S::store(v + (i * A + j) * v_point + c0, out[j]);
    }
  }
}

template <class S, int A>
void run_impl(const Packed& p, const Io& io) {
  using V = typename S::V;
  constexpr int W = S::W, M = A - 2, P = A * A;
  const ops::ConvGeometry& g = p.g;
  const int64_t nr = p.nr, tiles = p.tiles_h * p.tiles_w, total = g.n * tiles;
  const bool one_vector = nr == W;
  const int MR = one_vector ? 2 * S::MR : S::MR;  // rows of the micro-kernel
  const int64_t icv = (g.ic + W - 1) / W, icp = icv * W;  // V's row stride: ic padded to vectors
  const Blocking bk = blocking(p, total, MR);
  const int64_t tasks = bk.blocks * bk.groups;
#pragma omp parallel for schedule(static) if (tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t grp = task / bk.blocks, blk = task % bk.blocks;
    const int64_t t0 = blk * bk.tb, nt = std::min(bk.tb, total - t0);
    const int64_t oc0 = grp * bk.ocg, ocn = std::min(bk.ocg, p.oc_blocks * nr - oc0);
    // Grown, never shrunk: resizing down and up again between layers zero-filled the regrown part
    // on every call (1.9 % of a pruned ResNet-20's time in memset); every element read below is
    // written first.
    thread_local std::vector<float> v_buf, m_buf;
    float* vb = grown(v_buf, static_cast<size_t>(P * bk.tb * icp));
    float* mb = grown(m_buf, static_cast<size_t>(P * bk.tb * bk.ocg));

    // Input transform: V[p][t][c] = (B^T d B)[p] of each tile's alpha x alpha window. Windows
    // wholly inside the image (all but the border tiles) take the branch-free form.
    const int64_t v_point = bk.tb * icp;  // V's stride between transform points
    for (int64_t t = 0; t < nt; ++t) {
      const int64_t tile = t0 + t, n = tile / tiles, ty = (tile % tiles) / p.tiles_w, tx = tile % p.tiles_w;
      const int64_t iy0 = ty * M - g.pad_t, ix0 = tx * M - g.pad_l;
      const float* img = io.src + n * g.ih * g.iw * io.src_stride;
      float* vt = vb + t * icp;
      if (iy0 >= 0 && ix0 >= 0 && iy0 + A <= g.ih && ix0 + A <= g.iw) {
        const float* w0 = img + (iy0 * g.iw + ix0) * io.src_stride;
        input_tile<S, A, true>(w0, g.iw * io.src_stride, io.src_stride, nullptr, g.ic, vt, v_point);
      } else {
        const float* at[A][A];  // the window's pixels, null where it reads padding
        for (int i = 0; i < A; ++i)
          for (int j = 0; j < A; ++j) {
            const int64_t y = iy0 + i, x = ix0 + j;
            at[i][j] = y >= 0 && y < g.ih && x >= 0 && x < g.iw ? img + (y * g.iw + x) * io.src_stride : nullptr;
          }
        input_tile<S, A, false>(nullptr, 0, 0, at, g.ic, vt, v_point);
      }
    }

    // The alpha^2 GEMMs: M[p][t][oc0 + o] over all input channels, in row chunks of even size
    // (16 tiles as 8 + 8, not 12 + 4: a short chunk reuses each weight vector too few times).
    const int64_t chunks = (nt + MR - 1) / MR, rows = (nt + chunks - 1) / chunks;
    for (int pt = 0; pt < P; ++pt)
      for (int64_t ob = 0; ob < ocn; ob += nr) {
        const float* u = p.u.data() + ((pt * p.oc_blocks + (oc0 + ob) / nr) * g.ic) * nr;
        for (int64_t r0 = 0; r0 < nt; r0 += rows) {
          const int n_rows = static_cast<int>(std::min<int64_t>(rows, nt - r0));
          const float* a = vb + (pt * bk.tb + r0) * icp;
          float* c = mb + (pt * bk.tb + r0) * bk.ocg + ob;
          if (one_vector)
            gemm_any_rows<S, 1>(n_rows, a, icp, u, g.ic, c, bk.ocg);
          else
            gemm_any_rows<S, 2>(n_rows, a, icp, u, g.ic, c, bk.ocg);
        }
      }

    // Output transform and epilogue: Y = act(A^T M A + bias [+ Z]).
    const int64_t ocg = bk.ocg, m_point = bk.tb * ocg;  // M's strides: tile, transform point
    for (int64_t t = 0; t < nt; ++t) {
      const int64_t tile = t0 + t, n = tile / tiles, ty = (tile % tiles) / p.tiles_w, tx = tile % p.tiles_w;
      const int64_t oy0 = ty * M, ox0 = tx * M;
      const int out_rows = static_cast<int>(std::min<int64_t>(M, g.oh - oy0)), cols = static_cast<int>(std::min<int64_t>(M, g.ow - ox0));
      for (int64_t o = 0; o < ocn; o += W) {
        const int64_t oc = oc0 + o;
        if (oc >= g.oc) break;
        const int on = static_cast<int>(std::min<int64_t>(W, g.oc - oc));
        V mm[A], tmp[M][A], row[A], out[M] = {};
        const float* mt = mb + t * ocg + o;
        for (int j = 0; j < A; ++j) {
          for (int i = 0; i < A; ++i) mm[i] = S::load(mt + (i * A + j) * m_point);
          output_1d<S, A>(mm, out);
          for (int i = 0; i < M; ++i) tmp[i][j] = out[i];
        }
        const V bias = on == W ? S::load(p.bias.data() + oc) : S::load_n(p.bias.data() + oc, on);
        for (int i = 0; i < out_rows; ++i) {
          for (int j = 0; j < A; ++j) row[j] = tmp[i][j];
          output_1d<S, A>(row, out);
          const int64_t pix = (n * g.oh + oy0 + i) * g.ow + ox0;
          for (int j = 0; j < cols; ++j) {
            V y = S::add(out[j], bias);
            if (io.z) {
              const float* zp = io.z + (pix + j) * io.z_stride + oc;
              y = S::add(y, on == W ? S::load(zp) : S::load_n(zp, on));
            }
            y = simd::activate<S>(io.act, y);
            float* yp = io.dst + (pix + j) * io.dst_stride + oc;
            if (on == W) S::store(yp, y); else S::store_n(yp, y, on);
          }
        }
      }
    }
  }
}

template <class S>
void run(const Packed& p, const Io& io) {
  if (p.m == 2) run_impl<S, 4>(p, io); else run_impl<S, 6>(p, io);
}

}  // namespace leancnn::kernels::winograd
