// Learning-rate schedules, evaluated per step: step, multi-step, cosine, constant, each with
// an optional linear warm-up.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace leancnn::train {

struct ScheduleOptions {
  std::string kind = "cosine";    // constant | step | multistep | cosine
  float base_lr = 0.1f;
  int64_t total_steps = 1;        // for cosine
  int64_t warmup_steps = 0;       // linear from base_lr/warmup to base_lr
  int64_t step_size = 1;          // for step: decay every step_size steps
  std::vector<int64_t> milestones = {};  // for multistep: steps at which to decay
  float gamma = 0.1f;             // decay factor for step / multistep
  float min_lr = 0.f;             // cosine floor
};

// Throws Error(usage) on an unknown kind or bad settings.
void validate(const ScheduleOptions& o);
// The learning rate at step s (0-based).
float lr_at(const ScheduleOptions& o, int64_t s);

}  // namespace leancnn::train
