// Magnitude masks (mask.h): layer-wise and global thresholds, N:M groups.
#include "leancnn/compress/prune/mask.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "leancnn/core/error.h"

namespace leancnn::compress::prune {

Scope parse_scope(const std::string& name) {
  if (name == "layer") return Scope::layer;
  if (name == "global") return Scope::global;
  fail(ErrorKind::usage, "pruning scope '", name, "' is not one of: layer, global");
}

const char* scope_name(Scope s) { return s == Scope::layer ? "layer" : "global"; }

namespace {
// Marks the `count` smallest |w| (ties: lower index first) among `idx` as pruned.
void prune_smallest(const float* w, std::vector<int64_t>& idx, int64_t count, std::vector<uint8_t>& keep) {
  if (count <= 0) return;
  auto less = [w](int64_t a, int64_t b) {
    const float fa = std::fabs(w[a]), fb = std::fabs(w[b]);
    return fa < fb || (fa == fb && a < b);
  };
  std::nth_element(idx.begin(), idx.begin() + (count - 1), idx.end(), less);
  for (int64_t i = 0; i < count; ++i) keep[static_cast<size_t>(idx[static_cast<size_t>(i)])] = 0;
}

void validate(const MaskOptions& o) {
  if (o.pattern == Pattern::unstructured && !(o.sparsity >= 0.0 && o.sparsity < 1.0))
    fail(ErrorKind::usage, "sparsity ", o.sparsity, " must be in [0, 1)");
  for (const auto& [layer, s] : o.layer_sparsity)
    if (!(s >= 0.0 && s < 1.0)) fail(ErrorKind::usage, "layer_sparsity of '", layer, "': ", s, " must be in [0, 1)");
  if (!o.layer_sparsity.empty() && (o.scope != Scope::layer || o.pattern != Pattern::unstructured))
    fail(ErrorKind::usage, "per-layer sparsities need the layer scope and the unstructured pattern");
  if (o.pattern == Pattern::n_of_m && !(o.n >= 1 && o.n < o.m && o.m <= 64))
    fail(ErrorKind::usage, "N:M pattern ", o.n, ":", o.m, " needs 1 <= N < M <= 64");
}

LayerMask dense_mask(const WeightView& v) {
  LayerMask m;
  m.layer = v.layer;
  m.weight = v.weight;
  m.keep.assign(static_cast<size_t>(v.value.numel()), 1);
  return m;
}

// N:M along axis 1 (input channels of one group) for every output channel and kernel tap.
void n_of_m(const WeightView& v, const MaskOptions& o, LayerMask& mask) {
  const Shape& s = v.value.shape();
  const int64_t oc = s[0], ic = s[1], taps = v.value.numel() / (oc * ic);
  if (ic < o.m) {
    mask.skipped = str_cat(ic, " input channel(s) per group, fewer than M = ", o.m);
    return;
  }
  const float* w = v.value.data<float>();
  std::vector<int64_t> group;
  for (int64_t o_ = 0; o_ < oc; ++o_)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t c0 = 0; c0 < ic; c0 += o.m) {
        const int64_t len = std::min<int64_t>(o.m, ic - c0);
        group.clear();
        for (int64_t c = c0; c < c0 + len; ++c) group.push_back((o_ * ic + c) * taps + t);
        // A short last group keeps N of it too (at most all of it).
        prune_smallest(w, group, len - std::min<int64_t>(o.n, len), mask.keep);
      }
}
}  // namespace

std::vector<LayerMask> magnitude_masks(const std::vector<WeightView>& weights, const MaskOptions& o) {
  validate(o);
  std::vector<LayerMask> masks;
  for (const WeightView& v : weights) {
    if (v.value.dtype() != DType::f32 || v.value.rank() < 2)
      fail(ErrorKind::bad_input, "layer '", v.layer, "': weight '", v.weight, "' is not an f32 tensor of rank >= 2");
    masks.push_back(dense_mask(v));
  }
  if (o.pattern == Pattern::n_of_m) {
    for (size_t i = 0; i < weights.size(); ++i) n_of_m(weights[i], o, masks[i]);
  } else if (o.scope == Scope::layer) {
    for (size_t i = 0; i < weights.size(); ++i) {
      const int64_t n = weights[i].value.numel();
      std::vector<int64_t> idx(static_cast<size_t>(n));
      std::iota(idx.begin(), idx.end(), 0);
      const auto own = o.layer_sparsity.find(weights[i].layer);
      const double s = own == o.layer_sparsity.end() ? o.sparsity : own->second;
      prune_smallest(weights[i].value.data<float>(), idx, static_cast<int64_t>(std::llround(s * static_cast<double>(n))),
                     masks[i].keep);
    }
  } else {
    // One threshold over every layer: the global order of |w| (ties: earlier layer, lower index).
    std::vector<std::pair<float, std::pair<int64_t, int64_t>>> all;
    for (size_t l = 0; l < weights.size(); ++l) {
      const float* w = weights[l].value.data<float>();
      for (int64_t i = 0; i < weights[l].value.numel(); ++i)
        all.push_back({std::fabs(w[i]), {static_cast<int64_t>(l), i}});
    }
    const int64_t count = static_cast<int64_t>(std::llround(o.sparsity * static_cast<double>(all.size())));
    if (count > 0) {
      std::nth_element(all.begin(), all.begin() + (count - 1), all.end());
      for (int64_t i = 0; i < count; ++i) {
        const auto& [layer, index] = all[static_cast<size_t>(i)].second;
        masks[static_cast<size_t>(layer)].keep[static_cast<size_t>(index)] = 0;
      }
    }
  }
  for (LayerMask& m : masks) m.kept = std::count(m.keep.begin(), m.keep.end(), uint8_t{1});
  return masks;
}

void apply_masks(const std::vector<WeightView>& weights, const std::vector<LayerMask>& masks) {
  LEANCNN_CHECK(weights.size() == masks.size(), "apply_masks: ", weights.size(), " weights, ", masks.size(), " masks");
  for (size_t l = 0; l < weights.size(); ++l) {
    Tensor w = weights[l].value;
    LEANCNN_CHECK(static_cast<size_t>(w.numel()) == masks[l].keep.size(), "apply_masks: mask of '", masks[l].weight,
                  "' does not match its weight");
    float* p = w.data<float>();
    for (size_t i = 0; i < masks[l].keep.size(); ++i)
      if (!masks[l].keep[i]) p[i] = 0.f;
  }
}

double mask_sparsity(const std::vector<LayerMask>& masks) {
  int64_t total = 0, kept = 0;
  for (const LayerMask& m : masks) {
    total += static_cast<int64_t>(m.keep.size());
    kept += m.kept;
  }
  return total == 0 ? 0.0 : 1.0 - static_cast<double>(kept) / static_cast<double>(total);
}

MaskOptions scaled_sparsity(const MaskOptions& options, const std::function<double(double)>& f) {
  MaskOptions o = options;
  o.sparsity = f(options.sparsity);
  for (auto& [layer, s] : o.layer_sparsity) s = f(s);
  return o;
}

}  // namespace leancnn::compress::prune
