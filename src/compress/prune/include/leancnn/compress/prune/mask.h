// Pruning masks over weight tensors (docs/pruning.md): which weights of each layer stay, chosen
// by magnitude, layer by layer (the same fraction in every layer), globally (one threshold over
// all the layers' |w|), or N:M semi-structured (in every group of M consecutive input channels
// of one output channel and kernel tap, the N largest stay: 2:4 is what sparse tensor cores run).
// Masks are computed from tensors, so the same code prunes a graph once and re-prunes the live
// parameters inside a fine-tuning run (the gradual schedule).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"

namespace leancnn::compress::prune {

enum class Scope { layer, global };
enum class Pattern { unstructured, n_of_m };

// "layer" | "global"; "unstructured" | "n:m" style ("2:4"). Error(usage) otherwise.
Scope parse_scope(const std::string& name);
const char* scope_name(Scope s);

struct MaskOptions {
  double sparsity = 0.5;  // fraction of the weights zeroed (unstructured; over all pruned layers for global)
  Scope scope = Scope::layer;
  // Scope layer, unstructured: a layer (node name) listed here is pruned to its own fraction
  // instead of `sparsity` (explicit ratios, or those a ratio rule chose: ratios.h).
  std::map<std::string, double> layer_sparsity = {};
  Pattern pattern = Pattern::unstructured;
  int n = 2, m = 4;  // N:M: n kept of every m (1 <= n < m <= 64)
};

// One layer's weight as the masks see it. groups: the conv's groups (1 for Gemm); the weight's
// input-channel axis is 1 ([oc, ic/groups, kh, kw] or [N, K]).
struct WeightView {
  std::string layer;   // the node's name (reports, exclusions)
  std::string weight;  // the initializer's name (the trainer's parameter name)
  Tensor value;        // f32, shares storage with the model
};

struct LayerMask {
  std::string layer, weight;
  std::vector<uint8_t> keep;  // one per weight element, 1 = stays
  int64_t kept = 0;
  std::string skipped;  // why the layer stays dense ("" when pruned): N:M needs >= m input channels
};

// Error(usage) on bad options (a sparsity outside [0, 1), n/m out of range, per-layer fractions
// with the global scope or N:M). Ties in magnitude are
// broken by position (lower index pruned first), so masks are deterministic.
std::vector<LayerMask> magnitude_masks(const std::vector<WeightView>& weights, const MaskOptions& options);

// Zeroes every weight a mask does not keep (in place, through the views' shared storage).
void apply_masks(const std::vector<WeightView>& weights, const std::vector<LayerMask>& masks);

// Fraction of zeros over the masked layers' weights (skipped layers count as dense).
double mask_sparsity(const std::vector<LayerMask>& masks);

// The options with every fraction (sparsity and each per-layer one) mapped through f: the
// schedules' steps toward the target (iterative rounds, the gradual ramp).
MaskOptions scaled_sparsity(const MaskOptions& options, const std::function<double(double)>& f);

}  // namespace leancnn::compress::prune
