// Systolic timing against SCALE-Sim v2's golden runs: AlexNet CONV1 on a 32x32 weight-stationary
// array (test/golden_trace/COMPUTE_REPORT.csv), the 256x128x256 GEMM in ws, is and os
// (test/general/golden_trace_user_{ws,is,os}/COMPUTE_REPORT.csv), AlexNet CONV2 from SCALE-Sim's
// per-fold formulas; and the regression that --dataflow reaches the timing.
#include <gtest/gtest.h>

#include "accel_test_util.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/accel/dataflow.h"
#include "leancnn/accel/network.h"
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

// SCALE-Sim's topologies/conv_nets/alexnet.csv row "Conv2, 27, 27, 5, 5, 96, 256, 1": ofmap
// ceil((27 - 5 + 1) / 1) = 23 (topology_utils.py), window 5·5·96 = 2400, 256 filters.
Problem alexnet_conv2() {
  Problem p;
  p.name = "Conv2";
  p.dim(Dim::M) = 256;
  p.dim(Dim::C) = 96;
  p.dim(Dim::P) = 23;
  p.dim(Dim::Q) = 23;
  p.dim(Dim::R) = 5;
  p.dim(Dim::S) = 5;
  return p;
}

// SCALE-Sim's topologies/GEMM_mnk/test_mnk_input.csv "Test 1, 256, 128, 256" (M, N, K), which
// topology_utils.load_arrays_gemm turns into ifmap M x K, filter 1 x K, N filters: 256 output
// pixels, window K = 256, 128 filters.
Problem scale_sim_test_gemm() {
  Problem p;
  p.name = "Test 1";
  p.dim(Dim::P) = 256;
  p.dim(Dim::C) = 256;
  p.dim(Dim::M) = 128;
  return p;
}

TEST(Systolic, ScaleSimGoldenGemmAllDataflows) {
  // test/general/golden_trace_user_{ws,is,os}/COMPUTE_REPORT.csv, configs/scale.cfg (32x32):
  // their "Total Cycles" include memory stalls (InterfaceBandwidth: USER); compute cycles are
  // Total - Stall: ws 52447 - 41248 = 11199, is 19984 - 5777 = 14207, os 52447 - 42272 = 10175.
  // Mapping efficiency 100 % in all three; "Compute Util %" as reported.
  const Problem p = scale_sim_test_gemm();
  const SystolicTiming ws = systolic_timing(p, 32, 32, Dataflow::ws);
  const SystolicTiming is = systolic_timing(p, 32, 32, Dataflow::is);
  const SystolicTiming os = systolic_timing(p, 32, 32, Dataflow::os);
  EXPECT_EQ(ws.cycles, 52447 - 41248);
  EXPECT_EQ(is.cycles, 19984 - 5777);
  EXPECT_EQ(os.cycles, 52447 - 42272);
  EXPECT_NEAR(ws.compute_utilization * 100, 67.19160104986877, 1e-9);
  EXPECT_NEAR(is.compute_utilization * 100, 50.59288537549407, 1e-9);
  EXPECT_NEAR(os.compute_utilization * 100, 80.50314465408806, 1e-9);
  for (const SystolicTiming* t : {&ws, &is, &os}) EXPECT_DOUBLE_EQ(t->mapping_efficiency, 1.0);
  // Overall util is MACs / (total cycles x PEs): is 40.99279423538831 % of 19984 cycles.
  EXPECT_NEAR(is.overall_utilization * static_cast<double>(is.cycles), 0.4099279423538831 * 19984, 1e-6);
}

TEST(Systolic, ScaleSimAlexNetConv2ByDataflow) {
  // SCALE-Sim v2's compute models (scalesim/compute/systolic_compute_{ws,is,os}.py): a fold's
  // demand matrix has 2·rows + cols + T - 2 rows for ws and is (rows of operand fill, T
  // streamed, rows + cols - 2 of skew and drain) and T + rows + cols - 2 for os; total =
  // folds · per_fold - 1. On 32x32 with Sr/Sc/T from topology_utils.calc_spatio_temporal_params:
  //   ws: Sr 2400, Sc 256, T 529 -> 75·8 = 600 folds of 623 -> 373,799
  //   is: Sr 2400, Sc 529, T 256 -> 75·17 = 1275 folds of 350 -> 446,249
  //   os: Sr 529, Sc 256, T 2400 -> 17·8 = 136 folds of 2462 -> 334,831
  const Problem p = alexnet_conv2();
  EXPECT_EQ(systolic_timing(p, 32, 32, Dataflow::ws).cycles, 600 * 623 - 1);
  EXPECT_EQ(systolic_timing(p, 32, 32, Dataflow::is).cycles, 1275 * 350 - 1);
  EXPECT_EQ(systolic_timing(p, 32, 32, Dataflow::os).cycles, 136 * 2462 - 1);
}

// Regression: `leancnn accel --arch tpu-like --dataflow is|os` printed the ws cycle count,
// because the cost model timed the array with the architecture's dataflow, not the one the
// layer was mapped for.
TEST(Systolic, DataflowOverrideReachesTheTiming) {
  const Architecture a = preset("tpu-like");
  ASSERT_EQ(a.dataflow, Dataflow::ws);
  const Problem p = alexnet_conv2();
  const int64_t rows = a.levels[static_cast<size_t>(a.array_level())].fanout.y;
  const int64_t cols = a.levels[static_cast<size_t>(a.array_level())].fanout.x;
  ASSERT_EQ(rows, 32);
  ASSERT_EQ(cols, 32);
  for (Dataflow df : {Dataflow::is, Dataflow::os}) {
    SCOPED_TRACE(dataflow_name(df));
    const int64_t golden = df == Dataflow::is ? 1275 * 350 - 1 : 136 * 2462 - 1;
    // The cost model, told the dataflow.
    const Mapping m = template_mapping(p, a, Dataflow::ws);
    if (mapping_fits(m, p, a)) {
      EvalOptions eo;
      eo.dataflow = df;
      EXPECT_EQ(evaluate(p, a, m, eo).compute_cycles, golden);
    }
    // A whole network: the mapper's search and the template path.
    for (bool use_template : {false, true}) {
      NetworkOptions no;
      no.mapper.dataflow = df;
      no.template_only = use_template;
      const NetworkCost n = evaluate_network({p}, a, no);
      EXPECT_EQ(n.dataflow, df);
      EXPECT_EQ(n.layers.at(0).cost.compute_cycles, golden);
      EXPECT_GE(n.cycles, golden);
    }
  }
}

}  // namespace
}  // namespace leancnn::accel
