// The analytic cost model of one mapping (Timeloop-style nest analysis): per storage level and
// operand, the fills, reads and updates implied by the loop nest, counted as the NEW elements
// of each tile relative to the previous iteration (so sliding-window halos and reuse are
// exact); multicast and spatial reduction on fan-outs; cycles as the larger of compute and
// every level's bandwidth limit; energy = accesses × per-access energy + network hops + MACs.
// As in Timeloop (reset on stride change), a tile keeps its overlap with the previous one only
// when it slides along one axis in the same direction as its previous move (or after a step
// that did not move it); a move back or along two axes refetches the whole tile.
//
// Counting rules (elements, summed over instances), for each operand and each pair of
// consecutive levels (parent p, child c) that keep it, the MAC units being the last child:
//  - child fills  = Σ over child instances of its tile deltas (outputs: every arrival,
//                   including the first, zero-initialised one, as Timeloop's published tutorial
//                   outputs count it; OutputFill::first_touch leaves the first arrival of each
//                   output element out, as Timeloop v3 does);
//  - parent reads (weights, inputs) = the deltas of the union of the children's tiles when
//                   the fan-outs between them multicast, else the sum of the children's;
//  - parent updates (outputs) = the children's write-backs, merged by spatial reduction;
//  - parent reads (outputs) = updates − distinct output elements the parent holds over the
//                   layer (the first update of each element needs no read).
// The MAC units keep nothing: every temporal step reads its operands and updates its output.
// On the parent's fan-out: multicasts = copies delivered beyond the parent's reads (children's
// fills − parent reads, weights and inputs); spatial reductions = partial sums merged before
// the parent's update (children's write-backs − parent updates, outputs).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/mapping.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel {

struct OperandAccess {
  int64_t reads = 0;
  int64_t fills = 0;
  int64_t updates = 0;
  // On this level's fan-out to the next level keeping the operand (elements, all instances):
  int64_t multicasts = 0;          // weights, inputs: deliveries served by another child's read
  int64_t spatial_reductions = 0;  // outputs: partial sums added on the way up, saving an update
};

// How outputs arriving at a level count as fills.
enum class OutputFill : uint8_t {
  // Every arrival, including the first, zero-initialised one (Timeloop's published tutorial
  // statistics, e.g. 01-model-conv1d-2level's Buffer output fills 16; Timeloop v3 with
  // rmw_on_first_writeback). The default.
  every_arrival,
  // Timeloop v3's default (NVlabs/timeloop PR #214): a level's first write of an output element
  // is its child's first result, not a fill; only partial sums coming back from the parent fill.
  first_touch,
};
const char* output_fill_name(OutputFill f);          // "every-arrival", "first-touch"
OutputFill parse_output_fill(const std::string& text);  // Error(bad_input) otherwise

struct LevelCost {
  int64_t instances = 0;                            // instances the mapping uses
  std::array<OperandAccess, kNumOperands> operand;  // elements, all instances
  std::array<int64_t, kNumOperands> tile = {0, 0, 0};  // elements held per instance (0: bypassed)
  double read_accesses = 0;   // vector accesses, all instances (after packing and compression)
  double write_accesses = 0;  // fills + updates
  double energy_pj = 0;
  int64_t bandwidth_cycles = 0;  // cycles this level needs at its read/write bandwidth

  double accesses() const { return read_accesses + write_accesses; }
};

struct Cost {
  int64_t macs = 0;               // dense MACs of the problem
  double effective_macs = 0;      // MACs the datapath performs (sparsity)
  int64_t steps = 0;              // temporal iterations per MAC unit
  int64_t mac_units_used = 0;
  int64_t compute_cycles = 0;     // compute-bound cycles (systolic: SCALE-Sim timing)
  int64_t cycles = 0;             // max(compute, bandwidth limits)
  double utilization = 0;         // busy unit-cycles / (cycles × MAC units); systolic: MACs / (cycles × PEs)
  std::vector<LevelCost> levels;  // as the architecture's levels
  std::vector<double> network_energy_pj;  // per level's fan-out
  double mac_energy_pj = 0;       // compute energy (MACs, or crossbar DAC/ADC/cells)
  double energy_pj = 0;           // total
  // Systolic (compute kind systolic) figures from SCALE-Sim's model.
  double mapping_efficiency = 0;
  double systolic_compute_utilization = 0;
  int64_t folds = 0;

  double energy_per_mac() const { return macs ? energy_pj / static_cast<double>(macs) : 0.0; }
  // Accesses of the outermost level (DRAM), reads and writes.
  double dram_accesses() const { return levels.empty() ? 0.0 : levels.front().accesses(); }
  double storage_energy_pj() const;
  double network_energy_total_pj() const;
};

// How the evaluation counts, beyond what the architecture and the mapping say.
struct EvalOptions {
  // The dataflow the layer runs in (`leancnn accel --dataflow`, the mapper's dataflow); unset:
  // the architecture's. It decides a systolic array's timing (SCALE-Sim's ws / is / os operand
  // matrices), so a dataflow chosen for the mapping must reach the evaluation too.
  std::optional<Dataflow> dataflow;
  OutputFill output_fill = OutputFill::every_arrival;
};

// Validates the mapping (validate_mapping) and evaluates it.
Cost evaluate(const Problem& p, const Architecture& arch, const Mapping& m, const EvalOptions& opts = {});
// Evaluates a mapping already known to be valid (the mapper's hot path).
Cost evaluate_unchecked(const Problem& p, const Architecture& arch, const Mapping& m, const EvalOptions& opts = {});

}  // namespace leancnn::accel
