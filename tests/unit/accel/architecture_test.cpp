// Architectures: the energy table, the presets (C++ and YAML agree), and YAML errors that
// name the file, the level and the field.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/energy_table.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_architecture(yaml, "architecture file 'test.yaml'");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    return e.what();
  }
  ADD_FAILURE() << "expected an error for:\n" << yaml;
  return "";
}

void expect_mentions(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' missing from: " << msg;
}

const char* kBase =
    "name: t\n"
    "levels:\n"
    "  - name: DRAM\n"
    "    kind: dram\n";

TEST(EnergyTable, EyerissNormalisedValues) {
  const EnergyTable& t = eyeriss_energy_table();
  EXPECT_DOUBLE_EQ(t.mac_energy(16, 16), 1.0);
  EXPECT_DOUBLE_EQ(t.sram_access(0.5), 1.0);
  EXPECT_DOUBLE_EQ(t.sram_access(100), 6.0);
  EXPECT_DOUBLE_EQ(t.sram_access(0.1), 1.0);  // registers cost like the register file
  // Log-linear: the geometric mean of 0.5 and 100 kB costs the arithmetic mean.
  EXPECT_NEAR(t.sram_access(std::sqrt(0.5 * 100)), 3.5, 1e-12);
  EXPECT_LT(t.sram_access(10), t.sram_access(20));
  EXPECT_DOUBLE_EQ(t.dram, 200.0);
  EXPECT_DOUBLE_EQ(t.network_hop, 2.0);
  // 8x8 bits: 3/4 multiplier at a quarter, 1/4 adder at a half.
  EXPECT_DOUBLE_EQ(t.mac_energy(8, 8), 0.75 * 0.25 + 0.25 * 0.5);
  EXPECT_LT(t.mac_energy(1, 1), t.mac_energy(4, 4));
}

TEST(Architecture, PresetsResolveTheTable) {
  const Architecture a = preset("eyeriss-like");
  ASSERT_EQ(a.num_levels(), 3);
  EXPECT_EQ(a.num_macs(), 168);
  EXPECT_EQ(a.array_level(), 1);
  EXPECT_DOUBLE_EQ(a.levels[0].read_energy, 200.0 * 4);  // a 4-word DRAM access
  EXPECT_NEAR(a.levels[1].read_energy, eyeriss_energy_table().sram_access(108), 1e-12);
  EXPECT_DOUBLE_EQ(a.levels[2].read_energy, 1.0);
  EXPECT_DOUBLE_EQ(a.levels[1].fanout.hop_energy, 2.0);
  EXPECT_EQ(a.dataflow, Dataflow::rs);
  EXPECT_EQ(preset("tpu-like").num_macs(), 32 * 32);
  EXPECT_EQ(preset("tpu-like").compute.kind, ComputeKind::systolic);
  EXPECT_THROW(preset("no-such-chip"), Error);
}

TEST(Architecture, YamlPresetFilesEqualTheBuiltInPresets) {
  for (const std::string& name : preset_names()) {
    SCOPED_TRACE(name);
    const Architecture from_file = load_architecture(std::string(LEANCNN_ACCEL_DATA_DIR) + "/" + name + ".yaml");
    EXPECT_EQ(from_file.fingerprint(), preset(name).fingerprint());
    EXPECT_EQ(architecture_from_spec(std::string(LEANCNN_ACCEL_DATA_DIR) + "/" + name + ".yaml").name, name);
  }
}

TEST(Architecture, YamlErrorsNameLevelAndField) {
  expect_mentions(error_of(std::string(kBase) + "  - name: GlobalBuffer\n    capacity_kb: lots\n"),
                  {"test.yaml", "level 'GlobalBuffer'", "capacity_kb", "lots"});
  expect_mentions(error_of(std::string(kBase) + "  - name: GlobalBuffer\n    capacty_kb: 64\n"),
                  {"level 'GlobalBuffer'", "capacty_kb", "unknown field"});
  expect_mentions(error_of(std::string(kBase) + "  - name: RF\n    capacity_words: 8\n    keeps: [weights, psums]\n"),
                  {"level 'RF'", "keeps", "psums"});
  expect_mentions(error_of(std::string(kBase) + "  - name: GLB\n    capacity_kb: 8\n    fanout: {x: 0, y: 4}\n"),
                  {"level 'GLB'", "fanout", "'x'"});
  expect_mentions(error_of(std::string(kBase) + "  - name: GLB\n    capacity_kb: 8\n    fanout: {x: 4, x_dims: [M, Z]}\n"),
                  {"level 'GLB'", "x_dims", "'Z'"});
  // Below the outermost level a capacity is required.
  expect_mentions(error_of(std::string(kBase) + "  - name: Buffer\n"), {"level 'Buffer'", "capacity"});
  // The outermost level must keep every operand.
  expect_mentions(error_of("name: t\nlevels:\n  - name: DRAM\n    bypass: [inputs]\n"), {"level 'DRAM'", "keeps"});
  expect_mentions(error_of(std::string(kBase) + "compute:\n  datapath: quantum\n"), {"compute", "datapath", "quantum"});
  expect_mentions(error_of(std::string(kBase) + "compute:\n  sparse_operands: [outputs]\n"), {"compute", "sparse_operands"});
  expect_mentions(error_of("name: t\nlevels: []\n"), {"levels"});
  expect_mentions(error_of("name: t\nlevels:\n  - kind: dram\n"), {"level 0", "name"});
  expect_mentions(error_of("name: t\ndataflow: diagonal\nlevels:\n  - name: DRAM\n"), {"dataflow", "diagonal"});
  expect_mentions(error_of("levels: [unterminated"), {"test.yaml", "YAML"});
  EXPECT_THROW(load_architecture("/nonexistent/arch.yaml"), Error);
}

TEST(Architecture, YamlDescribesEveryField) {
  const Architecture a = parse_architecture(
      "name: custom\n"
      "dataflow: os\n"
      "levels:\n"
      "  - name: DRAM\n"
      "    kind: dram\n"
      "    word_bits: 32\n"
      "    read_bandwidth: 1.5\n"
      "    compressed: true\n"
      "  - name: Buf\n"
      "    capacity_words: 1024\n"
      "    bypass: [weights]\n"
      "    read_energy: 3\n"
      "    fanout: {x: 4, y: 2, multicast: false, reduction: false, hop_energy: 0.5, y_dims: [P]}\n"
      "compute:\n"
      "  datapath: bit_fused\n"
      "  sparsity: gating\n"
      "  sparse_operands: [inputs]\n"
      "  macs_per_cycle: 2\n");
  EXPECT_EQ(a.dataflow, Dataflow::os);
  EXPECT_EQ(a.levels[0].word_bits, 32);
  EXPECT_DOUBLE_EQ(a.levels[0].read_energy, 400.0);  // DRAM 200 per 16 bits
  EXPECT_TRUE(a.levels[0].compressed);
  EXPECT_EQ(a.levels[1].keeps, (std::array<bool, 3>{false, true, true}));
  EXPECT_DOUBLE_EQ(a.levels[1].read_energy, 3.0);
  EXPECT_FALSE(a.levels[1].fanout.multicast);
  EXPECT_EQ(a.levels[1].fanout.y_dims, std::vector<Dim>{Dim::P});
  EXPECT_EQ(a.num_macs(), 8);
  EXPECT_EQ(a.compute.datapath, Datapath::bit_fused);
  EXPECT_EQ(a.compute.sparsity, SparsityMode::gating);
  EXPECT_FALSE(a.compute.sparse_weights);
  EXPECT_TRUE(a.compute.sparse_inputs);
  EXPECT_DOUBLE_EQ(a.compute.macs_per_cycle, 2.0);
}

}  // namespace
}  // namespace leancnn::accel
