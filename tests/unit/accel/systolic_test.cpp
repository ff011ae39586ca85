// Systolic timing against SCALE-Sim v2's golden run (test/golden_trace/COMPUTE_REPORT.csv):
// AlexNet CONV1 on a 32x32 weight-stationary array.
#include <gtest/gtest.h>

#include "accel_test_util.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/accel/dataflow.h"
#include "leancnn/accel/systolic.h"

namespace leancnn::accel {
namespace {
using namespace test_util;

// 227x227x3 input, 96 filters 11x11, stride 4: SCALE-Sim's output (227 - 11 + 4) / 4 = 55.
Problem alexnet_conv1() {
  Problem p;
  p.name = "Conv1";
  p.dim(Dim::M) = 96;
  p.dim(Dim::C) = 3;
  p.dim(Dim::P) = 55;
  p.dim(Dim::Q) = 55;
  p.dim(Dim::R) = 11;
  p.dim(Dim::S) = 11;
  p.stride_h = p.stride_w = 4;
  return p;
}

TEST(Systolic, ScaleSimGoldenAlexNetConv1) {
  const SystolicTiming t = systolic_timing(alexnet_conv1(), 32, 32, Dataflow::ws);
  EXPECT_EQ(t.cycles, 112283);
  EXPECT_EQ(t.folds, 12 * 3);
  EXPECT_NEAR(t.overall_utilization * 100, 91.68309650614964, 1e-9);
  EXPECT_NEAR(t.mapping_efficiency * 100, 94.53125, 1e-12);
  EXPECT_NEAR(t.compute_utilization * 100, 90.78000992063485, 1e-9);
}

TEST(Systolic, TpuLikeArrayReportsScaleSimCycles) {
  // The same layer through the full cost model on a 32x32 systolic preset with unbounded
  // memory bandwidth: cycles and utilisation are SCALE-Sim's.
  Architecture a = preset("tpu-like");
  for (StorageLevel& l : a.levels) l.read_bandwidth = l.write_bandwidth = 0;
  const Problem p = alexnet_conv1();
  const Mapping m = template_mapping(p, a, Dataflow::ws);
  const Cost c = evaluate(p, a, m);
  EXPECT_EQ(c.cycles, 112283);
  EXPECT_NEAR(c.utilization * 100, 91.68309650614964, 1e-9);
  EXPECT_NEAR(c.mapping_efficiency * 100, 94.53125, 1e-12);
  EXPECT_EQ(c.macs, 3025LL * 363 * 96);
}

TEST(Systolic, FoldsAndSkewByHand) {
  // One fold: a 4x4 array, window 4 (C=4), 4 filters, 10 output pixels.
  Problem p;
  p.dim(Dim::M) = 4;
  p.dim(Dim::C) = 4;
  p.dim(Dim::P) = 10;
  EXPECT_EQ(systolic_timing(p, 4, 4, Dataflow::ws).cycles, 2 * 4 + 4 + 10 - 2 - 1);
  // os: 10 pixels over 4 rows = 3 row folds, T = window = 4.
  EXPECT_EQ(systolic_timing(p, 4, 4, Dataflow::os).cycles, 3 * (4 + 4 + 4 - 2) - 1);
  // Five filters need a second column fold.
  p.dim(Dim::M) = 5;
  EXPECT_EQ(systolic_timing(p, 4, 4, Dataflow::ws).folds, 2);
  EXPECT_EQ(systolic_timing(p, 4, 4, Dataflow::ws).cycles, 2 * (2 * 4 + 4 + 10 - 2) - 1);
  EXPECT_NEAR(systolic_timing(p, 4, 4, Dataflow::ws).mapping_efficiency, (16.0 + 4.0) / 32.0, 1e-12);
}

}  // namespace
}  // namespace leancnn::accel
