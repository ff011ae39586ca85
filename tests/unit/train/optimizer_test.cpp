// Optimizers against hand-computed updates (PyTorch's formulas), schedules, clipping.
#include <gtest/gtest.h>

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/train/optimizer.h"
#include "leancnn/train/schedule.h"

namespace leancnn::train {
namespace {

std::vector<runtime::Param> one_param(float w, float g, int rank = 2) {
  Shape s = rank == 2 ? Shape{1, 1} : Shape{1};
  runtime::Param p{"w", 0, Tensor::full(s, w), Tensor::full(s, g)};
  return {p};
}

TEST(Sgd, MomentumAndNesterovMatchTorch) {
  auto ps = one_param(1.f, 0.5f);
  auto opt = make_optimizer(ps, {.kind = "sgd", .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f});
  opt->step();  // d = 0.5 + 0.1*1 = 0.6; v = 0.6; w = 1 - 0.06
  EXPECT_FLOAT_EQ(ps[0].value.at(0), 0.94f);
  opt->step();  // d = 0.5 + 0.094 = 0.594; v = 0.54 + 0.594 = 1.134; w = 0.94 - 0.1134
  EXPECT_NEAR(ps[0].value.at(0), 0.8266f, 1e-6);

  auto pn = one_param(1.f, 0.5f);
  auto nes = make_optimizer(pn, {.kind = "sgd", .lr = 0.1f, .momentum = 0.9f, .nesterov = true});
  nes->step();  // v = 0.5; w = 1 - 0.1*(0.5 + 0.45)
  EXPECT_FLOAT_EQ(pn[0].value.at(0), 0.905f);
}

TEST(Sgd, CanExemptRankOneParamsFromDecay) {
  auto ps = one_param(1.f, 0.f, 1);
  auto opt = make_optimizer(ps, {.kind = "sgd", .lr = 0.1f, .momentum = 0.f, .weight_decay = 0.5f, .decay_1d_params = false});
  opt->step();
  EXPECT_EQ(ps[0].value.at(0), 1.f);
}

TEST(Adam, FirstStepMovesByLr) {
  // With bias correction the first Adam step is lr * g/|g| (eps aside).
  auto ps = one_param(1.f, 0.3f);
  auto opt = make_optimizer(ps, {.kind = "adam", .lr = 0.01f});
  opt->step();
  EXPECT_NEAR(ps[0].value.at(0), 0.99f, 1e-6);
  EXPECT_EQ(opt->state().size(), 2u);
}

TEST(AdamW, DecaysWeightsDirectly) {
  auto ps = one_param(2.f, 0.f);
  auto opt = make_optimizer(ps, {.kind = "adamw", .lr = 0.1f, .weight_decay = 0.5f});
  opt->step();  // w -= 0.1*0.5*2 ; zero gradient moves nothing else
  EXPECT_NEAR(ps[0].value.at(0), 1.9f, 1e-6);
}

TEST(Optimizer, RejectsBadSettings) {
  auto ps = one_param(1.f, 1.f);
  EXPECT_THROW(make_optimizer(ps, {.kind = "rmsprop"}), Error);
  EXPECT_THROW(make_optimizer(ps, {.kind = "sgd", .lr = 0.f}), Error);
  EXPECT_THROW(make_optimizer(ps, {.kind = "sgd", .momentum = 0.f, .nesterov = true}), Error);
}

TEST(ClipGradNorm, ScalesToTheLimit) {
  auto ps = one_param(0.f, 0.f);
  ps.push_back({"v", 1, Tensor::zeros({2}), Tensor::from_floats({2}, {3.f, 4.f})});
  EXPECT_NEAR(clip_grad_norm(ps, 1.f), 5.f, 1e-6);
  EXPECT_NEAR(ps[1].grad.at(0), 0.6f, 1e-5);
  EXPECT_NEAR(ps[1].grad.at(1), 0.8f, 1e-5);
}

TEST(Schedule, Shapes) {
  ScheduleOptions cos{.kind = "cosine", .base_lr = 1.f, .total_steps = 100};
  EXPECT_FLOAT_EQ(lr_at(cos, 0), 1.f);
  EXPECT_NEAR(lr_at(cos, 50), 0.5f, 1e-6);
  EXPECT_NEAR(lr_at(cos, 100), 0.f, 1e-6);
  ScheduleOptions warm{.kind = "constant", .base_lr = 1.f, .warmup_steps = 4};
  EXPECT_FLOAT_EQ(lr_at(warm, 0), 0.25f);
  EXPECT_FLOAT_EQ(lr_at(warm, 3), 1.f);
  EXPECT_FLOAT_EQ(lr_at(warm, 10), 1.f);
  ScheduleOptions ms{.kind = "multistep", .base_lr = 1.f, .milestones = {10, 20}, .gamma = 0.1f};
  EXPECT_FLOAT_EQ(lr_at(ms, 9), 1.f);
  EXPECT_FLOAT_EQ(lr_at(ms, 10), 0.1f);
  EXPECT_NEAR(lr_at(ms, 25), 0.01f, 1e-7);
  ScheduleOptions st{.kind = "step", .base_lr = 1.f, .step_size = 5, .gamma = 0.5f};
  EXPECT_FLOAT_EQ(lr_at(st, 11), 0.25f);
  EXPECT_THROW(validate({.kind = "linear"}), Error);
}

}  // namespace
}  // namespace leancnn::train
