// Accelerator co-design (docs/nas.md §5): the accelerator's parameters searched together with
// the network. The accelerator space is the dataflow (and so the preset it starts from:
// ws -> tpu-like, os -> shidiannao-like, rs -> eyeriss-like), the PE array's sides and the global
// buffer's capacity, under a resource budget (MAC units, kB of SRAM). For every network the search
// evaluated (its accuracy and its layers as accel::Problems) and every accelerator of the space,
// accel::evaluate_network gives the energy and cycles of the pair. Three Pareto fronts of
// accuracy (higher) against energy (lower) come out: the joint one over every pair, the one a
// fixed accelerator allows (every network on it) and the one a fixed network allows (it on every
// accelerator); a joint-front pair that no pair of either fixed front weakly dominates is what
// neither fixed search reaches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/workload.h"
#include "leancnn/core/json.h"

namespace leancnn::search {

struct AccelKnobs {
  accel::Dataflow dataflow = accel::Dataflow::rs;
  int64_t pe_x = 14, pe_y = 12;
  int64_t buffer_kb = 108;
  bool operator==(const AccelKnobs& o) const {
    return dataflow == o.dataflow && pe_x == o.pe_x && pe_y == o.pe_y && buffer_kb == o.buffer_kb;
  }
};

struct AccelSpaceOptions {
  std::vector<accel::Dataflow> dataflows = {accel::Dataflow::ws, accel::Dataflow::os, accel::Dataflow::rs};
  std::vector<int64_t> pe_sides = {8, 12, 16, 24, 32};
  std::vector<int64_t> buffer_kb = {32, 64, 128, 256, 512};
  int64_t max_pes = 576;        // resource budget: PE count
  int64_t max_buffer_kb = 256;  // and global-buffer kB
  bool template_mapping = true;  // the dataflow's template mapping (fast) instead of the mapper's search
};

// "rs 16x12 128kB".
std::string knobs_label(const AccelKnobs& k);
// Every point of the space within the budget, in a fixed order. Error(usage) on an empty list
// or a value < 1.
std::vector<AccelKnobs> accel_space(const AccelSpaceOptions& o);
// The dataflow's preset with the PE array and the global buffer (level 1) replaced, energies
// re-derived from the new capacity, validated.
accel::Architecture build_accel(const AccelKnobs& k);

struct CoDesignNet {
  std::string name;
  double accuracy = 0;
  std::vector<accel::Problem> layers;
};

struct CoDesignPoint {
  int64_t net = 0;  // index into the nets
  AccelKnobs accel;
  double energy_pj = 0;
  int64_t cycles = 0;
  bool joint_front = false;        // on the front over every pair
  bool fixed_accel_front = false;  // on the front of the fixed accelerator's pairs
  bool fixed_net_front = false;    // on the front of the fixed network's pairs
  bool beyond_fixed = false;       // joint front, weakly dominated by no pair of either fixed front
};

struct CoDesignResult {
  std::vector<CoDesignPoint> points;  // every (net, accelerator) pair, nets outer
  AccelKnobs fixed_accel;
  int64_t fixed_net = 0;              // the most accurate network
  int64_t accelerators = 0;
};

// Error(usage) without networks; `fixed_accel` need not be in the space (it is added).
CoDesignResult codesign(const std::vector<CoDesignNet>& nets, const AccelSpaceOptions& o, const AccelKnobs& fixed_accel);

// The networks a finished search trained (`dir`/search.json's trajectory: every evaluation
// without error whose `dir`/models/<hash>.onnx exists, once each, validation accuracy) as
// co-design inputs. Error(bad_input) naming the file when the folder holds no search or no model.
std::vector<CoDesignNet> searched_networks(const std::string& dir);

// The result as JSON: the space, the fixed pair, and every point with its flags.
Json codesign_json(const std::vector<CoDesignNet>& nets, const CoDesignResult& r);

}  // namespace leancnn::search
