// The architecture description: an ordered list of storage levels from DRAM (index 0) down to
// the innermost buffer, each with a fan-out to the instances below it (the last one's fan-out
// reaches the MAC units), and the compute level. Loaded from YAML or built by presets.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/accel/workload.h"

namespace leancnn::accel {

// The dataflow an architecture is built for (its default mapping template; dataflow.h).
enum class Dataflow : uint8_t { ws, is, os, rs };
const char* dataflow_name(Dataflow d);
// "ws", "is", "os", "rs" (also "weight-stationary", ...); throws Error(bad_input) otherwise.
Dataflow parse_dataflow(const std::string& text);

// A mesh of x × y child instances below a storage level.
struct FanOut {
  int64_t x = 1, y = 1;
  bool multicast = true;   // one parent read can feed every child needing the same word
  bool reduction = true;   // partial sums of children are added in the network (one update up)
  double hop_energy = -1;  // pJ per word delivered to a child; < 0: the energy table's network hop
  // Dimensions the mapper may spread over X / Y here; empty: the dataflow's defaults.
  std::vector<Dim> x_dims, y_dims;
  int64_t instances() const { return x * y; }
};

struct StorageLevel {
  std::string name;
  bool dram = false;            // off-chip: DRAM energy; otherwise SRAM energy by capacity
  int64_t capacity_words = 0;   // per instance; 0 = unbounded (only the outermost level)
  int word_bits = 16;
  int vector_width = 1;         // words per access
  double read_bandwidth = 0;    // accesses per cycle per instance; 0 = unbounded
  double write_bandwidth = 0;
  double read_energy = -1;      // pJ per access; < 0: from the energy table
  double write_energy = -1;
  double update_energy = -1;    // partial-sum update (read-modify-write) per access
  std::array<bool, kNumOperands> keeps = {true, true, true};  // weights, inputs, outputs
  bool compressed = false;      // sparse operands stored compressed (values + metadata)
  FanOut fanout;                // to the next level (the MAC units below the last level)

  bool keeps_operand(Operand t) const { return keeps[static_cast<int>(t)]; }
  double capacity_kb() const { return static_cast<double>(capacity_words) * word_bits / 8.0 / 1024.0; }
};

enum class ComputeKind : uint8_t { mac, systolic, pim };
// standard: fixed-width MACs; bit_serial: Stripes (cycles ∝ activation bits); bit_fused:
// BitFusion (throughput ∝ (16/b_a)·(16/b_w)); xnor: XNOR-popcount (YodaNN/FINN), multi-bit
// operands as b_a·b_w bit-plane passes.
enum class Datapath : uint8_t { standard, bit_serial, bit_fused, xnor };
// gating: zero operands do not toggle the MAC (energy saved, cycles kept); skipping: zero
// operands are never scheduled (energy and cycles saved), as Cambricon-X, SCNN, Eyeriss v2.
enum class SparsityMode : uint8_t { none, gating, skipping };

struct Compute {
  ComputeKind kind = ComputeKind::mac;
  Datapath datapath = Datapath::standard;
  double mac_energy = -1;       // pJ per 16×16-bit MAC (scaled by operand bits); < 0: table
  int native_bits = 16;         // operand width of one MAC unit (bit-serial / bit-fused reference)
  double macs_per_cycle = 1;    // per MAC unit
  SparsityMode sparsity = SparsityMode::none;
  bool sparse_weights = true;   // which operands' zeros the datapath exploits
  bool sparse_inputs = false;
  int metadata_bits = 4;        // index bits per non-zero in compressed storage
  int xnor_width = 32;          // bit pairs per XNOR-popcount unit per cycle
  // Processing in memory (kind pim): weights sit in crossbar cells of cell_bits each, inputs
  // enter dac_bits per cycle; every crossbar read costs a DAC conversion per active row and an
  // ADC conversion per active column (and bit slice), plus cell_energy per active cell.
  int cell_bits = 2;
  int dac_bits = 1;
  double dac_energy = 0;
  double adc_energy = 0;
  double cell_energy = 0;
};

struct Architecture {
  std::string name;
  Dataflow dataflow = Dataflow::ws;
  std::string energy_table = "eyeriss";
  std::vector<StorageLevel> levels;  // [0] outermost (DRAM) ... innermost
  Compute compute;

  int num_levels() const { return static_cast<int>(levels.size()); }
  // Instances of level i: the product of the fan-outs above it (num_levels() gives the MACs).
  int64_t instances(int level) const;
  int64_t num_macs() const { return instances(num_levels()); }
  // The level whose fan-out has the most instances: the PE array (the systolic array).
  int array_level() const;
  // Replaces energies < 0 by the energy table's (storage scaled to word_bits·vector_width/16).
  void resolve_energies();
  // Throws Error(bad_input) naming the level and the field (energies must be resolved).
  void validate() const;
  // Every parameter as text: the mapper's cache key.
  std::string fingerprint() const;
};

// Presets built in C++ (the same designs as the YAML files in src/accel/data/):
// eyeriss-like (row-stationary 14×12), tpu-like (weight-stationary 32×32 systolic),
// shidiannao-like (output-stationary 8×8), scnn-like (input-stationary, sparse 8×8 PEs of
// 4×4 multipliers), pim-crossbar (16 ReRAM crossbars of 128×128).
std::vector<std::string> preset_names();
// Throws Error(bad_input) listing the names.
Architecture preset(const std::string& name);

// YAML: see src/accel/README.md for the format. Errors name the source, the level and the field.
Architecture parse_architecture(const std::string& yaml_text, const std::string& source = "<yaml>");
Architecture load_architecture(const std::string& path);
// A preset name, or a path to a .yaml/.yml file.
Architecture architecture_from_spec(const std::string& preset_or_file);

}  // namespace leancnn::accel
