// Whole-model evaluation: per-layer mapping choice, evaluation and totals.
#include "leancnn/accel/network.h"

#include "leancnn/accel/dataflow.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {

double NetworkCost::utilization() const {
  return cycles && num_macs ? busy_unit_cycles / (static_cast<double>(cycles) * static_cast<double>(num_macs)) : 0.0;
}

double NetworkCost::energy_per_mac() const { return macs ? energy_pj / static_cast<double>(macs) : 0.0; }

double NetworkCost::dram_accesses_per_mac() const {
  return macs && !levels.empty() ? levels.front().accesses() / static_cast<double>(macs) : 0.0;
}

NetworkCost evaluate_network(const std::vector<Problem>& layers, const Architecture& arch, const NetworkOptions& opts) {
  arch.validate();
  NetworkCost net;
  net.arch = arch.name;
  net.dataflow = opts.mapper.dataflow.value_or(arch.dataflow);
  net.objective = opts.mapper.objective;
  net.num_macs = arch.num_macs();
  net.levels.resize(static_cast<size_t>(arch.num_levels()));
  for (int i = 0; i < arch.num_levels(); ++i) net.levels[static_cast<size_t>(i)].name = arch.levels[static_cast<size_t>(i)].name;
  // The dataflow in effect (--dataflow, else the architecture's) reaches every evaluation:
  // explicit mappings and templates as well as the mapper's.
  EvalOptions eval;
  eval.dataflow = net.dataflow;
  eval.output_fill = opts.mapper.output_fill;
  net.output_fill = opts.mapper.output_fill;
  for (const Problem& p : layers) {
    LayerCost lc;
    lc.problem = p;
    try {
      const MappingSpec* spec = opts.mappings ? opts.mappings->find(p.name) : nullptr;
      if (spec) {
        lc.mapping = resolve_mapping(*spec, arch);
        lc.cost = evaluate(p, arch, lc.mapping, eval);
        lc.mapping_source = "file";
      } else {
        bool done = false;
        if (opts.template_only) {
          Mapping m = template_mapping(p, arch, net.dataflow);
          if (mapping_fits(m, p, arch)) {
            lc.mapping = std::move(m);
            lc.cost = evaluate_unchecked(p, arch, lc.mapping, eval);
            lc.mapping_source = "template";
            done = true;
          }
        }
        if (!done) {
          MapperOptions mo = opts.mapper;
          mo.dataflow = net.dataflow;
          MapperResult r = map_layer(p, arch, mo);
          lc.mapping = std::move(r.mapping);
          lc.cost = std::move(r.cost);
          lc.mapping_source = "mapper";
        }
      }
    } catch (Error& e) {
      e.add_context(str_cat("layer '", p.name, "' on architecture '", arch.name, "'"));
      throw;
    }
    const Cost& c = lc.cost;
    net.macs += c.macs;
    net.cycles += c.cycles;
    net.busy_unit_cycles += c.utilization * static_cast<double>(c.cycles) * static_cast<double>(net.num_macs);
    net.energy_pj += c.energy_pj;
    net.mac_energy_pj += c.mac_energy_pj;
    net.network_energy_pj += c.network_energy_total_pj();
    for (size_t i = 0; i < c.levels.size(); ++i) {
      LevelTotals& t = net.levels[i];
      for (int o = 0; o < kNumOperands; ++o) {
        t.operand[static_cast<size_t>(o)].reads += c.levels[i].operand[static_cast<size_t>(o)].reads;
        t.operand[static_cast<size_t>(o)].fills += c.levels[i].operand[static_cast<size_t>(o)].fills;
        t.operand[static_cast<size_t>(o)].updates += c.levels[i].operand[static_cast<size_t>(o)].updates;
        t.operand[static_cast<size_t>(o)].multicasts += c.levels[i].operand[static_cast<size_t>(o)].multicasts;
        t.operand[static_cast<size_t>(o)].spatial_reductions += c.levels[i].operand[static_cast<size_t>(o)].spatial_reductions;
      }
      t.read_accesses += c.levels[i].read_accesses;
      t.write_accesses += c.levels[i].write_accesses;
      t.energy_pj += c.levels[i].energy_pj;
    }
    net.layers.push_back(std::move(lc));
  }
  return net;
}

}  // namespace leancnn::accel
