// Co-design datapaths: bit-serial (Stripes), bit-fused (BitFusion), XNOR-popcount, operand
// precision, and processing-in-memory crossbars with DAC/ADC energy per read.
#include <gtest/gtest.h>

#include "accel_test_util.h"
#include "leancnn/accel/cosim.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/accel/dataflow.h"

namespace leancnn::accel {
namespace {
using namespace test_util;

Problem conv3x3() {
  Problem p;
  p.name = "conv";
  p.dim(Dim::M) = 16;
  p.dim(Dim::C) = 16;
  p.dim(Dim::P) = 32;
  p.dim(Dim::Q) = 32;
  p.dim(Dim::R) = 3;
  p.dim(Dim::S) = 3;
  return p;
}

Architecture unbounded(const std::string& name, Datapath dp) {
  Architecture a = preset(name);
  for (StorageLevel& l : a.levels) l.read_bandwidth = l.write_bandwidth = 0;
  a.compute.datapath = dp;
  return a;
}

Cost run(const Architecture& a, const Problem& p) { return evaluate(p, a, template_mapping(conv3x3(), a, a.dataflow)); }

TEST(Cosim, BitSerialCyclesScaleWithActivationBits) {
  const Architecture a = unbounded("eyeriss-like", Datapath::bit_serial);
  Problem p = conv3x3();
  const Cost c16 = run(a, p);
  for (int bits : {8, 4, 2}) {
    p.bits = {16, bits, bits};
    const Cost c = run(a, p);
    EXPECT_EQ(c.compute_cycles, c16.compute_cycles * bits / 16) << bits;
    EXPECT_NEAR(c.utilization, c16.utilization, 1e-12) << bits;
  }
  p.bits = {4, 16, 16};  // weight bits do not matter to Stripes
  EXPECT_EQ(run(a, p).compute_cycles, c16.compute_cycles);
}

TEST(Cosim, BitFusedThroughputFollowsBitBricks) {
  const Architecture a = unbounded("eyeriss-like", Datapath::bit_fused);
  Problem p = conv3x3();
  const int64_t base = run(a, p).compute_cycles;
  const struct {
    int a_bits, w_bits;
    int64_t speedup;
  } cases[] = {{8, 8, 4}, {4, 4, 16}, {8, 2, 16}, {2, 2, 64}, {3, 5, 8}, {16, 16, 1}};
  for (const auto& c : cases) {
    p.bits = {c.w_bits, c.a_bits, c.a_bits};
    EXPECT_EQ(run(a, p).compute_cycles, base / c.speedup) << c.a_bits << "x" << c.w_bits;
  }
}

TEST(Cosim, XnorPopcountRunsBitPlanes) {
  const Architecture a = unbounded("eyeriss-like", Datapath::xnor);
  Problem p = conv3x3();
  p.bits = {1, 1, 1};
  const Cost c = run(a, p);
  const Architecture std_arch = unbounded("eyeriss-like", Datapath::standard);
  const Cost s = run(std_arch, conv3x3());
  EXPECT_EQ(c.compute_cycles, s.compute_cycles / 32);  // 32 bit pairs per cycle per PE
  EXPECT_DOUBLE_EQ(c.mac_energy_pj, static_cast<double>(p.macs()) * (0.75 / 256 + 0.25 * 2 / 32));
  p.bits = {2, 4, 4};  // multi-bit operands as 8 bit-plane passes
  EXPECT_EQ(run(a, p).compute_cycles, s.compute_cycles * 8 / 32);
}

TEST(Cosim, PrecisionScalesMacEnergyAndPacksWords) {
  const Architecture a = unbounded("eyeriss-like", Datapath::standard);
  Problem p = conv3x3();
  const Cost c16 = run(a, p);
  p.bits = {8, 8, 8};
  const Cost c8 = run(a, p);
  EXPECT_NEAR(c8.mac_energy_pj, 0.3125 * c16.mac_energy_pj, 1e-9);
  EXPECT_NEAR(c8.dram_accesses(), c16.dram_accesses() / 2, 1e-9);  // two 8-bit values per 16-bit word
  EXPECT_EQ(c8.compute_cycles, c16.compute_cycles);                 // fixed-width MACs are no faster
}

TEST(Cosim, PimCrossbarChargesDacAndAdcPerRead) {
  // One crossbar of 8 rows (C) x 4 logical columns (M), 2-bit cells, 1-bit DACs.
  Architecture a;
  a.name = "pim";
  StorageLevel buf = level("Buffer", 4096);
  buf.keeps = {false, true, true};
  StorageLevel xbar = level("Crossbar", 32);
  xbar.keeps = {true, false, false};
  xbar.read_energy = 0;
  xbar.fanout.x = 4;
  xbar.fanout.y = 8;
  xbar.fanout.hop_energy = 0;
  a.levels = {level("DRAM", 0, true), buf, xbar};
  a.compute.kind = ComputeKind::pim;
  a.compute.cell_bits = 2;
  a.compute.dac_bits = 1;
  a.compute.dac_energy = 0.02;
  a.compute.adc_energy = 0.5;
  a.compute.cell_energy = 0.001;
  a = finish(a);
  Problem p;
  p.dim(Dim::M) = 4;
  p.dim(Dim::C) = 8;
  p.dim(Dim::P) = 5;
  const Mapping m = mapping_from_yaml(
      "mapping:\n  - level: Crossbar\n    temporal: P5\n    spatial_x: M4\n    spatial_y: C8\n", a);
  Cost c = evaluate(p, a, m);
  // 5 input vectors x 16 bit-serial cycles; per read 8 DACs, 4 columns x 8 slices of ADC, 256 cells.
  EXPECT_EQ(c.compute_cycles, 5 * 16);
  EXPECT_NEAR(c.mac_energy_pj, 80 * (8 * 0.02 + 4 * 8 * 0.5 + 8 * 4 * 8 * 0.001), 1e-9);
  // The weights were programmed once; 8-bit inputs halve the reads.
  EXPECT_EQ(c.levels[2].operand[static_cast<size_t>(Operand::weights)].fills, 32);
  p.bits = {16, 8, 8};
  c = evaluate(p, a, m);
  EXPECT_EQ(c.compute_cycles, 5 * 8);
  EXPECT_NEAR(c.mac_energy_pj, 40 * (8 * 0.02 + 4 * 8 * 0.5 + 8 * 4 * 8 * 0.001), 1e-9);
}

TEST(Cosim, NetworkCarriesEachSubtreeItsUnionOfOperands) {
  // Two crossbars below a buffer fan-out of 1 pJ per word: each crossbar receives its 8 row
  // inputs per step (not one copy per cell) and returns its 4 reduced column outputs.
  Architecture a;
  a.name = "pim2";
  StorageLevel buf = level("Buffer", 4096);
  buf.keeps = {false, true, true};
  buf.fanout.x = 2;
  buf.fanout.hop_energy = 1;
  StorageLevel xbar = level("Crossbar", 32);
  xbar.keeps = {true, false, false};
  xbar.fanout.x = 4;
  xbar.fanout.y = 8;
  xbar.fanout.hop_energy = 0;
  a.levels = {level("DRAM", 0, true), buf, xbar};
  a.compute.kind = ComputeKind::pim;
  a = finish(a);
  Problem p;
  p.dim(Dim::M) = 8;
  p.dim(Dim::C) = 8;
  p.dim(Dim::P) = 5;
  const Mapping m = mapping_from_yaml(
      "mapping:\n  - level: Buffer\n    spatial_x: M2\n"
      "  - level: Crossbar\n    temporal: P5\n    spatial_x: M4\n    spatial_y: C8\n",
      a);
  const Cost c = evaluate(p, a, m);
  // inputs 2 x 5 x 8 + outputs 2 x 5 x 4 + weights programmed 2 x 32.
  EXPECT_DOUBLE_EQ(c.network_energy_pj.at(1), 80.0 + 40.0 + 64.0);
}

TEST(Cosim, StorageFactorAndMacDensity) {
  Architecture a = preset("scnn-like");
  Problem p = conv3x3();
  p.weight_density = 0.5;
  p.input_density = 0.5;
  EXPECT_DOUBLE_EQ(mac_density(p, a.compute), 0.25);
  EXPECT_DOUBLE_EQ(storage_factor(p, a, 0, Operand::weights), 0.5 * (1 + 4.0 / 16));
  EXPECT_DOUBLE_EQ(storage_factor(p, a, 0, Operand::outputs), 1.0);
  a.compute.sparse_inputs = false;
  EXPECT_DOUBLE_EQ(mac_density(p, a.compute), 0.5);
  a.compute.sparsity = SparsityMode::none;
  EXPECT_DOUBLE_EQ(mac_density(p, a.compute), 1.0);
}

}  // namespace
}  // namespace leancnn::accel
