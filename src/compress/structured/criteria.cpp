// Unit scores from weights (filter norms, FPGM, BN γ) and from activations (HRank, APoZ).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "criteria.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"

namespace leancnn::compress::structured::detail {

Tensor calibration_images(const train::Dataset& train_set, int64_t count, uint64_t seed) {
  const Shape& s = train_set.images.shape();
  if (train_set.size() < 1) fail(ErrorKind::bad_input, "the criterion needs training images for calibration, and the training set is empty");
  count = std::min(count, train_set.size());
  std::vector<int64_t> idx(static_cast<size_t>(train_set.size()));
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng(seed ^ 0x5eedc0deULL);
  for (int64_t i = 0; i < count; ++i) {  // partial Fisher-Yates: the first `count` are the sample
    const int64_t j = i + static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(train_set.size() - i));
    std::swap(idx[i], idx[j]);
  }
  const int64_t per = s[1] * s[2] * s[3];
  Tensor x = Tensor::empty({count, s[1], s[2], s[3]});
  const uint8_t* src = train_set.images.data<uint8_t>();
  float* dst = x.data<float>();
  for (int64_t i = 0; i < count; ++i)
    for (int64_t k = 0; k < per; ++k) dst[i * per + k] = static_cast<float>(src[idx[i] * per + k]) / 255.f;
  return x;
}

namespace {

const Tensor& weights_of(const ir::Graph& g, ir::NodeId id) { return g.value(g.node(id).inputs[1]).data; }

double filter_norm(const Tensor& w, int64_t oc, bool l1) {
  const int64_t k = w.numel() / w.dim(0);
  const float* p = w.data<float>() + oc * k;
  double s = 0;
  for (int64_t i = 0; i < k; ++i) s += l1 ? std::fabs(p[i]) : static_cast<double>(p[i]) * p[i];
  return l1 ? s : std::sqrt(s);
}

// FPGM: per filter, the sum of its Euclidean distances to the layer's other filters (small = close
// to the geometric median, so the others can stand in for it).
std::vector<double> fpgm_distances(const Tensor& w) {
  const int64_t oc = w.dim(0), k = w.numel() / oc;
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> f(w.data<float>(), oc, k);
  const Eigen::MatrixXd fd = f.cast<double>();
  const Eigen::VectorXd sq = fd.rowwise().squaredNorm();
  const Eigen::MatrixXd gram = fd * fd.transpose();
  std::vector<double> d(static_cast<size_t>(oc), 0.0);
  for (int64_t i = 0; i < oc; ++i)
    for (int64_t j = 0; j < oc; ++j) d[i] += std::sqrt(std::max(0.0, sq[i] + sq[j] - 2 * gram(i, j)));
  return d;
}

}  // namespace

ir::ValueId activated_value(const ir::Graph& g, ir::NodeId source) {
  ir::ValueId v = g.node(source).outputs[0];
  for (;;) {
    const ir::NodeId c = ir::sole_consumer(g, v);
    if (c == ir::kNone) return v;
    const ir::Node& n = g.node(c);
    if (!(ir::is_onnx_op(n, "BatchNormalization") || ir::is_onnx_op(n, "Relu") || ir::is_onnx_op(n, "Clip") ||
          ir::is_onnx_op(n, "LeakyRelu") || ir::is_onnx_op(n, "HardSwish")))
      return v;
    v = n.outputs[0];
  }
}

std::vector<double> weight_scores(const ir::Graph& g, const ChannelGraph& cg, Criterion c) {
  std::map<ir::NodeId, std::vector<double>> fpgm;
  std::vector<double> scores(cg.units.size(), 0.0);
  for (size_t u = 0; u < cg.units.size(); ++u) {
    const Unit& unit = cg.units[u];
    if (c == Criterion::slimming && !unit.norms.empty()) {
      for (auto& [bn, ch] : unit.norms) scores[u] += std::fabs(g.value(g.node(bn).inputs[1]).data.data<float>()[ch]);
      continue;
    }
    for (auto& [node, oc] : unit.sources) {
      const Tensor& w = weights_of(g, node);
      if (c == Criterion::fpgm) {
        auto it = fpgm.find(node);
        if (it == fpgm.end()) it = fpgm.emplace(node, fpgm_distances(w)).first;
        scores[u] += it->second[static_cast<size_t>(oc)];
      } else {
        scores[u] += filter_norm(w, oc, c == Criterion::l1);
      }
    }
  }
  return scores;
}

std::map<ir::ValueId, std::vector<int>> watched_channels(const ir::Graph& g, const ChannelGraph& cg) {
  std::map<ir::ValueId, std::vector<int>> watch;
  for (size_t u = 0; u < cg.units.size(); ++u)
    for (auto& [node, oc] : cg.units[u].sources) {
      const ir::ValueId v = activated_value(g, node);
      auto& chans = watch.try_emplace(v, std::vector<int>(static_cast<size_t>(g.value(v).shape[1]), -1)).first->second;
      chans[static_cast<size_t>(oc)] = static_cast<int>(u);
    }
  return watch;
}

std::vector<double> activation_scores(const ir::Graph& g, const ChannelGraph& cg, Criterion c, const Tensor& images) {
  const std::map<ir::ValueId, std::vector<int>> watch = watched_channels(g, cg);
  std::vector<double> sum(cg.units.size(), 0.0), count(cg.units.size(), 0.0);
  ir::Graph copy = g;
  runtime::ExecutorOptions eo;
  eo.keep_values = true;
  runtime::Executor exec(copy, ops::op_table(), eo);
  const std::string input = copy.value(copy.inputs()[0]).name;
  const int64_t n = images.dim(0), batch = 32;
  for (int64_t first = 0; first < n; first += batch) {
    exec.forward({{input, images.slice_batch(first, std::min(n, first + batch)).clone()}});
    for (auto& [v, chans] : watch) {
      const Tensor& t = exec.value(v);
      const int64_t b = t.dim(0), ch = t.dim(1), hw = t.numel() / (b * ch);
      int64_t h = t.rank() == 4 ? t.dim(2) : 1, w = hw / h;
      const float* p = t.data<float>();
      for (int64_t i = 0; i < b; ++i)
        for (int64_t k = 0; k < ch; ++k) {
          const int u = chans[static_cast<size_t>(k)];
          if (u < 0) continue;
          const float* m = p + (i * ch + k) * hw;
          if (c == Criterion::apoz) {
            int64_t nonzero = 0;
            for (int64_t e = 0; e < hw; ++e) nonzero += m[e] != 0.f;
            sum[u] += static_cast<double>(nonzero) / static_cast<double>(hw);  // 1 - APoZ
          } else {
            Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> fm(m, h, w);
            Eigen::FullPivLU<Eigen::MatrixXf> lu(fm);
            lu.setThreshold(1e-5f);
            sum[u] += static_cast<double>(lu.rank());
          }
          count[u] += 1;
        }
    }
  }
  for (size_t u = 0; u < sum.size(); ++u) sum[u] = count[u] > 0 ? sum[u] / count[u] : 0.0;
  return sum;
}

// Group LASSO (Wen et al. 2016, "Learning Structured Sparsity in Deep Neural Networks"): the
// term λ Σ_unit ||θ_unit||₂ over every producer entry of a unit (its filters, biases, BN γ and β)
// and its gradient λ θ / ||θ_unit||₂, which drives whole units towards zero together.
train::Regularizer group_lasso(const ir::Graph& s, const ChannelGraph& cg, const std::vector<bool>& frozen, double lambda) {
  struct Slices {
    std::string name;
    int64_t outer = 1, inner = 1;
    std::vector<int> units;  // per index along the axis: unit, or -1 (not penalised)
  };
  std::vector<Slices> tensors;
  for (const TensorAxis& a : cg.tensors) {
    if (!a.producer) continue;
    Slices t{s.value(a.value).name, 1, 1, a.units};
    const Tensor& d = s.value(a.value).data;
    for (int i = 0; i < a.axis; ++i) t.outer *= d.dim(i);
    for (int i = a.axis + 1; i < d.rank(); ++i) t.inner *= d.dim(i);
    for (int& u : t.units)
      if (u >= 0 && frozen[static_cast<size_t>(cg.units[static_cast<size_t>(u)].group)]) u = -1;
    tensors.push_back(std::move(t));
  }
  const size_t units = cg.units.size();
  return [tensors, units, lambda](std::vector<runtime::Param>& params) {
    std::map<std::string, runtime::Param*> by_name;
    for (runtime::Param& p : params)
      if (p.grad.defined()) by_name[p.name] = &p;
    std::vector<double> sq(units, 0.0);
    auto visit = [&](auto&& fn) {
      for (const Slices& t : tensors) {
        auto it = by_name.find(t.name);
        if (it == by_name.end()) continue;
        const int64_t n = static_cast<int64_t>(t.units.size());
        for (int64_t o = 0; o < t.outer; ++o)
          for (int64_t c = 0; c < n; ++c)
            if (t.units[static_cast<size_t>(c)] >= 0)
              for (int64_t i = 0; i < t.inner; ++i) fn(*it->second, t.units[static_cast<size_t>(c)], (o * n + c) * t.inner + i);
      }
    };
    visit([&](runtime::Param& p, int u, int64_t k) {
      const double w = p.value.data<float>()[k];
      sq[static_cast<size_t>(u)] += w * w;
    });
    double term = 0;
    for (double v : sq) term += lambda * std::sqrt(v);
    visit([&](runtime::Param& p, int u, int64_t k) {
      const double norm = std::sqrt(sq[static_cast<size_t>(u)]);
      if (norm > 0) p.grad.data<float>()[k] += static_cast<float>(lambda * p.value.data<float>()[k] / norm);
    });
    return term;
  };
}

}  // namespace leancnn::compress::structured::detail
