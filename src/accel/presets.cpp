// The preset architectures, built in C++ (src/accel/data/*.yaml describe the same designs).
// Energies come from the Eyeriss normalised table unless a design needs its own (PIM).
#include "leancnn/accel/architecture.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {

namespace {

StorageLevel dram() {
  StorageLevel l;
  l.name = "DRAM";
  l.dram = true;
  l.word_bits = 16;
  l.vector_width = 4;     // a 64-bit bus
  l.read_bandwidth = 2;   // accesses per cycle (8 words)
  l.write_bandwidth = 2;
  return l;
}

StorageLevel sram(const std::string& name, double kb) {
  StorageLevel l;
  l.name = name;
  l.word_bits = 16;
  l.capacity_words = static_cast<int64_t>(kb * 1024.0 * 8.0 / 16.0);
  return l;
}

FanOut mesh(int64_t x, int64_t y) {
  FanOut f;
  f.x = x;
  f.y = y;
  return f;
}

// Eyeriss (Chen et al., JSSC 2017): 12×14 PEs, 108 kB global buffer, ≈0.5 kB of
// scratchpads per PE, row-stationary.
Architecture eyeriss_like() {
  Architecture a;
  a.name = "eyeriss-like";
  a.dataflow = Dataflow::rs;
  StorageLevel glb = sram("GlobalBuffer", 108);
  glb.fanout = mesh(14, 12);
  StorageLevel rf = sram("RF", 0.5);
  a.levels = {dram(), glb, rf};
  return a;
}

// TPU v1 (Jouppi et al., ISCA 2017) scaled to a 32×32 weight-stationary systolic array with a
// 256 kB unified buffer; each PE holds its weight (double-buffered) while inputs flow right
// and partial sums flow down.
Architecture tpu_like() {
  Architecture a;
  a.name = "tpu-like";
  a.dataflow = Dataflow::ws;
  StorageLevel ub = sram("UnifiedBuffer", 256);
  ub.fanout = mesh(32, 32);
  StorageLevel reg = sram("WeightReg", 0);
  reg.capacity_words = 2;
  reg.keeps = {true, false, false};
  a.levels = {dram(), ub, reg};
  a.compute.kind = ComputeKind::systolic;
  return a;
}

// ShiDianNao (Du et al., ISCA 2015): 8×8 PEs each accumulating one output pixel, inputs
// shifted between neighbours, weights broadcast; 288 kB of on-chip buffers (NBin, NBout, SB)
// modelled as one buffer.
Architecture shidiannao_like() {
  Architecture a;
  a.name = "shidiannao-like";
  a.dataflow = Dataflow::os;
  StorageLevel buf = sram("Buffer", 288);
  buf.fanout = mesh(8, 8);
  buf.fanout.x_dims = {Dim::Q, Dim::P, Dim::N};
  buf.fanout.y_dims = {Dim::P, Dim::M, Dim::G};
  StorageLevel pe = sram("PEReg", 0);
  pe.capacity_words = 16;
  pe.keeps = {false, true, true};
  a.levels = {dram(), buf, pe};
  return a;
}

// SCNN (Parashar et al., ISCA 2017): 8×8 PEs, each with a 4×4 multiplier array forming the
// Cartesian product of non-zero weights and inputs, 20 kB of activation RAM per PE and a
// weight FIFO; weights and activations stay compressed; zeros are skipped.
Architecture scnn_like() {
  Architecture a;
  a.name = "scnn-like";
  a.dataflow = Dataflow::is;
  StorageLevel d = dram();
  d.compressed = true;
  d.fanout = mesh(8, 8);
  d.fanout.x_dims = {Dim::Q, Dim::N};
  d.fanout.y_dims = {Dim::P, Dim::G};
  StorageLevel pe = sram("PE_SRAM", 20);
  pe.keeps = {false, true, true};
  pe.compressed = true;
  StorageLevel fifo = sram("WeightFIFO", 0);
  fifo.capacity_words = 64;
  fifo.keeps = {true, false, false};
  fifo.compressed = true;
  fifo.fanout = mesh(4, 4);
  fifo.fanout.x_dims = {Dim::M, Dim::G};
  fifo.fanout.y_dims = {Dim::Q, Dim::P, Dim::C};
  a.levels = {d, pe, fifo};
  a.compute.sparsity = SparsityMode::skipping;
  a.compute.sparse_weights = true;
  a.compute.sparse_inputs = true;
  a.compute.metadata_bits = 4;
  return a;
}

// A ReRAM processing-in-memory design (after ISAAC / PRIME): 16 crossbars of 128 rows × 128
// columns of 2-bit cells, i.e. 16 logical 16-bit weight columns per crossbar; inputs enter
// bit-serially through 1-bit DACs, every column read is digitised by an ADC. The weight
// stays in the cells (weight-stationary); a 64 kB buffer holds activations. Energies are
// illustrative, in the units of the Eyeriss table (one 16-bit digital MAC = 1).
Architecture pim_crossbar() {
  Architecture a;
  a.name = "pim-crossbar";
  a.dataflow = Dataflow::ws;
  StorageLevel buf = sram("GlobalBuffer", 64);
  buf.keeps = {false, true, true};
  buf.fanout = mesh(4, 4);
  StorageLevel xbar = sram("Crossbar", 0);
  xbar.capacity_words = 128 * 16;
  xbar.keeps = {true, false, false};
  xbar.read_energy = 0;     // reads are the analog compute below
  xbar.write_energy = 20;   // programming a 16-bit weight (8 ReRAM cells)
  xbar.update_energy = 20;
  xbar.fanout = mesh(16, 128);
  xbar.fanout.hop_energy = 0;  // word lines and bit lines: in the DAC/ADC energy
  a.levels = {dram(), buf, xbar};
  a.compute.kind = ComputeKind::pim;
  a.compute.cell_bits = 2;
  a.compute.dac_bits = 1;
  a.compute.dac_energy = 0.02;
  a.compute.adc_energy = 0.5;
  a.compute.cell_energy = 0.001;
  return a;
}

}  // namespace

std::vector<std::string> preset_names() {
  return {"eyeriss-like", "tpu-like", "shidiannao-like", "scnn-like", "pim-crossbar"};
}

Architecture preset(const std::string& name) {
  Architecture a;
  if (name == "eyeriss-like") a = eyeriss_like();
  else if (name == "tpu-like") a = tpu_like();
  else if (name == "shidiannao-like") a = shidiannao_like();
  else if (name == "scnn-like") a = scnn_like();
  else if (name == "pim-crossbar") a = pim_crossbar();
  else {
    std::string names;
    for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
    fail(ErrorKind::bad_input, "unknown architecture '", name, "'; presets: ", names, " (or a .yaml file)");
  }
  a.resolve_energies();
  a.validate();
  return a;
}

}  // namespace leancnn::accel
