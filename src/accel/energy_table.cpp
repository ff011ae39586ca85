// Energy tables: storage energy by size (log-interpolated), MAC energy by operand bits.
#include "leancnn/accel/energy_table.h"

#include <algorithm>
#include <cmath>

#include "leancnn/core/error.h"

namespace leancnn::accel {

double EnergyTable::sram_access(double kb) const {
  if (kb <= small_kb) return register_file;
  const double t = std::log(kb / small_kb) / std::log(large_kb / small_kb);
  return std::min(dram, register_file + t * (global_buffer - register_file));
}

double mac_energy_scale(int a_bits, int w_bits) {
  const double mul = 0.75 * (static_cast<double>(a_bits) * w_bits) / 256.0;
  const double add = 0.25 * (static_cast<double>(a_bits) + w_bits) / 32.0;
  return mul + add;
}

double EnergyTable::mac_energy(int a_bits, int w_bits) const { return mac * mac_energy_scale(a_bits, w_bits); }

const EnergyTable& eyeriss_energy_table() {
  static const EnergyTable t;
  return t;
}

const EnergyTable& energy_table(const std::string& name) {
  if (name == "eyeriss") return eyeriss_energy_table();
  fail(ErrorKind::bad_input, "unknown energy table '", name, "'; known: eyeriss");
}

}  // namespace leancnn::accel
