// ThiNet (Luo et al. 2017): the channels of a layer are judged by the next layer. Sampled output
// entries of every consumer (a Conv or Gemm reading the unit) are split into per-input-channel
// contributions y = sum_c x_c; greedily, the unit whose removal adds the least to the squared
// error of the removed set goes next (its score is its removal step). After removal the kept
// input channels of each consumer are rescaled by least squares, w = argmin ||y - X_kept w||^2.
#include <Eigen/Dense>
#include <algorithm>
#include <map>

#include "criteria.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"

namespace leancnn::compress::structured::detail {

namespace {

using Matrix = Eigen::MatrixXd;

// Contributions: rows are sampled output entries, columns the consumer's input channels.
std::map<ir::NodeId, Matrix> sample_contributions(const ir::Graph& g, const std::vector<ir::NodeId>& consumers,
                                                  const Tensor& images, int64_t samples, uint64_t seed) {
  std::map<ir::NodeId, Matrix> out;
  std::map<ir::NodeId, int64_t> filled;
  for (ir::NodeId q : consumers) {
    const Tensor& w = g.value(g.node(q).inputs[1]).data;
    out[q] = Matrix::Zero(samples, w.dim(1));
    filled[q] = 0;
  }
  ir::Graph copy = g;
  runtime::ExecutorOptions eo;
  eo.keep_values = true;
  runtime::Executor exec(copy, ops::op_table(), eo);
  const std::string input = copy.value(copy.inputs()[0]).name;
  Rng rng(seed ^ 0x7411e7ULL);
  const int64_t n = images.dim(0), batch = 32;
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t last = std::min(n, first + batch);
    exec.forward({{input, images.slice_batch(first, last).clone()}});
    for (ir::NodeId q : consumers) {
      const ir::Node& node = g.node(q);
      const Tensor& x = exec.value(node.inputs[0]);
      const Tensor& w = g.value(node.inputs[1]).data;
      const float* xp = x.data<float>();
      const float* wp = w.data<float>();
      Matrix& m = out[q];
      const int64_t upto = samples * last / n;  // this batch's share of the samples
      const int64_t b = x.dim(0), ic = w.dim(1);
      for (int64_t& row = filled[q]; row < upto; ++row) {
        const int64_t img = rng.below(b);
        if (ir::is_onnx_op(node, "Gemm")) {
          const int64_t o = rng.below(w.dim(0));
          for (int64_t k = 0; k < ic; ++k) m(row, k) = static_cast<double>(wp[o * ic + k]) * xp[img * ic + k];
          continue;
        }
        const std::vector<int64_t> st = node.attrs.get_ints("strides", {1, 1});
        const std::vector<int64_t> pd = node.attrs.get_ints("pads", {0, 0, 0, 0});
        const std::vector<int64_t> dl = node.attrs.get_ints("dilations", {1, 1});
        const int64_t kh = w.dim(2), kw = w.dim(3), h = x.dim(2), wd = x.dim(3);
        const Shape& ys = g.value(node.outputs[0]).shape;
        const int64_t o = rng.below(w.dim(0)), oy = rng.below(ys[2]), ox = rng.below(ys[3]);
        for (int64_t c = 0; c < ic; ++c) {
          double s = 0;
          for (int64_t ky = 0; ky < kh; ++ky) {
            const int64_t iy = oy * st[0] - pd[0] + ky * dl[0];
            if (iy < 0 || iy >= h) continue;
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t ix = ox * st[1] - pd[1] + kx * dl[1];
              if (ix < 0 || ix >= wd) continue;
              s += static_cast<double>(wp[((o * ic + c) * kh + ky) * kw + kx]) * xp[((img * ic + c) * h + iy) * wd + ix];
            }
          }
          m(row, c) = s;
        }
      }
    }
  }
  return out;
}

std::vector<ir::NodeId> consumers_of(const ChannelGraph& cg) {
  std::vector<ir::NodeId> out;
  for (const Unit& u : cg.units)
    for (auto& [node, ch] : u.consumers)
      if (std::find(out.begin(), out.end(), node) == out.end()) out.push_back(node);
  return out;
}

}  // namespace

std::vector<double> thinet_scores(const ir::Graph& g, const ChannelGraph& cg, const Tensor& images, int64_t samples,
                                  uint64_t seed) {
  const std::map<ir::NodeId, Matrix> x = sample_contributions(g, consumers_of(cg), images, samples, seed);
  std::vector<double> scores(cg.units.size(), 0.0);
  for (const Group& gr : cg.groups) {
    if (!gr.removable) continue;
    // Per consumer, the contribution of each unit of the group (columns in the group's unit order).
    std::map<ir::NodeId, Matrix> per;
    for (size_t j = 0; j < gr.units.size(); ++j)
      for (auto& [node, ch] : cg.units[gr.units[j]].consumers) {
        const Matrix& xq = x.at(node);
        auto it = per.find(node);
        if (it == per.end()) it = per.emplace(node, Matrix::Zero(xq.rows(), static_cast<Eigen::Index>(gr.units.size()))).first;
        it->second.col(static_cast<Eigen::Index>(j)) += xq.col(ch);
      }
    std::map<ir::NodeId, Eigen::VectorXd> residual;
    for (auto& [node, m] : per) residual[node] = Eigen::VectorXd::Zero(m.rows());
    std::vector<bool> taken(gr.units.size(), false);
    for (size_t step = 0; step < gr.units.size(); ++step) {
      double best = 0;
      size_t pick = gr.units.size();
      for (size_t j = 0; j < gr.units.size(); ++j) {
        if (taken[j]) continue;
        double added = 0;
        for (auto& [node, m] : per) {
          const auto col = m.col(static_cast<Eigen::Index>(j));
          added += 2 * residual[node].dot(col) + col.squaredNorm();
        }
        if (pick == gr.units.size() || added < best) best = added, pick = j;
      }
      taken[pick] = true;
      for (auto& [node, m] : per) residual[node] += m.col(static_cast<Eigen::Index>(pick));
      scores[static_cast<size_t>(gr.units[pick])] = static_cast<double>(step);
    }
  }
  return scores;
}

ir::Graph thinet_reconstruct(const ir::Graph& g, const ChannelGraph& cg, const std::set<int>& removed,
                             const Tensor& images, int64_t samples, uint64_t seed) {
  std::map<ir::NodeId, std::vector<bool>> dropped;  // per consumer: input channels removed
  for (int u : removed)
    for (auto& [node, ch] : cg.units[static_cast<size_t>(u)].consumers) {
      auto& d = dropped.try_emplace(node, std::vector<bool>(static_cast<size_t>(g.value(g.node(node).inputs[1]).data.dim(1)), false)).first->second;
      d[static_cast<size_t>(ch)] = true;
    }
  ir::Graph out = ir::with_own_initializers(g);
  if (dropped.empty()) return out;
  std::vector<ir::NodeId> consumers;
  for (auto& [node, d] : dropped) consumers.push_back(node);
  const std::map<ir::NodeId, Matrix> x = sample_contributions(g, consumers, images, samples, seed);
  for (auto& [node, d] : dropped) {
    const Matrix& xq = x.at(node);
    std::vector<Eigen::Index> kept;
    for (size_t c = 0; c < d.size(); ++c)
      if (!d[c]) kept.push_back(static_cast<Eigen::Index>(c));
    if (kept.empty()) continue;
    const Eigen::VectorXd y = xq.rowwise().sum();
    Matrix xk(xq.rows(), static_cast<Eigen::Index>(kept.size()));
    for (size_t j = 0; j < kept.size(); ++j) xk.col(static_cast<Eigen::Index>(j)) = xq.col(kept[j]);
    Matrix a = xk.transpose() * xk;
    const double ridge = 1e-6 * std::max(1e-12, a.trace() / static_cast<double>(a.rows()));
    a.diagonal().array() += ridge;
    const Eigen::VectorXd scale = a.ldlt().solve(xk.transpose() * y);
    if (!scale.allFinite()) continue;  // a degenerate sample: keep the weights as they are
    Tensor& w = out.value(out.node(node).inputs[1]).data;
    const int64_t oc = w.dim(0), ic = w.dim(1), k = w.numel() / (oc * ic);
    float* p = w.data<float>();
    for (size_t j = 0; j < kept.size(); ++j)
      for (int64_t o = 0; o < oc; ++o)
        for (int64_t e = 0; e < k; ++e) p[(o * ic + kept[j]) * k + e] *= static_cast<float>(scale[static_cast<Eigen::Index>(j)]);
  }
  return out;
}

}  // namespace leancnn::compress::structured::detail
