// The train and finetune steps: the trainer (train::train_model) with the recipe's settings,
// checkpointing into the step's work folder so that an interrupted run resumes.
#include <cstdio>

#include "distill_settings.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/pipeline/step.h"
#include "leancnn/train/trainer.h"
#include "train_settings.h"

namespace leancnn::pipeline {

train::TrainOptions train_options(const nlohmann::json& s, const StepContext& ctx, int64_t train_size) {
  train::TrainOptions o;
  o.epochs = s["epochs"];
  o.batch = s["batch"];
  o.optimizer.kind = s["optimizer"];
  o.optimizer.lr = s["lr"].get<float>();
  o.optimizer.momentum = s["momentum"].get<float>();
  o.optimizer.nesterov = s["nesterov"];
  o.optimizer.weight_decay = s["weight_decay"].get<float>();
  o.optimizer.decay_1d_params = s["decay_1d"];
  o.schedule.kind = s["schedule"];
  o.schedule.warmup_steps = s["warmup_epochs"].get<int64_t>() * (train_size / std::max<int64_t>(o.batch, 1));
  o.label_smoothing = s["label_smoothing"].get<float>();
  o.clip_grad_norm = s["clip"].get<float>();
  for (const auto& a : s["augment"]) {
    if (a == "crop") o.augment.crop_pad = 2;
    else if (a == "flip") o.augment.hflip = true;
    else if (a == "erase") o.augment.erase_prob = 0.5f;
  }
  o.seed = ctx.recipe->seed;
  o.out_dir = ctx.work_dir;
  o.resume = ctx.resume;
  o.progress = ctx.progress ? -1 : 0;
  return o;
}

Json finetune_defaults(const Recipe& r) {
  Json defaults = r.train;
  nlohmann::json& d = native(defaults);
  d["epochs"] = 1;
  d["lr"] = d["lr"].get<double>() * 0.1;
  return defaults;
}

nlohmann::json epochs_json(const train::TrainResult& r) {
  nlohmann::json epochs = nlohmann::json::array();
  double ips = 0;
  for (const auto& e : r.epochs) {
    epochs.push_back(nlohmann::json::parse(e.json()));
    ips += e.images_per_s;
  }
  return {{"epochs", epochs},
          {"final_test_acc", r.epochs.empty() ? 0.0 : r.epochs.back().test_acc},
          {"best_test_acc", r.best_acc},
          {"best_epoch", r.best_epoch},
          {"images_per_s", r.epochs.empty() ? 0.0 : ips / static_cast<double>(r.epochs.size())}};
}

namespace {

StepOutput run_training(const ir::Graph& input, const Json& settings, StepContext& ctx) {
  StepOutput out{input};
  const train::Dataset& train_set = ctx.train_set();
  const train::Dataset& test_set = ctx.test_set();
  const nlohmann::json& s = native(settings);
  const train::TrainOptions o = train_options(s, ctx, train_set.size());
  train::TrainHooks hooks;
  hooks.losses = distill_hooks(s, out.model, ctx);
  const train::TrainResult r = train::train_model(out.model, ops::op_table(), train_set, test_set, o, hooks);
  if (r.interrupted)
    fail(ErrorKind::runtime, "training interrupted; its checkpoint is in '", ctx.work_dir,
         "': run the same recipe again to resume");
  nlohmann::json diagnostics = epochs_json(r);
  diagnostics["train_images"] = train_set.size();
  diagnostics["resumed"] = ctx.resume;
  if (s.contains("distill")) diagnostics["distill"] = s["distill"];
  out.diagnostics = from_native(std::move(diagnostics));
  return out;
}

std::vector<KeySpec> train_step_keys() {
  std::vector<KeySpec> keys = train_keys();
  keys.push_back(distill_section_key());
  return keys;
}

std::vector<SettingProblem> check_training(const ir::Graph&, const Json& settings, const Recipe& recipe) {
  return check_distill_key(native(settings), recipe);
}

}  // namespace

StepKind train_step_kind() {
  StepKind k;
  k.name = "train";
  k.description = "train the model (the recipe's train settings; any key may be overridden in the step)";
  k.keys = train_step_keys;
  k.defaults = [](const Recipe& r) { return r.train; };
  k.run = run_training;
  k.check = check_training;
  return k;
}

StepKind finetune_step_kind() {
  StepKind k;
  k.name = "finetune";
  k.description = "fine-tune the previous variant (defaults: the train settings with 1 epoch and a tenth of the lr)";
  k.keys = train_step_keys;
  k.defaults = finetune_defaults;
  k.run = run_training;
  k.check = check_training;
  return k;
}

}  // namespace leancnn::pipeline
