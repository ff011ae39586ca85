// The mapper (never worse than the dataflow template, cached, objective-aware, clear errors)
// and whole networks: every preset on every zoo model.
#include <gtest/gtest.h>

#include <set>

#include "accel_test_util.h"
#include "leancnn/accel/dataflow.h"
#include "leancnn/accel/mapper.h"
#include "leancnn/accel/network.h"
#include "leancnn/core/error.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::accel {
namespace {
using namespace test_util;

std::vector<Problem> layers_of(const std::string& model, Shape input = {3, 32, 32}) {
  return extract_workload(models::build_model(model, {input, 10, 0}, ops::op_table()), ops::op_table());
}

TEST(Mapper, NeverWorseThanTheTemplateAndValid) {
  const std::vector<Problem> layers = layers_of("resnet20");
  MapperOptions o;
  o.use_cache = false;
  for (const std::string& name : preset_names()) {
    const Architecture a = preset(name);
    for (const Problem& p : {layers[0], layers[7], layers[9], layers[16], layers.back()}) {
      SCOPED_TRACE(name + " " + p.name);
      const MapperResult r = map_layer(p, a, o);
      EXPECT_NO_THROW(validate_mapping(r.mapping, p, a));
      EXPECT_GT(r.evaluations, 0);
      EXPECT_DOUBLE_EQ(evaluate(p, a, r.mapping).energy_pj, r.cost.energy_pj);
      const Mapping t = template_mapping(p, a, a.dataflow);
      if (mapping_fits(t, p, a)) {
        EXPECT_LE(r.cost.energy_pj, evaluate(p, a, t).energy_pj * (1 + 1e-12));
      }
    }
  }
}

TEST(Mapper, ObjectivesTradeEnergyForDelay) {
  const Architecture a = preset("eyeriss-like");
  for (const Problem& p : layers_of("resnet20")) {
    MapperOptions e, d, x;
    e.objective = Objective::energy;
    d.objective = Objective::delay;
    x.objective = Objective::edp;
    const MapperResult re = map_layer(p, a, e), rd = map_layer(p, a, d), rx = map_layer(p, a, x);
    EXPECT_LE(rd.cost.cycles, re.cost.cycles) << p.name;
    EXPECT_LE(re.cost.energy_pj, rd.cost.energy_pj * (1 + 1e-12)) << p.name;
    EXPECT_LE(rx.cost.energy_pj * rx.cost.cycles, re.cost.energy_pj * re.cost.cycles * (1 + 1e-12)) << p.name;
  }
}

TEST(Mapper, CachesPerLayerShapeArchitectureAndPrecision) {
  clear_mapper_cache();
  const Architecture a = preset("tpu-like");
  const std::vector<Problem> layers = layers_of("resnet20");
  std::set<std::string> shapes;
  for (const Problem& p : layers) {
    map_layer(p, a);
    shapes.insert(p.shape_string());
  }
  EXPECT_EQ(mapper_cache_size(), shapes.size());  // repeated layer shapes share an entry
  const MapperResult again = map_layer(layers[3], a);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.evaluations, 0);
  Problem p8 = layers[3];
  p8.bits = {8, 8, 8};
  EXPECT_FALSE(map_layer(p8, a).from_cache);  // precision is part of the key
  Architecture bigger = a;
  bigger.levels[1].capacity_words *= 2;
  EXPECT_FALSE(map_layer(layers[3], bigger).from_cache);
  EXPECT_EQ(mapper_cache_size(), shapes.size() + 2);
}

TEST(Mapper, NoValidMappingNamesTheLevel) {
  Architecture a = preset("eyeriss-like");
  a.levels[2].capacity_words = 2;  // the RF cannot hold one weight, one input and one output
  try {
    map_layer(layers_of("resnet20")[1], a);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(msg.find("no valid mapping"), std::string::npos) << msg;
    EXPECT_NE(msg.find("level 'RF'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("capacity"), std::string::npos) << msg;
  }
}

TEST(Network, TotalsAreLayerSums) {
  const std::vector<Problem> layers = layers_of("resnet20");
  const NetworkCost n = evaluate_network(layers, preset("eyeriss-like"));
  ASSERT_EQ(n.layers.size(), layers.size());
  int64_t macs = 0, cycles = 0;
  double energy = 0, dram = 0;
  for (const LayerCost& l : n.layers) {
    macs += l.cost.macs;
    cycles += l.cost.cycles;
    energy += l.cost.energy_pj;
    dram += l.cost.dram_accesses();
  }
  EXPECT_EQ(n.macs, macs);
  EXPECT_EQ(n.cycles, cycles);
  EXPECT_NEAR(n.energy_pj, energy, 1e-6 * energy);
  EXPECT_NEAR(n.levels.front().accesses(), dram, 1e-6 * dram);
  double parts = n.mac_energy_pj + n.network_energy_pj;
  for (const LevelTotals& l : n.levels) parts += l.energy_pj;
  EXPECT_NEAR(parts, n.energy_pj, 1e-6 * n.energy_pj);
  EXPECT_GT(n.utilization(), 0.0);
  EXPECT_LE(n.utilization(), 1.0);
}

TEST(Network, ExplicitMappingsAreUsedAndChecked) {
  const std::vector<Problem> layers = layers_of("resnet20");
  const Architecture a = preset("eyeriss-like");
  // conv1 (M16 C3 P32 Q32 R3 S3) written out by hand; the other layers go to the mapper.
  const MappingFile f = parse_mapping_file(
      "layers:\n  conv1:\n"
      "    - level: DRAM\n      temporal: P2\n"
      "    - level: GlobalBuffer\n      temporal: P2 M2\n      spatial_x: P8\n      spatial_y: R3 M4\n"
      "    - level: RF\n      temporal: M2 C3 S3 Q32\n",
      "m.yaml");
  NetworkOptions o;
  o.mappings = &f;
  const NetworkCost n = evaluate_network(layers, a, o);
  EXPECT_EQ(n.layers[0].mapping_source, "file");
  EXPECT_EQ(n.layers[1].mapping_source, "mapper");
  EXPECT_EQ(n.layers[0].mapping.to_string(a), "DRAM[P2] GlobalBuffer[P2 M2 | X: P8 | Y: M4 R3] RF[M2 C3 S3 Q32]");
  const MappingFile bad = parse_mapping_file("layers:\n  conv1:\n    - level: RF\n      temporal: M16 C3 S3 Q32\n", "bad.yaml");
  o.mappings = &bad;
  try {
    evaluate_network(layers, a, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("layer 'conv1'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("factors of P"), std::string::npos) << msg;
  }
}

TEST(Network, EveryPresetRunsOnEveryZooModel) {
  for (const models::ZooEntry& e : models::zoo()) {
    const std::vector<Problem> layers = layers_of(e.name);
    int64_t macs = 0;
    for (const Problem& p : layers) macs += p.macs();
    ASSERT_GT(macs, 0) << e.name;
    for (const std::string& name : preset_names()) {
      SCOPED_TRACE(e.name + " on " + name);
      const Architecture a = preset(name);
      NetworkOptions o;
      o.template_only = true;  // the template where valid, else the mapper
      const NetworkCost n = evaluate_network(layers, a, o);
      EXPECT_EQ(n.macs, macs);
      EXPECT_GT(n.energy_pj, 0.0);
      EXPECT_GE(n.cycles * a.num_macs(), macs);
      EXPECT_GT(n.utilization(), 0.0);
      EXPECT_LE(n.utilization(), 1.0);
      for (const LayerCost& l : n.layers) EXPECT_NO_THROW(validate_mapping(l.mapping, l.problem, a)) << l.problem.name;
    }
  }
}

TEST(Network, MapperRunsEveryPresetOnResNet20) {
  const std::vector<Problem> layers = layers_of("resnet20");
  for (const std::string& name : preset_names()) {
    const NetworkCost searched = evaluate_network(layers, preset(name));
    NetworkOptions t;
    t.template_only = true;
    const NetworkCost templ = evaluate_network(layers, preset(name), t);
    EXPECT_LE(searched.energy_pj, templ.energy_pj * (1 + 1e-9)) << name;
  }
}

}  // namespace
}  // namespace leancnn::accel
