// One-shot weight-sharing search over the mobile space (docs/nas.md §2): a once-for-all style
// supernet (Cai et al., ICLR 2020) trained by single-path sampling (Guo et al., SPOS, ECCV 2020),
// then sub-nets scored with inherited weights instead of being trained.
//
// The supernet holds, per layer name, the largest tensor the space builds under that name (every
// decision at its largest option). A sub-net takes slices of it: the leading output and input
// channels, and the centre k x k of a larger kernel (7x7 -> 5x5 -> 3x3), so every sub-net shares
// weights with every other. Training: each batch builds one uniformly sampled sub-net, copies its
// slices in, runs forward and backward, and steps SGD (momentum, per-element state in the
// supernet) on those slices only. Scoring a sub-net: its slices, BatchNorm statistics re-estimated
// on training images (the supernet's running statistics belong to no sub-net), accuracy on the
// validation images, and the evaluator's latency and accelerator figures.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "leancnn/core/json.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/graph.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/search/evaluator.h"
#include "leancnn/search/objective.h"
#include "leancnn/search/strategy.h"

namespace leancnn::search {

struct OneShotOptions {
  int64_t epochs = 3;              // supernet epochs over the training images, one sub-net per batch
  int64_t candidates = 100;        // sub-nets scored through the supernet (regularized evolution)
  int64_t calibration_images = 500;  // training images that re-estimate a sub-net's BN statistics
  // With caps (latency, energy, size) the supernet trains only sub-nets that meet them: a pool
  // of up to this many distinct ones, measured before any training: the smallest sub-net first,
  // then uniform draws each shrunk (shrink_step) until it meets the caps, so the pool spreads
  // along the caps' frontier; at most 50 measurements per member, 1000 while none is found.
  // 0 (the default, SPOS's choice): uniform over the whole space, caps or not.
  int64_t pool = 0;
  // 0: single path (one sampled sub-net per batch, SPOS). N >= 1: the sandwich rule with
  // in-place distillation (Yu & Huang, ICCV 2019; BigNAS, Yu et al., ECCV 2020): each batch
  // trains the largest sub-net (of the pool when there is one, by MACs) on the labels, then the
  // smallest and N sampled ones on the largest's predictions (KL at T = 1), and takes one SGD
  // step on their summed gradients.
  int64_t sandwich = 0;
  Json to_json() const;
};

// The shared weights: the largest tensor per initializer name, with SGD momentum per element.
class SharedWeights {
 public:
  // From the space's largest network (its every initializer).
  explicit SharedWeights(const ir::Graph& largest);
  // Copies into each initializer of g its slice (leading channels, centre taps); Error(internal)
  // naming the initializer when the supernet has no tensor of that name or it is smaller.
  void load(ir::Graph& g) const;
  // Adds the params' gradients into the supernet's gradient, each on its slice (several
  // sub-nets' gradients summed: the sandwich rule).
  void accumulate(const std::vector<runtime::Param>& params);
  // One SGD step (momentum, weight decay on tensors of rank >= 2) on every element some
  // accumulated gradient covered (the others, their momentum included, untouched); clears the
  // gradient.
  void step(float lr, float momentum, float weight_decay);
  // The stored tensor of a name (tests); Error(internal) when absent.
  const Tensor& tensor(const std::string& name) const;

 private:
  struct Entry {
    Tensor value, velocity;
    Tensor grad;                   // accumulated since the last step (allocated on first use)
    std::vector<uint8_t> touched;  // per element: covered by an accumulated gradient
    // The smallest slice holding every accumulated one (slices nest: leading channels, centre
    // taps), so a step visits no more than the sub-nets trained; empty: nothing accumulated.
    Shape bound;
  };
  std::map<std::string, Entry> entries_;
};

struct OneShotCandidate {
  EvalResult result;  // val_acc through the supernet; latency, accelerator, size as evaluated
  double score = 0;
};

struct OneShotResult {
  std::vector<OneShotCandidate> candidates;  // in scoring order
  std::vector<double> epoch_loss, epoch_acc;  // the supernet's training, per epoch
  int64_t pool_size = 0, pool_draws = 0;      // the capped pool: members, draws measured (0: uniform)
  double pool_seconds = 0;
  double train_seconds = 0, score_seconds = 0;
  Json to_json(const SearchSpace& space) const;
};

// Error(usage) for options out of range, or a space other than "mobile".
void check(const OneShotOptions& o, const std::string& space);

// The largest (smallest) architecture of a space: every decision at its largest (smallest)
// numeric option.
Architecture largest_architecture(const SearchSpace& space);
Architecture smallest_architecture(const SearchSpace& space);

// One step toward the smallest architecture: a uniformly chosen decision of the canonical `a`
// that has a smaller numeric option moves to the next smaller one (a stays canonical); false,
// and `a` canonical but otherwise unchanged, when every live decision is at its smallest.
bool shrink_step(const SearchSpace& space, Architecture& a, Rng& rng);

// Trains the supernet on `data.train`, then lets `strategy` propose `candidates` sub-nets, each
// scored by `objective` from its supernet accuracy on `data.val` and `evaluator.measure`.
OneShotResult run_oneshot(const SearchSpace& space, const EvalSettings& eval, const EvalData& data,
                          const OneShotOptions& o, Strategy& strategy, const Objective& objective, Evaluator& evaluator,
                          const std::function<void(const std::string&)>& log = {});

}  // namespace leancnn::search
