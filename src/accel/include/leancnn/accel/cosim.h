// Hardware/model co-design effects (survey §3.2–3.3) applied on top of the dense loop-nest
// counts: sparsity (gating, skipping, compressed storage with metadata: Cambricon-X, SCNN,
// Eyeriss v2), variable-precision datapaths (Stripes bit-serial, BitFusion bit-fused,
// YodaNN/FINN XNOR-popcount) and processing-in-memory crossbars (DAC/ADC per read).
#pragma once
#include <cstdint>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel {

// Fraction of an operand's dense footprint and traffic a storage level carries: on a
// compressed level, a sparse weight or input operand is stored as its non-zeros plus
// metadata_bits of index each, i.e. density·(1 + metadata_bits/bits), and stored dense when
// that is not smaller (so density 1 costs exactly the dense figure). Otherwise 1.
double storage_factor(const Problem& p, const Architecture& arch, int level, Operand t);

// Fraction of the dense MACs the datapath performs: the product of the densities of the
// operands whose zeros it exploits (1 when the architecture has no sparsity support).
double mac_density(const Problem& p, const Compute& c);

struct ComputeCost {
  int64_t cycles = 0;         // cycles the MAC units need (before memory bandwidth limits)
  double busy_cycles = 0;     // cycles each used unit spends on work (cycles before rounding)
  double energy_pj = 0;       // MAC (or crossbar) energy
  double effective_macs = 0;  // MACs actually toggled
  double operand_read_scale = 1;  // factor on the operand reads feeding the MACs (skipping)
};

// The compute level's cycles and energy for a mapping whose MAC units each run `steps`
// temporal iterations, with `units_used` MAC units active; rows_used × cols_used is the
// active part of the innermost fan-out (a crossbar's rows and columns for PIM).
//  standard:   cycles = ceil(steps / macs_per_cycle), energy = MACs · E_mac(b_a, b_w)
//  bit_serial: cycles × b_a / native_bits (Stripes: one activation bit per cycle)
//  bit_fused:  cycles × (b_a'·b_w') / native_bits² with b' the bit-brick width (2, 4, 8, 16)
//  xnor:       cycles × b_a·b_w / xnor_width, energy per bit-pair op E_mac(1, 1)
//  pim:        cycles = steps · ceil(b_a / dac_bits); energy per crossbar read = rows·E_dac +
//              cols·slices·E_adc + rows·cols·slices·E_cell, slices = ceil(b_w / cell_bits)
// Sparsity: gating scales the energy by mac_density, skipping scales energy and cycles.
ComputeCost compute_cost(const Problem& p, const Architecture& arch, int64_t steps, int64_t units_used,
                         int64_t rows_used, int64_t cols_used);

}  // namespace leancnn::accel
