// The sparse-rows x dense-activations product (csr.h), written once over a vector type V (the
// AVX2 and AVX-512 translation units include this with their own V): per output row, one run of
// up to 4 vectors of outputs, each non-zero broadcast once and multiplied into the input run at
// its offset (Elsen et al., "Fast Sparse ConvNets", 2020). The non-zeros alternate between two
// sets of accumulators, so eight independent FMA chains cover the FMA latency (one set of four
// leaves the FMA units half idle: 4-cycle latency, two FMAs per cycle). Bias and Relu are applied
// in registers before the store; the last vector of a run may be partial (masked loads and
// stores). Include only from a translation unit compiled for V's instruction set.
#pragma once
#include <cstdint>
#include <type_traits>

#include "csr.h"

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

}  // namespace leancnn::kernels::sparse::detail
