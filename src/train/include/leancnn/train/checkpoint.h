// Training checkpoints: a folder holding the model as ONNX (model.onnx), the optimizer state
// (optimizer.bin) and the trainer's progress (state.json). Every file is written atomically
// and state.json last, so a checkpoint is either complete or the previous one is intact.
#pragma once
#include <string>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"
#include "leancnn/train/optimizer.h"

namespace leancnn::train {

struct CheckpointState {
  int64_t epoch = 0;        // epochs completed
  double best_acc = -1.0;   // best test accuracy so far
  int64_t best_epoch = -1;
  std::string metrics_jsonl;  // every epoch's metrics line so far
};

// Writes dir/model.onnx, dir/optimizer.bin, dir/state.json (creating dir).
// Writes dir/model.onnx, the model of a checkpoint, dense: the optimizer state follows the
// parameters in initializer order, which sparse-stored weights (folded back into initializers
// on load) would not keep. Anything that replaces a checkpoint's model uses this.
void save_checkpoint_model(const std::string& dir, const ir::Graph& model);
void save_checkpoint(const std::string& dir, const ir::Graph& model, const Optimizer& opt, const CheckpointState& st);

// True when dir holds a complete checkpoint.
bool has_checkpoint(const std::string& dir);

// Loads the model graph; throws Error(bad_input) naming the file on any problem.
ir::Graph load_checkpoint_model(const std::string& dir, const ir::OpTable& ops);
// Restores optimizer state (shapes must match its parameters) and returns the progress.
CheckpointState load_checkpoint_state(const std::string& dir, Optimizer& opt);

}  // namespace leancnn::train
