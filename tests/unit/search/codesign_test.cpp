// Accelerator co-design (codesign.h): the accelerator space and its architectures follow the
// knobs; every (network, accelerator) pair is costed by accel::evaluate_network, and the three
// fronts and the "beyond the fixed searches" flag follow their definitions (checked by brute force).
#include <gtest/gtest.h>

#include <filesystem>

#include "leancnn/accel/network.h"
#include "leancnn/core/error.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/search/codesign.h"

namespace leancnn::search {
namespace {

TEST(CoDesign, TheSpaceAndItsArchitecturesFollowTheKnobs) {
  AccelSpaceOptions o;
  const std::vector<AccelKnobs> space = accel_space(o);
  for (const AccelKnobs& k : space) {
    EXPECT_LE(k.pe_x * k.pe_y, o.max_pes);
    EXPECT_LE(k.buffer_kb, o.max_buffer_kb);
  }
  // 3 dataflows x 22 of the 25 side pairs (32x24, 24x32 and 32x32 exceed 576 PEs) x 4 buffers (512 kB exceeds 256).
  EXPECT_EQ(space.size(), 3u * 22u * 4u);
  const accel::Architecture small = build_accel({accel::Dataflow::rs, 16, 8, 64});
  const accel::Architecture big = build_accel({accel::Dataflow::rs, 16, 8, 256});
  EXPECT_EQ(small.num_macs(), 128);
  EXPECT_DOUBLE_EQ(small.levels[1].capacity_kb(), 64.0);
  EXPECT_LT(small.levels[1].read_energy, big.levels[1].read_energy);  // a larger SRAM costs more per access
  EXPECT_EQ(build_accel({accel::Dataflow::ws, 8, 8, 64}).dataflow, accel::Dataflow::ws);
  EXPECT_THROW(build_accel({accel::Dataflow::is, 8, 8, 64}), Error);
  o.max_pes = 1;
  EXPECT_THROW(accel_space(o), Error);
}

TEST(CoDesign, FrontsFollowTheirDefinitions) {
  std::vector<CoDesignNet> nets;
  const std::pair<const char*, double> zoo[] = {{"lenet5", 0.89}, {"small_cnn", 0.91}, {"resnet20", 0.94}, {"vgg_small", 0.93}};
  for (const auto& [name, acc] : zoo) {
    const ir::Graph g = models::build_model(name, {.input = {1, 28, 28}, .classes = 10, .seed = 1}, ops::op_table());
    nets.push_back({name, acc, accel::extract_workload(g, ops::op_table())});
  }
  AccelSpaceOptions o;
  o.dataflows = {accel::Dataflow::rs, accel::Dataflow::ws};
  o.pe_sides = {8, 16};
  o.buffer_kb = {32, 256};
  const AccelKnobs fixed{accel::Dataflow::rs, 14, 12, 108};
  const CoDesignResult r = codesign(nets, o, fixed);
  ASSERT_EQ(r.accelerators, 17);  // 2 dataflows x 2 x 2 sides x 2 buffers, and the fixed one
  ASSERT_EQ(r.points.size(), nets.size() * 17);
  EXPECT_EQ(r.fixed_net, 2);  // resnet20, the most accurate
  // Costs are evaluate_network's.
  accel::NetworkOptions no;
  no.template_only = true;
  const CoDesignPoint& p = r.points[5];
  EXPECT_DOUBLE_EQ(p.energy_pj, accel::evaluate_network(nets[static_cast<size_t>(p.net)].layers, build_accel(p.accel), no).energy_pj);
  auto acc = [&](const CoDesignPoint& q) { return nets[static_cast<size_t>(q.net)].accuracy; };
  auto dominates = [&](const CoDesignPoint& a, const CoDesignPoint& b) {
    return acc(a) >= acc(b) && a.energy_pj <= b.energy_pj && (acc(a) > acc(b) || a.energy_pj < b.energy_pj);
  };
  int joint = 0, beyond = 0;
  for (const CoDesignPoint& q : r.points) {
    bool dominated = false, dominated_fa = false, dominated_fn = false, reached = false;
    for (const CoDesignPoint& s : r.points) {
      dominated = dominated || dominates(s, q);
      if (s.accel == fixed && q.accel == fixed) dominated_fa = dominated_fa || dominates(s, q);
      if (s.net == r.fixed_net && q.net == r.fixed_net) dominated_fn = dominated_fn || dominates(s, q);
      if ((s.fixed_accel_front || s.fixed_net_front) && acc(s) >= acc(q) && s.energy_pj <= q.energy_pj) reached = true;
    }
    EXPECT_EQ(q.joint_front, !dominated);
    EXPECT_EQ(q.fixed_accel_front, q.accel == fixed && !dominated_fa);
    EXPECT_EQ(q.fixed_net_front, q.net == r.fixed_net && !dominated_fn);
    EXPECT_EQ(q.beyond_fixed, q.joint_front && !reached);
    joint += q.joint_front;
    beyond += q.beyond_fixed;
  }
  EXPECT_GE(joint, 2);
  EXPECT_NE(codesign_json(nets, r).dump().find("\"fixed_accel\":\"rs 14x12 108kB\""), std::string::npos);
  std::printf("  %d pairs on the joint front, %d beyond both fixed searches\n", joint, beyond);
}

TEST(CoDesign, AFolderWithoutASearchIsBadInput) {
  const std::string dir = ::testing::TempDir() + "/codesign_empty";
  std::filesystem::create_directories(dir);
  try {
    searched_networks(dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find("search.json' does not exist"), std::string::npos) << e.what();
  }
  EXPECT_THROW(codesign({}, {}, {}), Error);
}

}  // namespace
}  // namespace leancnn::search
