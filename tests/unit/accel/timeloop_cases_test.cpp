// The cost model against Timeloop's published tutorial outputs (timeloop-accelergy-exercises,
// exercises/timeloop/0x-model-conv1d*): exact integers for fills, reads, updates and cycles.
#include <gtest/gtest.h>

#include "accel_test_util.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {
namespace {
using namespace test_util;

const OperandAccess& at(const Cost& c, int level, Operand t) {
  return c.levels.at(static_cast<size_t>(level)).operand[static_cast<size_t>(t)];
}

TEST(TimeloopConv1d, WholeProblemInOneBuffer) {
  // 00-model-conv1d-1level: R=3, P=16 in one 64-word buffer; loops P16 (outer), R3.
  Architecture a;
  a.name = "1level";
  a.levels = {level("Buffer", 64)};
  a = finish(a);
  const Problem p = conv1d(1, 1, 3, 16);
  const Cost c = evaluate(p, a, mapping_from_yaml("mapping:\n  - level: Buffer\n    temporal: P16 R3\n", a));
  EXPECT_EQ(c.cycles, 48);
  EXPECT_EQ(c.macs, 48);
  EXPECT_EQ(at(c, 0, Operand::outputs).reads, 32);
  EXPECT_EQ(at(c, 0, Operand::outputs).updates, 48);
  EXPECT_EQ(at(c, 0, Operand::weights).reads, 48);
  EXPECT_EQ(at(c, 0, Operand::inputs).reads, 48);
  EXPECT_EQ(at(c, 0, Operand::inputs).fills, 0);
  EXPECT_EQ(c.levels[0].tile[static_cast<size_t>(Operand::inputs)], 18);
  EXPECT_DOUBLE_EQ(c.utilization, 1.0);
}

TEST(TimeloopConv1d, TwoLevelWeightStationary) {
  // 01-model-conv1d-2level, ws: MainMemory loop R3, Buffer loop P16 (reference stats).
  Architecture a;
  a.name = "2level";
  a.levels = {level("MainMemory", 0, true), level("Buffer", 64)};
  a = finish(a);
  const Problem p = conv1d(1, 1, 3, 16);
  const Cost c = evaluate(
      p, a, mapping_from_yaml("mapping:\n  - level: MainMemory\n    temporal: R3\n  - level: Buffer\n    temporal: P16\n", a));
  EXPECT_EQ(c.cycles, 48);
  EXPECT_EQ(at(c, 1, Operand::weights).fills, 3);
  EXPECT_EQ(at(c, 1, Operand::weights).reads, 48);
  EXPECT_EQ(at(c, 1, Operand::inputs).fills, 18);
  EXPECT_EQ(at(c, 1, Operand::inputs).reads, 48);
  EXPECT_EQ(at(c, 1, Operand::outputs).fills, 16);
  EXPECT_EQ(at(c, 1, Operand::outputs).reads, 32);
  EXPECT_EQ(at(c, 1, Operand::outputs).updates, 48);
  EXPECT_EQ(at(c, 0, Operand::weights).reads, 3);
  EXPECT_EQ(at(c, 0, Operand::inputs).reads, 18);
  EXPECT_EQ(at(c, 0, Operand::outputs).reads, 0);
  EXPECT_EQ(at(c, 0, Operand::outputs).updates, 16);
}

TEST(TimeloopConv1d, OutputChannelsKOuterPInner) {
  // K=32, R=3, P=16: DRAM loops K32 -> P16, buffer loop R3.
  Architecture a;
  a.name = "2level";
  a.levels = {level("DRAM", 0, true), level("Buffer", 64)};
  a = finish(a);
  const Problem p = conv1d(32, 1, 3, 16);
  const Cost c =
      evaluate(p, a, mapping_from_yaml("mapping:\n  - level: DRAM\n    temporal: K32 P16\n  - level: Buffer\n    temporal: R3\n", a));
  EXPECT_EQ(at(c, 1, Operand::weights).fills, 96);
  EXPECT_EQ(at(c, 1, Operand::inputs).fills, 576);  // 32 sweeps of 3 + 15 sliding
  EXPECT_EQ(at(c, 0, Operand::outputs).updates, 512);
  EXPECT_EQ(at(c, 0, Operand::outputs).reads, 0);
  EXPECT_EQ(c.cycles, 32 * 3 * 16);
}

TEST(TimeloopConv1d, TilingKHalvesInputFills) {
  // K as 16 (DRAM) x 2 (buffer, outside R3): every input tile now serves two K.
  Architecture a;
  a.name = "2level";
  a.levels = {level("DRAM", 0, true), level("Buffer", 64)};
  a = finish(a);
  const Problem p = conv1d(32, 1, 3, 16);
  const Cost c = evaluate(
      p, a, mapping_from_yaml("mapping:\n  - level: DRAM\n    temporal: K16 P16\n  - level: Buffer\n    temporal: K2 R3\n", a));
  EXPECT_EQ(at(c, 1, Operand::inputs).fills, 288);
  EXPECT_EQ(at(c, 1, Operand::weights).fills, 96);
  EXPECT_EQ(at(c, 0, Operand::outputs).updates, 512);
}

TEST(TimeloopConv1d, ThreeLevelSpatialMatchesReferenceStats) {
  // 04-model-conv1d+oc-3levelspatial, kp mapping with C=32: GlobalBuffer loops C32 K2 R3 and
  // K16 over 16 PEs (multicast inputs, reduced outputs), RegisterFile loop P16.
  Architecture a;
  a.name = "3levelspatial";
  StorageLevel glb = level("GlobalBuffer", 65536);
  glb.fanout.x = 16;
  a.levels = {level("MainMemory", 0, true), glb, level("RegisterFile", 64)};
  a = finish(a);
  const Problem p = conv1d(32, 32, 3, 16);
  const Cost c = evaluate(p, a,
                          mapping_from_yaml("mapping:\n  - level: GlobalBuffer\n    temporal: C32 K2 R3\n    spatial_x: K16\n"
                                            "  - level: RegisterFile\n    temporal: P16\n",
                                            a));
  EXPECT_EQ(c.cycles, 3072);
  EXPECT_EQ(c.mac_units_used, 16);
  // RegisterFile: per instance in Timeloop's report, all 16 instances here.
  EXPECT_EQ(at(c, 2, Operand::weights).reads, 16 * 3072);
  EXPECT_EQ(at(c, 2, Operand::weights).fills, 16 * 192);
  EXPECT_EQ(at(c, 2, Operand::inputs).reads, 16 * 3072);
  EXPECT_EQ(at(c, 2, Operand::inputs).fills, 16 * 1152);  // a slide back (R wraps) refetches
  EXPECT_EQ(at(c, 2, Operand::outputs).reads, 16 * 3040);
  EXPECT_EQ(at(c, 2, Operand::outputs).updates, 16 * 3072);
  EXPECT_EQ(at(c, 2, Operand::outputs).fills, 16 * 1024);
  // GlobalBuffer.
  EXPECT_EQ(at(c, 1, Operand::weights).reads, 3072);
  EXPECT_EQ(at(c, 1, Operand::weights).fills, 3072);
  EXPECT_EQ(at(c, 1, Operand::inputs).reads, 1152);  // multicast to the 16 K lanes
  EXPECT_EQ(at(c, 1, Operand::inputs).fills, 576);
  EXPECT_EQ(at(c, 1, Operand::outputs).reads, 15872);
  EXPECT_EQ(at(c, 1, Operand::outputs).updates, 16384);
  EXPECT_EQ(at(c, 1, Operand::outputs).fills, 512);
  // MainMemory.
  EXPECT_EQ(at(c, 0, Operand::weights).reads, 3072);
  EXPECT_EQ(at(c, 0, Operand::inputs).reads, 576);
  EXPECT_EQ(at(c, 0, Operand::outputs).reads, 0);
  EXPECT_EQ(at(c, 0, Operand::outputs).updates, 512);
}

TEST(TimeloopConv1d, ThreeLevelBypassMatchesReferenceStats) {
  // 03-model-conv1d+oc-3level, bypass: the GlobalBuffer keeps weights and inputs, the
  // RegisterFile only outputs; GlobalBuffer loops K16 P16, RegisterFile loops K2 R3.
  Architecture a;
  a.name = "3level";
  StorageLevel glb = level("GlobalBuffer", 65536);
  glb.keeps = {true, true, false};
  StorageLevel rf = level("RegisterFile", 64);
  rf.keeps = {false, false, true};
  a.levels = {level("MainMemory", 0, true), glb, rf};
  a = finish(a);
  const Problem p = conv1d(32, 1, 3, 16);
  const Cost c = evaluate(p, a,
                          mapping_from_yaml("mapping:\n  - level: GlobalBuffer\n    temporal: K16 P16\n"
                                            "  - level: RegisterFile\n    temporal: K2 R3\n",
                                            a));
  EXPECT_EQ(c.cycles, 1536);
  EXPECT_EQ(at(c, 2, Operand::outputs).reads, 1024);
  EXPECT_EQ(at(c, 2, Operand::outputs).updates, 1536);
  EXPECT_EQ(at(c, 2, Operand::outputs).fills, 512);
  EXPECT_EQ(at(c, 2, Operand::weights).reads, 0);  // bypassed
  EXPECT_EQ(at(c, 1, Operand::weights).reads, 1536);
  EXPECT_EQ(at(c, 1, Operand::weights).fills, 96);
  EXPECT_EQ(at(c, 1, Operand::inputs).reads, 1536);
  EXPECT_EQ(at(c, 1, Operand::inputs).fills, 18);
  EXPECT_EQ(at(c, 1, Operand::outputs).updates, 0);
  EXPECT_EQ(at(c, 0, Operand::weights).reads, 96);
  EXPECT_EQ(at(c, 0, Operand::inputs).reads, 18);
  EXPECT_EQ(at(c, 0, Operand::outputs).reads, 0);
  EXPECT_EQ(at(c, 0, Operand::outputs).updates, 512);
}

TEST(TimeloopConv1d, WithoutMulticastEveryLaneReadsItsOwnInputs) {
  Architecture a;
  a.name = "unicast";
  StorageLevel glb = level("GlobalBuffer", 65536);
  glb.fanout.x = 16;
  glb.fanout.multicast = false;
  a.levels = {level("MainMemory", 0, true), glb, level("RegisterFile", 64)};
  a = finish(a);
  const Problem p = conv1d(32, 32, 3, 16);
  const Cost c = evaluate(p, a,
                          mapping_from_yaml("mapping:\n  - level: GlobalBuffer\n    temporal: C32 K2 R3\n    spatial_x: K16\n"
                                            "  - level: RegisterFile\n    temporal: P16\n",
                                            a));
  EXPECT_EQ(at(c, 1, Operand::inputs).reads, 16 * 1152);
}


// Timeloop v3's first-touch rule (NVlabs/timeloop PR #214: without rmw_on_first_writeback "when
// we first write a buffer, we fill it with our first computed result"): the first arrival of an
// output element at a level is no fill; a partial sum that went up and comes back still is.
TEST(TimeloopConv1d, FirstTouchOutputFillsTwoLevel) {
  Architecture a;
  a.name = "2level";
  a.levels = {level("MainMemory", 0, true), level("Buffer", 64)};
  a = finish(a);
  const Problem p = conv1d(1, 1, 3, 16);
  const Mapping m = mapping_from_yaml("mapping:\n  - level: MainMemory\n    temporal: R3\n  - level: Buffer\n    temporal: P16\n", a);
  EvalOptions v3;
  v3.output_fill = OutputFill::first_touch;
  const Cost every = evaluate(p, a, m), first = evaluate(p, a, m, v3);
  EXPECT_EQ(at(every, 1, Operand::outputs).fills, 16);
  // The Buffer holds all 16 outputs while MainMemory's R loop runs: each arrives once, zeroed;
  // under first touch that is no fill, and nothing ever comes back from MainMemory.
  EXPECT_EQ(at(first, 1, Operand::outputs).fills, 0);
  EXPECT_EQ(at(first, 0, Operand::outputs).reads, 0);
  // Everything else is the same.
  EXPECT_EQ(at(first, 1, Operand::outputs).reads, at(every, 1, Operand::outputs).reads);
  EXPECT_EQ(at(first, 1, Operand::outputs).updates, at(every, 1, Operand::outputs).updates);
  EXPECT_EQ(at(first, 1, Operand::inputs).fills, at(every, 1, Operand::inputs).fills);
  EXPECT_LT(first.energy_pj, every.energy_pj);
  EXPECT_EQ(first.cycles, every.cycles);
}

TEST(TimeloopConv1d, FirstTouchThreeLevelFillsEqualParentReads) {
  // 04-model-conv1d+oc-3levelspatial's kp mapping: with first touch, a level's output fills are
  // exactly what its parent reads back to it (no fan-out reduction here): the RegisterFile's
  // 16 x 1024 arrivals less the 512 distinct outputs = 15872 = the GlobalBuffer's output reads;
  // the GlobalBuffer holds every output throughout: no fill at all (MainMemory reads none).
  Architecture a;
  a.name = "3levelspatial";
  StorageLevel glb = level("GlobalBuffer", 65536);
  glb.fanout.x = 16;
  a.levels = {level("MainMemory", 0, true), glb, level("RegisterFile", 64)};
  a = finish(a);
  const Problem p = conv1d(32, 32, 3, 16);
  const Mapping m = mapping_from_yaml("mapping:\n  - level: GlobalBuffer\n    temporal: C32 K2 R3\n    spatial_x: K16\n"
                                      "  - level: RegisterFile\n    temporal: P16\n",
                                      a);
  EvalOptions v3;
  v3.output_fill = OutputFill::first_touch;
  const Cost c = evaluate(p, a, m, v3);
  EXPECT_EQ(at(c, 2, Operand::outputs).fills, 16 * 1024 - 512);
  EXPECT_EQ(at(c, 2, Operand::outputs).fills, at(c, 1, Operand::outputs).reads);
  EXPECT_EQ(at(c, 1, Operand::outputs).fills, 0);
  EXPECT_EQ(at(c, 0, Operand::outputs).reads, 0);
  EXPECT_EQ(at(c, 2, Operand::weights).fills, 16 * 192);  // other operands keep their fills
  EXPECT_EQ(parse_output_fill(output_fill_name(OutputFill::first_touch)), OutputFill::first_touch);
  EXPECT_THROW(parse_output_fill("first"), Error);
}

TEST(TimeloopConv1d, MulticastAndSpatialReductionCounts) {
  // The kp mapping: the GlobalBuffer's 16 K lanes share every input (one read, 16 deliveries:
  // 16 x 1152 RegisterFile fills from 1152 reads, 15 x 1152 of them multicast copies); weights
  // and outputs differ per lane (nothing shared, nothing reduced).
  Architecture a;
  a.name = "3levelspatial";
  StorageLevel glb = level("GlobalBuffer", 65536);
  glb.fanout.x = 16;
  a.levels = {level("MainMemory", 0, true), glb, level("RegisterFile", 64)};
  a = finish(a);
  const Problem p = conv1d(32, 32, 3, 16);
  Cost c = evaluate(p, a,
                    mapping_from_yaml("mapping:\n  - level: GlobalBuffer\n    temporal: C32 K2 R3\n    spatial_x: K16\n"
                                      "  - level: RegisterFile\n    temporal: P16\n",
                                      a));
  EXPECT_EQ(at(c, 1, Operand::inputs).multicasts, 15 * 1152);
  EXPECT_EQ(at(c, 1, Operand::inputs).multicasts, at(c, 2, Operand::inputs).fills - at(c, 1, Operand::inputs).reads);
  EXPECT_EQ(at(c, 1, Operand::weights).multicasts, 0);
  EXPECT_EQ(at(c, 1, Operand::outputs).spatial_reductions, 0);
  // C over the lanes instead (GlobalBuffer loops C2 K32 R3): the 16 lanes hold partial sums of
  // the same 16 outputs; per lane 2 x 32 output tiles of 16 arrive (K changes refetch), 16 x
  // 1024 write-backs merge into 1024 GlobalBuffer updates: 15 x 1024 spatial reductions.
  c = evaluate(p, a,
               mapping_from_yaml("mapping:\n  - level: GlobalBuffer\n    temporal: C2 K32 R3\n    spatial_x: C16\n"
                                 "  - level: RegisterFile\n    temporal: P16\n",
                                 a));
  EXPECT_EQ(at(c, 2, Operand::outputs).fills, 16 * 1024);
  EXPECT_EQ(at(c, 1, Operand::outputs).updates, 1024);
  EXPECT_EQ(at(c, 1, Operand::outputs).spatial_reductions, 15 * 1024);
  EXPECT_EQ(at(c, 1, Operand::weights).multicasts, 0);  // each lane its own channel's weights
  // Without reduction on the fan-out every lane updates the buffer itself.
  a.levels[1].fanout.reduction = false;
  c = evaluate(p, a,
               mapping_from_yaml("mapping:\n  - level: GlobalBuffer\n    temporal: C2 K32 R3\n    spatial_x: C16\n"
                                 "  - level: RegisterFile\n    temporal: P16\n",
                                 a));
  EXPECT_EQ(at(c, 1, Operand::outputs).spatial_reductions, 0);
  EXPECT_EQ(at(c, 1, Operand::outputs).updates, 16 * 1024);
}

}  // namespace
}  // namespace leancnn::accel
