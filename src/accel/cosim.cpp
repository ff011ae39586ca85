// Co-design effects: sparse storage and MAC skipping/gating, variable-precision datapaths,
// processing-in-memory crossbars.
#include "leancnn/accel/cosim.h"

#include <algorithm>
#include <cmath>

#include "leancnn/accel/energy_table.h"

namespace leancnn::accel {

double storage_factor(const Problem& p, const Architecture& arch, int level, Operand t) {
  if (t == Operand::outputs) return 1.0;
  if (!arch.levels[static_cast<size_t>(level)].compressed) return 1.0;
  const double rho = p.density(t);
  const double bits = p.bits[static_cast<int>(t)];
  const double f = rho * (1.0 + arch.compute.metadata_bits / bits);
  return std::min(1.0, f);
}

double mac_density(const Problem& p, const Compute& c) {
  if (c.sparsity == SparsityMode::none) return 1.0;
  double rho = 1.0;
  if (c.sparse_weights) rho *= p.weight_density;
  if (c.sparse_inputs) rho *= p.input_density;
  return rho;
}

namespace {

// BitFusion's bit bricks compose 2-, 4-, 8- and 16-bit operands.
int brick_bits(int bits) {
  int b = 2;
  while (b < bits && b < 16) b *= 2;
  return std::max(b, bits);  // wider than 16: no fusion gain
}

int64_t ceil_div(double a, double b) { return static_cast<int64_t>(std::ceil(a / b - 1e-12)); }

}  // namespace

ComputeCost compute_cost(const Problem& p, const Architecture& arch, int64_t steps, int64_t units_used,
                         int64_t rows_used, int64_t cols_used) {
  const Compute& c = arch.compute;
  const int wb = p.bits[static_cast<int>(Operand::weights)];
  const int ab = p.bits[static_cast<int>(Operand::inputs)];
  const double macs = static_cast<double>(p.macs());
  const double rho = mac_density(p, c);
  ComputeCost r;
  // Per-unit time in "dense MAC slots" and energy per dense MAC.
  double slots = static_cast<double>(steps) / c.macs_per_cycle;
  double e_mac = 0;
  const double nb = c.native_bits;
  switch (c.datapath) {
    case Datapath::standard: e_mac = c.mac_energy * mac_energy_scale(ab, wb); break;
    case Datapath::bit_serial:
      slots *= ab / nb;
      e_mac = c.mac_energy * mac_energy_scale(ab, wb);
      break;
    case Datapath::bit_fused:
      slots *= static_cast<double>(brick_bits(ab)) * brick_bits(wb) / (nb * nb);
      e_mac = c.mac_energy * mac_energy_scale(brick_bits(ab), brick_bits(wb));
      break;
    case Datapath::xnor:
      slots *= static_cast<double>(ab) * wb / c.xnor_width;
      e_mac = c.mac_energy * mac_energy_scale(1, 1) * ab * wb;
      break;
  }
  if (c.kind == ComputeKind::pim) {
    // Bit-serial inputs through DACs; bit-sliced weights across ADC'd columns.
    const int64_t in_cycles = (ab + c.dac_bits - 1) / c.dac_bits;
    const int64_t slices = (wb + c.cell_bits - 1) / c.cell_bits;
    const int64_t arrays = std::max<int64_t>(1, units_used / std::max<int64_t>(1, rows_used * cols_used));
    slots = static_cast<double>(steps) * in_cycles / c.macs_per_cycle;
    const double reads = static_cast<double>(steps) * in_cycles * arrays;
    r.energy_pj = reads * (rows_used * c.dac_energy + static_cast<double>(cols_used) * slices * c.adc_energy +
                           static_cast<double>(rows_used) * cols_used * slices * c.cell_energy);
    r.effective_macs = macs;
    r.busy_cycles = slots;
    r.cycles = ceil_div(slots, 1.0);
    return r;  // analog crossbars compute every cell: no zero skipping
  }
  r.effective_macs = macs * rho;
  r.energy_pj = macs * e_mac * (c.sparsity == SparsityMode::none ? 1.0 : rho);
  if (c.sparsity == SparsityMode::skipping) {
    slots *= rho;
    r.operand_read_scale = rho;
  }
  r.busy_cycles = slots;
  r.cycles = std::max<int64_t>(1, ceil_div(slots, 1.0));
  return r;
}

}  // namespace leancnn::accel
