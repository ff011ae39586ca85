// Hand-derivable properties of the cost model on real layers: a bigger buffer never adds DRAM
// traffic; a dataflow's stationary tensor leaves DRAM once when it fits; density 1 is the
// dense result; skipping at density ρ scales MAC energy and cycles by ρ.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "accel_test_util.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/accel/dataflow.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::accel {
namespace {
using namespace test_util;

const std::vector<Problem>& resnet20_layers() {
  static const std::vector<Problem> layers =
      extract_workload(models::build_model("resnet20", {{3, 32, 32}, 10, 0}, ops::op_table()), ops::op_table());
  return layers;
}

Architecture with_buffer_words(Architecture a, int level, int64_t words) {
  a.levels[static_cast<size_t>(level)].capacity_words = words;
  return a;  // energies stay as resolved: only the capacity changes
}

const OperandAccess& dram(const Cost& c, Operand t) { return c.levels.front().operand[static_cast<size_t>(t)]; }

TEST(Properties, DoublingTheBufferNeverIncreasesDramTraffic) {
  const Architecture base = preset("eyeriss-like");
  int compared = 0;
  for (Dataflow df : {Dataflow::ws, Dataflow::is, Dataflow::os, Dataflow::rs})
    for (const Problem& p : resnet20_layers()) {
      SCOPED_TRACE(std::string(dataflow_name(df)) + " " + p.name);
      double previous = -1;
      for (int64_t words = 1024; words <= (int64_t{1} << 20); words *= 2) {
        const Architecture a = with_buffer_words(base, 1, words);
        const Mapping m = template_mapping(p, a, df);
        if (!mapping_fits(m, p, a)) {
          EXPECT_LT(previous, 0) << "a larger buffer lost a valid template at " << words << " words";
          continue;
        }
        const double traffic = evaluate(p, a, m).dram_accesses();
        if (previous >= 0) {
          EXPECT_LE(traffic, previous) << "at " << words << " words";
          ++compared;
        }
        previous = traffic;
      }
    }
  EXPECT_GT(compared, 500);
}

TEST(Properties, MovingALoopIntoTheBufferNeverIncreasesDramTraffic) {
  // The cost model itself, on random loop orders: from a mapping with everything at DRAM, move
  // prime factors one at a time into the buffer; DRAM accesses never grow.
  Architecture a;
  a.name = "two-level";
  a.levels = {level("DRAM", 0, true), level("Buffer", int64_t{1} << 30)};
  a = finish(a);
  std::mt19937 rng(7);
  for (const Problem& p : resnet20_layers()) {
    for (int trial = 0; trial < 4; ++trial) {
      SCOPED_TRACE(p.name + " trial " + std::to_string(trial));
      Mapping m = empty_mapping(2);
      std::vector<std::pair<Dim, int64_t>> primes;
      for (Dim d : kAllDims) {
        m.levels[0].temporal[static_cast<size_t>(d)] = p.dim(d);
        int64_t n = p.dim(d);
        for (int64_t q = 2; n > 1; ++q)
          while (n % q == 0) {
            primes.emplace_back(d, q);
            n /= q;
          }
      }
      for (LevelMapping& l : m.levels) std::shuffle(l.order.begin(), l.order.end(), rng);
      std::shuffle(primes.begin(), primes.end(), rng);
      double previous = evaluate(p, a, m).dram_accesses();
      for (const auto& [d, q] : primes) {
        m.levels[0].temporal[static_cast<size_t>(d)] /= q;
        m.levels[1].temporal[static_cast<size_t>(d)] *= q;
        const double traffic = evaluate(p, a, m).dram_accesses();
        EXPECT_LE(traffic, previous) << "moving " << dim_letter(d) << q << " in: " << m.to_string(a);
        previous = traffic;
      }
      // Everything in the buffer: each operand crosses once.
      EXPECT_DOUBLE_EQ(previous, static_cast<double>(p.size(Operand::weights) + p.size(Operand::inputs) +
                                                     p.size(Operand::outputs)));
    }
  }
}

TEST(Properties, StationaryTensorLeavesDramOnceWhenItFits) {
  for (int64_t words : {int64_t{8192}, int64_t{55296}}) {
    const Architecture a = with_buffer_words(preset("eyeriss-like"), 1, words);
    for (Dataflow df : {Dataflow::ws, Dataflow::is, Dataflow::os}) {
      const Operand t = dataflow_spec(df).stationary;
      int checked = 0;
      for (const Problem& p : resnet20_layers()) {
        if (p.size(t) > words / 2) continue;  // does not fit next to the other operands' tiles
        SCOPED_TRACE(std::string(dataflow_name(df)) + " " + p.name + " buffer " + std::to_string(words));
        const Mapping m = template_mapping(p, a, df);
        const Cost c = evaluate(p, a, m);
        if (t == Operand::outputs) {
          EXPECT_EQ(dram(c, t).updates, p.size(t));
          EXPECT_EQ(dram(c, t).reads, 0);
        } else {
          EXPECT_EQ(dram(c, t).reads, p.size(t)) << m.to_string(a);
        }
        ++checked;
      }
      EXPECT_GT(checked, 3) << dataflow_name(df) << " at " << words;
    }
  }
}

TEST(Properties, DensityOneEqualsTheDenseResult) {
  const Architecture sparse = preset("scnn-like");  // compressed levels, zero skipping
  Architecture dense = sparse;
  dense.compute.sparsity = SparsityMode::none;
  for (StorageLevel& l : dense.levels) l.compressed = false;
  for (const Problem& p : resnet20_layers()) {
    SCOPED_TRACE(p.name);
    const Mapping m = template_mapping(p, sparse, Dataflow::is);
    const Cost s = evaluate(p, sparse, m);
    const Cost d = evaluate(p, dense, m);
    EXPECT_DOUBLE_EQ(s.energy_pj, d.energy_pj);
    EXPECT_EQ(s.cycles, d.cycles);
    EXPECT_DOUBLE_EQ(s.dram_accesses(), d.dram_accesses());
  }
}

TEST(Properties, SkippingScalesMacEnergyAndCyclesByDensity) {
  Architecture skip = preset("eyeriss-like");
  for (StorageLevel& l : skip.levels) l.read_bandwidth = l.write_bandwidth = 0;
  skip.compute.sparsity = SparsityMode::skipping;
  skip.compute.sparse_weights = true;
  Architecture gate = skip;
  gate.compute.sparsity = SparsityMode::gating;
  for (const Problem& dense : resnet20_layers()) {
    if (dense.op != "Conv") continue;
    const Mapping m = template_mapping(dense, skip, Dataflow::rs);
    const Cost d = evaluate(dense, skip, m);
    for (double rho : {0.5, 0.25}) {
      SCOPED_TRACE(dense.name + " density " + std::to_string(rho));
      Problem p = dense;
      p.weight_density = rho;
      const Cost s = evaluate(p, skip, m);
      EXPECT_NEAR(s.mac_energy_pj, rho * d.mac_energy_pj, 1e-9 * d.mac_energy_pj);
      EXPECT_EQ(s.cycles, static_cast<int64_t>(rho * static_cast<double>(d.cycles)));
      EXPECT_DOUBLE_EQ(s.effective_macs, rho * static_cast<double>(d.macs));
      EXPECT_NEAR(s.utilization, d.utilization, 1e-12);  // the busy fraction is unchanged
      EXPECT_LT(s.energy_pj, d.energy_pj);
      const Cost g = evaluate(p, gate, m);
      EXPECT_NEAR(g.mac_energy_pj, rho * d.mac_energy_pj, 1e-9 * d.mac_energy_pj);
      EXPECT_EQ(g.cycles, d.cycles);  // gating saves energy, not time
    }
  }
}

TEST(Properties, CompressedStorageCarriesNonZerosAndMetadata) {
  Architecture a = preset("eyeriss-like");
  a.levels[0].compressed = true;
  a.compute.metadata_bits = 4;
  const Problem dense = resnet20_layers()[3];
  const Mapping m = template_mapping(dense, a, Dataflow::rs);
  Problem p = dense;
  p.weight_density = 0.25;
  const Cost c = evaluate(p, a, m), d = evaluate(dense, a, m);
  // Same element counts; accesses scale by 0.25 · (1 + 4/16) for weights only.
  EXPECT_EQ(dram(c, Operand::weights).reads, dram(d, Operand::weights).reads);
  const double w_dense = static_cast<double>(dram(d, Operand::weights).reads) / 4;  // 4 words per access
  EXPECT_NEAR(d.dram_accesses() - c.dram_accesses(), w_dense * (1 - 0.25 * 1.25), 1e-6);
  // Dense enough that the metadata would cost more: stored dense.
  p.weight_density = 0.9;
  EXPECT_DOUBLE_EQ(evaluate(p, a, m).dram_accesses(), d.dram_accesses());
}

}  // namespace
}  // namespace leancnn::accel
