// The lottery schedule (prune.h; Frankle & Carbin 2019, rewinding as in Frankle et al. 2020):
// train (or take the trained model), prune by magnitude, rewind the surviving weights to an
// early epoch, retrain with the mask held; `rounds` > 1 repeats prune + rewind + retrain
// (iterative magnitude pruning), each round removing the same fraction of what remains.
//
// Where the rewind weights come from: without Spec::rewind_from the input model is the
// initialisation and this file trains it, with the trainer's own checkpoint kept at
// rewind_epoch (train::TrainOptions::stop_after, then a copy of out_dir/last). Retraining resumes
// a copy of that checkpoint whose model is the masked ticket, so it continues the original run
// at epoch rewind_epoch + 1: the same learning-rate schedule position and optimizer state as the
// dense run had there, only the weights pruned. Rewinding to epoch 0 starts a fresh run from the
// masked initialisation with the same options. With rewind_from, the caller vouches for the
// early weights; each round retrains them for finetune.epochs from a fresh optimizer.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/checkpoint.h"
#include "prune_internal.h"

namespace leancnn::compress::prune::detail {

namespace fs = std::filesystem;

namespace {
// The dense training of the initialisation, keeping the checkpoint at epoch k (k > 0) in
// `rewind_dir`. Returns false when interrupted.
bool train_dense(Report& rep, const train::Dataset& train_set, const train::Dataset& test_set, const Spec& spec,
                 const std::string& rewind_dir) {
  train::TrainOptions to = spec.finetune;
  to.out_dir = spec.finetune.out_dir + "/dense";
  to.resume = false;
  fs::remove_all(to.out_dir);
  train::TrainResult dense;
  if (spec.rewind_epoch > 0) {
    to.stop_after = spec.rewind_epoch;
    dense = train::train_model(rep.graph, ops::op_table(), train_set, test_set, to);
    if (dense.interrupted) return false;
    fs::remove_all(rewind_dir);
    fs::copy(to.out_dir + "/last", rewind_dir, fs::copy_options::recursive);
    to.stop_after = 0;
    to.resume = true;
  }
  train::TrainResult rest = train::train_model(rep.graph, ops::op_table(), train_set, test_set, to);
  dense.epochs.insert(dense.epochs.end(), rest.epochs.begin(), rest.epochs.end());
  dense.best_acc = rest.best_acc;
  dense.best_epoch = rest.best_epoch;
  dense.interrupted = rest.interrupted;
  rep.finetune.push_back(dense);
  return !dense.interrupted;
}
}  // namespace

std::vector<LayerMask> run_lottery(Report& rep, const std::vector<Target>& ts, const train::Dataset& train_set,
                                   const train::Dataset& test_set, const Spec& spec) {
  const std::string root = spec.finetune.out_dir;
  const bool self_trained = !spec.rewind_from;
  const std::string rewind_dir = root + "/rewind";
  ir::Graph rewind;  // the weights every ticket starts from
  if (self_trained) {
    rewind = ir::with_own_initializers(rep.graph);  // the initialisation (epoch 0)
    log_line(spec, "lottery: training the dense model (" + std::to_string(spec.finetune.epochs) + " epochs, rewind point epoch " +
                       std::to_string(spec.rewind_epoch) + ")");
    if (!train_dense(rep, train_set, test_set, spec, rewind_dir)) {
      rep.interrupted = true;
      return {};
    }
    if (spec.rewind_epoch > 0) rewind = train::load_checkpoint_model(rewind_dir, ops::op_table());
  } else {
    rewind = ir::with_own_initializers(*spec.rewind_from);
  }
  const MaskOptions target = resolve_ratios(rep.graph, ts, train_set, spec, rep);
  std::vector<LayerMask> masks;
  const int rounds = spec.rounds;
  for (int r = 1; r <= rounds; ++r) {
    MaskOptions mo = target;
    if (rounds > 1 && mo.pattern == Pattern::unstructured)
      mo = scaled_sparsity(target, [&](double s) { return 1.0 - std::pow(1.0 - s, static_cast<double>(r) / rounds); });
    masks = magnitude_masks(views_of(rep.graph, ts), mo);  // from the trained (earlier rounds: retrained) weights
    ir::Graph ticket = ir::with_own_initializers(rewind);
    apply_masks(views_of(ticket, ts), masks);
    char line[200];
    std::snprintf(line, sizeof line, "lottery: round %d/%d, sparsity %.3f, rewound to epoch %lld, retraining", r, rounds,
                  mask_sparsity(masks), static_cast<long long>(spec.rewind_epoch));
    log_line(spec, line);
    train::TrainOptions to = spec.finetune;
    to.out_dir = root + "/round" + std::to_string(r);
    to.resume = false;
    fs::remove_all(to.out_dir);
    if (self_trained && spec.rewind_epoch > 0) {
      // The trainer's state at the rewind epoch with the ticket as its model: the retraining
      // continues the original run from there.
      fs::create_directories(to.out_dir);
      fs::copy(rewind_dir, to.out_dir + "/last", fs::copy_options::recursive);
      train::save_checkpoint_model(to.out_dir + "/last", ticket);
      to.resume = true;
    }
    rep.graph = std::move(ticket);
    rep.finetune.push_back(finetune(rep.graph, ts, masks, train_set, test_set, spec, to));
    if (rep.finetune.back().interrupted) {
      rep.interrupted = true;
      break;
    }
  }
  return masks;
}

}  // namespace leancnn::compress::prune::detail
