// Rank selection for one layer (rank_selection.h).
#include "leancnn/compress/decompose/rank_selection.h"

#include <algorithm>
#include <cmath>

#include "leancnn/compress/decompose/factorize.h"
#include "leancnn/compress/decompose/tensor_train.h"
#include "leancnn/compress/decompose/vbmf.h"
#include "leancnn/core/error.h"

namespace leancnn::compress::decompose {

namespace {
int64_t cost_in(const LayerCost& c, CostUnit u) { return u == CostUnit::params ? c.params : c.macs; }

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
TtModes fc_modes(const Tensor& w, Method m, const FactorOptions& options) {
  (void)m;
  return tt_modes(w.dim(0), w.dim(1), options.tt_cores);
}

// The squared singular values' tail sums: tail[r] = sum_{i >= r} s_i^2 (tail[0] = total).
std::vector<double> tails(const std::vector<double>& s) {
  std::vector<double> t(s.size() + 1, 0.0);
  for (size_t i = s.size(); i-- > 0;) t[i] = t[i + 1] + s[i] * s[i];
  return t;
}

double tail_at(const std::vector<double>& t, int64_t r) {
  return t[static_cast<size_t>(std::clamp<int64_t>(r, 0, static_cast<int64_t>(t.size()) - 1))];
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
    case Method::tt:
    case Method::tr: return tt_svd_energy(w, fc_modes(w, m, options), energy, m == Method::tr).ranks;
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

std::vector<int64_t> vbmf_ranks(const ir::Graph& g, const ir::Node& n, Method m, const FactorOptions& options) {
  const Tensor& w = g.value(n.inputs[1]).data;
  switch (m) {
    case Method::svd:
    case Method::channel_svd:
    case Method::spatial_svd: {
      const Tensor mat = factorised_matrix(w, m);
      return {vbmf_rank(singular_values(mat), mat.dim(0), mat.dim(1))};
    }
    case Method::tucker2: {
      const int64_t rest = w.numel();
      return {vbmf_rank(mode_singular_values(w, 1), w.dim(1), rest / w.dim(1)),
              vbmf_rank(mode_singular_values(w, 0), w.dim(0), rest / w.dim(0))};
    }
    case Method::tt:
    case Method::tr: return tt_svd_vbmf(w, fc_modes(w, m, options), m == Method::tr).ranks;
    case Method::cp: break;
  }
  fail(ErrorKind::usage, "the vbmf rank rule does not apply to ", method_name(m),
       " (no matrix to read a rank from): use energy, ratio or budget");
}

std::vector<int64_t> ratio_ranks(const ir::Graph& g, const ir::Node& n, Method m, double ratio, const FactorOptions& options) {
  if (!(ratio > 0 && ratio <= 1)) fail(ErrorKind::usage, "rank ratio must be in (0, 1], got ", ratio);
  std::vector<int64_t> r = max_ranks(g, n, m, options);
  for (int64_t& x : r) x = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(ratio * static_cast<double>(x) - 1e-9)));
  if (m == Method::tt || m == Method::tr) {
    const Tensor& w = g.value(n.inputs[1]).data;
    const TtModes modes = fc_modes(w, m, options);
    r = m == Method::tt ? tt_clamp_ranks(modes, r) : tr_clamp_ranks(modes, r);
  }
  return r;
}

std::vector<int64_t> rounded_ranks(std::vector<int64_t> ranks, const std::vector<int64_t>& max, Method m,
                                   int64_t multiple) {
  if (multiple <= 1 || m == Method::tt || m == Method::tr) return ranks;
  LEANCNN_CHECK(ranks.size() == max.size(), "rounded_ranks: ", ranks.size(), " ranks against ", max.size(), " largest");
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (max[i] < multiple) continue;
    const int64_t nearest = (ranks[i] + multiple / 2) / multiple * multiple;
    ranks[i] = std::min(max[i], std::max(multiple, nearest));
  }
  return ranks;
}

std::vector<RankOption> rank_ladder(const ir::Graph& g, const ir::Node& n, Method m, CostUnit unit,
                                    const FactorOptions& options, int64_t multiple) {
  static const double fractions[] = {1.0, 0.75, 0.625, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625};
  std::vector<RankOption> out;
  int64_t last = cost_in(layer_cost(g, n), unit);
  const std::vector<int64_t> largest = max_ranks(g, n, m, options);
  for (double f : fractions) {
    RankOption o;
    o.ranks = rounded_ranks(ratio_ranks(g, n, m, f, options), largest, m, multiple);
    o.cost = decomposed_cost(g, n, m, o.ranks);
    const int64_t c = cost_in(o.cost, unit);
    if (c >= last) continue;
    last = c;
    out.push_back(o);
  }
  return out;
}

std::vector<double> ladder_errors(const ir::Graph& g, const ir::Node& n, Method m, const std::vector<RankOption>& ladder,
                                  const FactorOptions& options) {
  const Tensor& w = g.value(n.inputs[1]).data;
  std::vector<double> out;
  auto share = [](double lost, double total) { return total > 0 ? std::clamp(lost / total, 0.0, 1.0) : 0.0; };
  switch (m) {
    case Method::svd:
    case Method::channel_svd:
    case Method::spatial_svd: {
      const std::vector<double> t = tails(singular_values(factorised_matrix(w, m)));
      for (const RankOption& o : ladder) out.push_back(share(tail_at(t, o.ranks[0]), t[0]));
      return out;
    }
    case Method::tucker2: {
      const std::vector<double> t_in = tails(mode_singular_values(w, 1)), t_out = tails(mode_singular_values(w, 0));
      for (const RankOption& o : ladder) out.push_back(share(tail_at(t_in, o.ranks[0]) + tail_at(t_out, o.ranks[1]), t_in[0]));
      return out;
    }
    case Method::cp:
    case Method::tt:
    case Method::tr:
      for (const RankOption& o : ladder) {
        const double e = factorisation_error(g, n, m, o.ranks, options);
        out.push_back(std::min(1.0, e * e));
      }
      return out;
  }
  return out;
}

}  // namespace leancnn::compress::decompose
