// The trainer: epochs of forward / backward / optimizer steps over a DataLoader, evaluation
// on the test set after each epoch, a progress bar on a terminal (plain lines otherwise),
// metrics as JSON lines, the best model kept, an atomic checkpoint every epoch, resume,
// Ctrl-C (checkpoint, then a clean stop) and NaN/Inf loss detection (stop; the last good
// checkpoint stays).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/data_loader.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/optimizer.h"
#include "leancnn/train/schedule.h"

namespace leancnn::train {

struct EpochMetrics;

struct TrainOptions {
  int64_t epochs = 10;
  int64_t batch = 128;
  OptimizerOptions optimizer = {};
  ScheduleOptions schedule = {};  // base_lr and total_steps are filled in from optimizer/epochs
  float clip_grad_norm = 0.f;     // 0: off
  float label_smoothing = 0.f;
  Augment augment = {};
  uint64_t seed = 0;
  std::string out_dir;            // checkpoints (out_dir/last), best model (out_dir/best.onnx), metrics
  bool resume = false;            // continue from out_dir/last
  int64_t stop_after = 0;         // stop (checkpointed) after this many epochs of the schedule; 0: off
  int progress = -1;              // 1: bar, 0: plain lines, -1: bar when stderr is a terminal
  bool use_kernels = true;
  // Early stopping: called after each epoch's evaluation (and checkpoint); true ends training
  // there (TrainResult::stopped_early). Null: every epoch runs.
  std::function<bool(const EpochMetrics&)> stop_when;
};

// Hooks the compression passes hang on training (DESIGN.md §2: "a pass ... plus, where it
// trains, a hook"). Regularisers run after backward: each adds its term's gradient to the
// parameters' gradients and returns the term's value (added to the reported loss), e.g. L1 on
// BN scales for network slimming. after_step runs after every optimizer step, e.g. re-applying
// pruning masks. Straight-through estimators are ops (their backward), not hooks.
using ParamHook = std::function<void(std::vector<runtime::Param>&)>;
using Regularizer = std::function<double(std::vector<runtime::Param>&)>;

struct EpochMetrics;

// The training graph as a loss hook sees it: the model copy with the loss added (the model's
// initializers share storage, so training it trains the model), the student's input, logits and
// labels, and the loss so far (a scalar). Any model value (an intermediate feature map) is found
// by name with graph.find_value.
struct LossGraphView {
  ir::Graph& graph;
  const ir::OpTable& ops;
  ir::ValueId input = ir::kNone, logits = ir::kNone, labels = ir::kNone;
  ir::ValueId loss = ir::kNone;  // the scalar loss so far (cross-entropy, then earlier hooks' terms)
};

// A loss term added to training (distillation, auxiliary heads, activation regularisers).
// extend() runs once before training: it may add graph inputs (teacher values, fed per batch by
// feed()), nodes and trainable initializers (a FitNets regressor, an auxiliary head: trained with
// the model by the same optimizer, never saved with it), and returns the new total loss, e.g.
// (1 - a) * view.loss + a * KL(student, teacher). The executor's backward then differentiates the
// whole thing, so a hook needs no hand-written gradient. feed() runs on every training batch
// before the forward and adds a tensor for each input extend() declared. on_epoch_end() runs
// after each epoch's evaluation with the model and whether it became the best so far (a
// self-distillation teacher refreshes itself there). Hooks run in list order.
// The extra parameters are not part of the checkpoint's model: on --resume they start from their
// initial values again (their optimizer state, which follows all parameters, is restored).
struct LossHook {
  std::function<ir::ValueId(LossGraphView&)> extend;
  std::function<void(const Batch&, std::map<std::string, Tensor>& feeds)> feed;  // may be empty
  std::function<void(const EpochMetrics&, const ir::Graph& model, bool best)> on_epoch_end;  // may be empty
};

struct TrainHooks {
  std::vector<Regularizer> regularizers;
  std::vector<ParamHook> after_step;
  std::vector<LossHook> losses;
};

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_acc = 0;
  double test_loss = 0, test_acc = 0;
  double lr = 0;
  double images_per_s = 0;
  double seconds = 0;
  std::string json() const;  // one JSON line, snake_case keys
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;  // those run by this call
  double best_acc = 0;
  int64_t best_epoch = 0;
  bool interrupted = false;  // stopped by Ctrl-C after checkpointing
  bool stopped_early = false;  // TrainOptions::stop_when said so
  // From epoch 2 on, training and test accuracy at chance (at most 1.2 / classes) with a finite
  // loss (a non-finite one stops training with an error): the run has collapsed (dead ReLUs, a
  // loss that blew up and settled). A warning naming the learning rate is printed once; training
  // goes on (the schedule may still recover).
  bool collapsed = false;
};

struct EvalResult {
  double loss = 0;
  double accuracy = 0;
  int64_t count = 0;
  double images_per_s = 0;
};

// Test-set accuracy and mean cross-entropy of a model graph (input "input", output logits).
EvalResult evaluate(ir::Graph& model, const ir::OpTable& ops, const Dataset& data, const LoaderOptions& loader,
                    bool use_kernels = true);

// Trains `model` in place. Models take pixels scaled to [0, 1] (no other normalisation, so a
// model file is self-contained). Throws Error(runtime) on NaN/Inf loss.
TrainResult train_model(ir::Graph& model, const ir::OpTable& ops, const Dataset& train_set, const Dataset& test_set,
                        const TrainOptions& options, const TrainHooks& hooks = {});

}  // namespace leancnn::train
