// The train keys' translation (private to the pipeline): shared by the train, finetune and qat
// steps.
#pragma once
#include "leancnn/core/json_native.h"
#include "leancnn/pipeline/step.h"
#include "leancnn/train/trainer.h"

namespace leancnn::pipeline {

// train::TrainOptions from a step's train keys (checkpoints in ctx.work_dir, resumable).
train::TrainOptions train_options(const nlohmann::json& settings, const StepContext& ctx, int64_t train_size);

// The finetune step's defaults (the recipe's train settings with 1 epoch and a tenth of the lr),
// also the qat step's.
Json finetune_defaults(const Recipe& r);

// The training figures of a step's diagnostics: epochs, final and best test accuracy, img/s.
nlohmann::json epochs_json(const train::TrainResult& r);

}  // namespace leancnn::pipeline
