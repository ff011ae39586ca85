// Rank selection for one layer (rank_selection.h).
#include "leancnn/compress/decompose/rank_selection.h"

#include <algorithm>
#include <cmath>

#include "leancnn/compress/decompose/factorize.h"
#include "leancnn/core/error.h"

namespace leancnn::compress::decompose {

namespace {
int64_t cost_in(const LayerCost& c, CostUnit u) { return u == CostUnit::macs ? c.macs : c.params; }

// The matrix whose singular values an SVD-type method truncates.
Tensor factorised_matrix(const Tensor& w, Method m) {
  if (m == Method::svd) return w;
  const int64_t oc = w.dim(0), ic = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  if (m == Method::channel_svd) return w.reshape({oc, ic * kh * kw});
  Tensor mat = Tensor::empty({ic * kh, oc * kw});  // spatial_svd: [(c, y), (o, x)]
  const Tensor c = w.is_contiguous() ? w : w.clone();
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < ic; ++i)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x)
          mat.data<float>()[(i * kh + y) * oc * kw + o * kw + x] = c.data<float>()[((o * ic + i) * kh + y) * kw + x];
  return mat;
}
}  // namespace

std::vector<int64_t> energy_ranks(const ir::Graph& g, const ir::Node& n, Method m, double energy,
                                  const FactorOptions& options) {
  if (!(energy > 0 && energy <= 1)) fail(ErrorKind::usage, "energy must be in (0, 1], got ", energy);
  const Tensor& w = g.value(n.inputs[1]).data;
  switch (m) {
    case Method::svd:
    case Method::channel_svd:
    case Method::spatial_svd: return {energy_rank(singular_values(factorised_matrix(w, m)), energy)};
    case Method::tucker2:
      return {energy_rank(mode_singular_values(w, 1), energy), energy_rank(mode_singular_values(w, 0), energy)};
    case Method::cp: {
      const double max_err = std::sqrt(std::max(0.0, 1.0 - energy));
      int64_t lo = 1, hi = max_ranks(g, n, m)[0];
      if (factorisation_error(g, n, m, {hi}, options) > max_err) return {hi};  // even the largest falls short
      while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (factorisation_error(g, n, m, {mid}, options) <= max_err) hi = mid;
        else lo = mid + 1;
      }
      return {lo};
    }
  }
  return {};
}

std::vector<int64_t> ratio_ranks(const ir::Graph& g, const ir::Node& n, Method m, double ratio) {
  if (!(ratio > 0 && ratio <= 1)) fail(ErrorKind::usage, "rank ratio must be in (0, 1], got ", ratio);
  std::vector<int64_t> r = max_ranks(g, n, m);
  for (int64_t& x : r) x = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(ratio * static_cast<double>(x) - 1e-9)));
  return r;
}

std::vector<RankOption> rank_ladder(const ir::Graph& g, const ir::Node& n, Method m, CostUnit unit) {
  static const double fractions[] = {1.0, 0.75, 0.625, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625};
  std::vector<RankOption> out;
  int64_t last = cost_in(layer_cost(g, n), unit);
  for (double f : fractions) {
    RankOption o;
    o.ranks = ratio_ranks(g, n, m, f);
    o.cost = decomposed_cost(g, n, m, o.ranks);
    const int64_t c = cost_in(o.cost, unit);
    if (c >= last) continue;
    last = c;
    out.push_back(o);
  }
  return out;
}

}  // namespace leancnn::compress::decompose
