// Energy tables: per-access energy of storage by size and kind, per-MAC energy by operand
// bits. The preset is the Eyeriss normalised table (Chen, Emer, Sze, ISCA 2016): MAC 1,
// register file 1, inter-PE network 2, global buffer 6, DRAM 200, with 1 unit = 1 pJ.
#pragma once
#include <string>

namespace leancnn::accel {

struct EnergyTable {
  std::string name = "eyeriss";
  // Energies of one 16-bit access (or one 16×16-bit MAC), in pJ.
  double mac = 1.0;
  double register_file = 1.0;  // at small_kb
  double network_hop = 2.0;    // one word moved between PEs / from the buffer to a PE
  double global_buffer = 6.0;  // at large_kb
  double dram = 200.0;
  double small_kb = 0.5;
  double large_kb = 100.0;

  // One 16-bit access of an on-chip SRAM of `kb` kilobytes: interpolated linearly in
  // log(size) between (small_kb, register_file) and (large_kb, global_buffer), constant below
  // small_kb (a register is charged like the register file) and extrapolated with the same
  // slope above large_kb (capped at DRAM energy).
  double sram_access(double kb) const;
  // One 16×16-bit MAC scaled to a_bits × w_bits: 3/4 of the 16-bit MAC is the multiplier
  // (energy ∝ a_bits·w_bits), 1/4 the adder (∝ a_bits + w_bits).
  double mac_energy(int a_bits, int w_bits) const;
};

// E_mac(a_bits, w_bits) / E_mac(16, 16) for the model above.
double mac_energy_scale(int a_bits, int w_bits);

// The Eyeriss normalised table.
const EnergyTable& eyeriss_energy_table();
// Looks a table up by name ("eyeriss"); throws Error(bad_input) listing the known names.
const EnergyTable& energy_table(const std::string& name);

}  // namespace leancnn::accel
