// The sparse-rows x dense-activations product (csr.h) and the table-lookup product of fully
// connected layers (lut_rows.h), written once over a vector type V (the AVX2 and AVX-512
// translation units include this with their own V). spmm: per output row, one run of up to 4
// vectors of outputs, each non-zero broadcast once and multiplied into the input run at
// its offset (Elsen et al., "Fast Sparse ConvNets", 2020). The non-zeros alternate between two
// sets of accumulators, so eight independent FMA chains cover the FMA latency (one set of four
// leaves the FMA units half idle: 4-cycle latency, two FMAs per cycle). Bias and Relu are applied
// in registers before the store; the last vector of a run may be partial (masked loads and
// stores). Include only from a translation unit compiled for V's instruction set.
#pragma once
#include <cstdint>
#include <type_traits>

#include "csr.h"
#include "lut_rows.h"

namespace leancnn::kernels::sparse::detail {

// One output row's run of N vectors (the last with `m` valid lanes unless Full).
template <class V, int N, bool Full>
void run_rows(const SparseRows& a, int64_t r0, int64_t r1, const float* x, typename V::Mask m, float* y, int64_t ldy,
              const Epilogue& e, const float* z) {
  const float* bias = e.bias;
  constexpr int W = V::width;
  const int32_t* off = a.off.data();
  const float* val = a.val.data();
  auto in = [&](const float* p, int v) { return v < N - 1 || Full ? V::load(p + W * v) : V::maskload(p + W * v, m); };
  for (int64_t r = r0; r < r1; ++r) {
    typename V::Reg c[N], d[N];
    const typename V::Reg b = V::set1(bias && !e.accumulate ? bias[r] : 0.f);
    float* yr = y + r * ldy;
    for (int v = 0; v < N; ++v) {
      c[v] = e.accumulate ? in(yr, v) : b;
      d[v] = V::zero();
    }
    int64_t j = a.row_ptr[static_cast<size_t>(r)];
    const int64_t j1 = a.row_ptr[static_cast<size_t>(r + 1)];
    for (; j + 2 <= j1; j += 2) {
      const typename V::Reg w0 = V::set1(val[j]), w1 = V::set1(val[j + 1]);
      const float* x0 = x + off[j];
      const float* x1 = x + off[j + 1];
      for (int v = 0; v < N; ++v) {
        c[v] = V::fmadd(w0, in(x0, v), c[v]);
        d[v] = V::fmadd(w1, in(x1, v), d[v]);
      }
    }
    if (j < j1) {
      const typename V::Reg w0 = V::set1(val[j]);
      for (int v = 0; v < N; ++v) c[v] = V::fmadd(w0, in(x + off[j], v), c[v]);
    }
    for (int v = 0; v < N; ++v) c[v] = V::add(c[v], d[v]);
    if (z) {  // the residual after conv + bias, before the activation, as FusedConv's reference
      const float* zr = z + r * ldy;
      for (int v = 0; v < N; ++v) c[v] = V::add(c[v], in(zr, v));
    }
    if (e.relu)
      for (int v = 0; v < N; ++v) c[v] = V::max(c[v], V::zero());
    for (int v = 0; v < N; ++v) {
      if (v < N - 1 || Full)
        V::store(yr + W * v, c[v]);
      else
        V::maskstore(yr + W * v, m, c[v]);
    }
  }
}

// csr.h's SpmmFn: rows [r0, r1), t in [0, n), in runs of up to 4 vectors.
template <class V>
void spmm(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y, int64_t ldy,
          const Epilogue& e) {
  constexpr int64_t W = V::width, kRun = 4 * W;
  for (int64_t t = 0; t < n; t += kRun) {
    const int64_t len = n - t < kRun ? n - t : kRun;
    const int vectors = static_cast<int>((len + W - 1) / W);
    const int last = static_cast<int>(len - W * (vectors - 1));
    const typename V::Mask m = V::tail_mask(last);
    const float* zt = e.z ? e.z + t : nullptr;
    auto go = [&](auto n_vectors) {
      constexpr int N = decltype(n_vectors)::value;
      if (last == W)
        run_rows<V, N, true>(a, r0, r1, x + t, m, y + t, ldy, e, zt);
      else
        run_rows<V, N, false>(a, r0, r1, x + t, m, y + t, ldy, e, zt);
    };
    switch (vectors) {
      case 1: go(std::integral_constant<int, 1>{}); break;
      case 2: go(std::integral_constant<int, 2>{}); break;
      case 3: go(std::integral_constant<int, 3>{}); break;
      default: go(std::integral_constant<int, 4>{}); break;
    }
  }
}

// lut_rows.h's product for fully connected layers over V (V::chunk columns of x per table,
// V::lookup picks a slot's columns): per block of V::width rows, four accumulators taken
// round-robin by the slots cover the FMA latency.
template <class V>
void lut_gemv(const LutRows& a, int64_t b0, int64_t b1, const float* x, const float* bias, float* y) {
  constexpr int W = V::width;
  const float* val = a.val.data();
  const uint8_t* idx = a.idx.data();
  for (int64_t b = b0; b < b1; ++b) {
    typename V::Reg acc0 = V::zero(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t c = 0; c < a.chunks; ++c) {
      const typename V::Table table = V::load_table(x + V::chunk * c);
      auto slot = [&](int64_t s, typename V::Reg acc) { return V::fmadd(V::load(val + W * s), V::lookup(table, idx + W * s), acc); };
      int64_t s = a.slot_ptr[static_cast<size_t>(b * a.chunks + c)];
      const int64_t s1 = a.slot_ptr[static_cast<size_t>(b * a.chunks + c + 1)];
      for (; s + 4 <= s1; s += 4) {
        acc0 = slot(s, acc0);
        acc1 = slot(s + 1, acc1);
        acc2 = slot(s + 2, acc2);
        acc3 = slot(s + 3, acc3);
      }
      if (s < s1) acc0 = slot(s, acc0);
      if (s + 1 < s1) acc1 = slot(s + 1, acc1);
      if (s + 2 < s1) acc2 = slot(s + 2, acc2);
    }
    typename V::Reg sum = V::add(V::add(acc0, acc1), V::add(acc2, acc3));
    if (bias) sum = V::add(sum, V::load(bias + W * b));
    V::store(y + W * b, sum);
  }
}

}  // namespace leancnn::kernels::sparse::detail
