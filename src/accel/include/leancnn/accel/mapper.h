// The mapper: a search over valid tilings (capacity-constrained, within a dataflow's
// constraints) for the lowest energy, delay or energy×delay. Results are cached per
// (layer shape and precision, architecture, dataflow, objective, search options), so a
// search loop (NAS) that meets the same layer again pays a hash lookup.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/accel/mapping.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel {

enum class Objective : uint8_t { energy, delay, edp };
const char* objective_name(Objective o);
// "energy", "delay", "edp"; throws Error(bad_input) otherwise.
Objective parse_objective(const std::string& text);
// energy: pJ; delay: cycles (energy breaks ties); edp: pJ × cycles.
double objective_value(const Cost& c, Objective o);

struct MapperOptions {
  Objective objective = Objective::energy;
  std::optional<Dataflow> dataflow;  // default: the architecture's
  OutputFill output_fill = OutputFill::every_arrival;  // the cost model's output-fill rule
  int spatial_candidates = 4;        // best spatial assignments searched
  int samples = 48;                  // random tilings per spatial candidate
  int local_steps = 400;             // evaluations the final local search may spend
  uint64_t seed = 1;
  bool use_cache = true;
};

struct MapperResult {
  Mapping mapping;
  Cost cost;
  int64_t evaluations = 0;  // cost-model calls the search made (0 when cached)
  bool from_cache = false;
};

// The search starts from the dataflow's template mapping and never returns a worse one.
// Throws Error(bad_input) when no valid mapping exists (e.g. a PE level that cannot hold one
// tile), with the template's validation message.
MapperResult map_layer(const Problem& p, const Architecture& arch, const MapperOptions& opts = {});

void clear_mapper_cache();
size_t mapper_cache_size();

}  // namespace leancnn::accel
