// A whole model on an architecture: every layer mapped (explicit mapping, template or mapper)
// and evaluated, with totals per level and per energy component.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/accel/mapper.h"
#include "leancnn/accel/mapping.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel {

struct LayerCost {
  Problem problem;
  Mapping mapping;
  Cost cost;
  std::string mapping_source;  // "file", "template" or "mapper"
};

struct LevelTotals {
  std::string name;
  std::array<OperandAccess, kNumOperands> operand;  // elements
  double read_accesses = 0, write_accesses = 0;
  double energy_pj = 0;
  double accesses() const { return read_accesses + write_accesses; }
};

struct NetworkCost {
  std::string arch;
  Dataflow dataflow = Dataflow::ws;
  Objective objective = Objective::energy;
  OutputFill output_fill = OutputFill::every_arrival;
  std::vector<LayerCost> layers;
  // Totals over the layers (run one after another: cycles add up).
  int64_t macs = 0;
  int64_t cycles = 0;
  int64_t num_macs = 0;  // MAC units of the architecture
  double energy_pj = 0;
  double mac_energy_pj = 0;
  double network_energy_pj = 0;
  double busy_unit_cycles = 0;  // Σ over layers of utilization × cycles × MAC units
  std::vector<LevelTotals> levels;

  // Busy unit-cycles over available unit-cycles, over the whole network.
  double utilization() const;
  double energy_per_mac() const;
  double dram_accesses_per_mac() const;
};

struct NetworkOptions {
  MapperOptions mapper;                // objective, dataflow, search budget
  const MappingFile* mappings = nullptr;  // explicit mappings by layer (validated)
  bool template_only = false;          // use the dataflow's template where it is valid
};

NetworkCost evaluate_network(const std::vector<Problem>& layers, const Architecture& arch,
                             const NetworkOptions& opts = {});

}  // namespace leancnn::accel
