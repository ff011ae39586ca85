// SCALE-Sim layer tables entered as they are: its ceil output-size convention, the CSV reader,
// and its golden AlexNet Conv1 run from the table it was made with.
#include <gtest/gtest.h>

#include "leancnn/accel/scale_sim_topology.h"
#include "leancnn/accel/systolic.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {
namespace {

// SCALE-Sim v2's topologies/conv_nets/alexnet_part.csv, verbatim: the table its functional test
// (test/scripts/function_test.sh) runs on a 32x32 ws array for test/golden_trace/COMPUTE_REPORT.csv
// (Total Cycles 112283, Overall Util 91.68309650614964 %, Mapping Efficiency 94.53125 %).
const char* const kAlexNetPart =
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    "Conv1,  224, 224,    11, 11,    3,      96,     4,";

TEST(ScaleSimTopology, OutputSizeConventions) {
  // topology_utils.py: ofmap = ceil((ifmap - filt + stride) / stride).
  EXPECT_EQ(output_extent(224, 11, 4, OutputSize::ceil), 55);   // ceil(217 / 4)
  EXPECT_EQ(output_extent(224, 11, 4, OutputSize::floor), 54);  // 213 / 4 + 1
  EXPECT_EQ(output_extent(227, 11, 4, OutputSize::floor), 55);  // the stride divides 216: both agree
  EXPECT_EQ(output_extent(227, 11, 4, OutputSize::ceil), 55);
  EXPECT_EQ(output_extent(27, 5, 1, OutputSize::ceil), 23);
  EXPECT_EQ(output_extent(27, 5, 1, OutputSize::floor), 23);
  EXPECT_EQ(parse_output_size("ceil"), OutputSize::ceil);
  EXPECT_THROW(parse_output_size("round"), Error);
}

TEST(ScaleSimTopology, GoldenAlexNetConv1FromItsOwnTable) {
  const std::vector<Problem> ceil = parse_scale_sim_topology(kAlexNetPart, "alexnet_part.csv", OutputSize::ceil);
  ASSERT_EQ(ceil.size(), 1u);
  const Problem& p = ceil[0];
  EXPECT_EQ(p.name, "Conv1");
  EXPECT_EQ(p.dim(Dim::P), 55);
  EXPECT_EQ(p.dim(Dim::Q), 55);
  EXPECT_EQ(p.dim(Dim::C), 3);
  EXPECT_EQ(p.dim(Dim::M), 96);
  EXPECT_EQ(p.dim(Dim::R), 11);
  EXPECT_EQ(p.stride_h, 4);
  const SystolicTiming t = systolic_timing(p, 32, 32, Dataflow::ws);
  EXPECT_EQ(t.cycles, 112283);
  EXPECT_NEAR(t.overall_utilization * 100, 91.68309650614964, 1e-9);
  EXPECT_NEAR(t.mapping_efficiency * 100, 94.53125, 1e-12);
  // ONNX's floor convention makes the same row a 54x54 layer: not SCALE-Sim's figure.
  const Problem f = parse_scale_sim_topology(kAlexNetPart, "alexnet_part.csv", OutputSize::floor).at(0);
  EXPECT_EQ(f.dim(Dim::P), 54);
  EXPECT_NE(systolic_timing(f, 32, 32, Dataflow::ws).cycles, 112283);
}

TEST(ScaleSimTopology, NineColumnsDepthwiseAndErrors) {
  const std::vector<Problem> l = parse_scale_sim_topology(
      "name,h,w,fh,fw,c,m,sh,sw\nconv,10,12,3,3,8,16,1,2\nConv_DP1,8,8,3,3,32,1,1,\n", "t.csv", OutputSize::ceil);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].dim(Dim::P), 8);
  EXPECT_EQ(l[0].dim(Dim::Q), 6);  // ceil((12 - 3 + 2) / 2); floor: (12 - 3) / 2 + 1 = 5
  EXPECT_EQ(output_extent(12, 3, 2, OutputSize::floor), 5);
  EXPECT_EQ(l[0].stride_w, 2);
  EXPECT_EQ(l[1].dim(Dim::G), 32);  // depthwise: a group per channel
  EXPECT_EQ(l[1].dim(Dim::C), 1);
  try {
    parse_scale_sim_topology("header\nc1,8,8,3,x,1,1,1,\n", "bad.csv", OutputSize::ceil);
    ADD_FAILURE() << "parsed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    const std::string m = e.what();
    EXPECT_NE(m.find("bad.csv"), std::string::npos) << m;
    EXPECT_NE(m.find("line 2"), std::string::npos) << m;
    EXPECT_NE(m.find("Filter Width"), std::string::npos) << m;
  }
  EXPECT_THROW(parse_scale_sim_topology("header\nc1,4,4,5,5,1,1,1,\n", "big.csv", OutputSize::ceil), Error);
}

}  // namespace
}  // namespace leancnn::accel
