// Learning-rate schedules.
#include "leancnn/train/schedule.h"

#include <cmath>

#include "leancnn/core/error.h"

namespace leancnn::train {

void validate(const ScheduleOptions& o) {
  if (o.kind != "constant" && o.kind != "step" && o.kind != "multistep" && o.kind != "cosine")
    fail(ErrorKind::usage, "unknown schedule '", o.kind, "' (constant, step, multistep or cosine)");
  if (o.warmup_steps < 0) fail(ErrorKind::usage, "warm-up steps must be >= 0");
  if (o.kind == "step" && o.step_size < 1) fail(ErrorKind::usage, "step schedule needs step_size >= 1");
  if (o.kind == "cosine" && o.total_steps < 1) fail(ErrorKind::usage, "cosine schedule needs total steps >= 1");
}

float lr_at(const ScheduleOptions& o, int64_t s) {
  if (s < o.warmup_steps) return o.base_lr * static_cast<float>(s + 1) / static_cast<float>(o.warmup_steps);
  if (o.kind == "step") return o.base_lr * std::pow(o.gamma, static_cast<float>(s / o.step_size));
  if (o.kind == "multistep") {
    int passed = 0;
    for (int64_t m : o.milestones) passed += s >= m;
    return o.base_lr * std::pow(o.gamma, static_cast<float>(passed));
  }
  if (o.kind == "cosine") {
    const int64_t span = std::max<int64_t>(1, o.total_steps - o.warmup_steps);
    const double t = std::min(1.0, static_cast<double>(s - o.warmup_steps) / static_cast<double>(span));
    return o.min_lr + static_cast<float>(0.5 * (o.base_lr - o.min_lr) * (1.0 + std::cos(M_PI * t)));
  }
  return o.base_lr;
}

}  // namespace leancnn::train
