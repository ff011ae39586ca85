// Search spaces (docs/nas.md §1): a space is a fixed list of categorical decisions; an
// architecture is one choice per decision (a small value type every strategy can sample,
// mutate and learn over). Each space decodes an architecture to an ir::Graph through the
// ir::Builder, as the zoo models are written; architectures serialise to YAML by decision
// name and option label, and have a content hash over the canonical form (decisions that do
// not reach the network, e.g. the blocks beyond a stage's depth, are reset first).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/core/rng.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"
#include "leancnn/models/zoo.h"

namespace leancnn::search {

struct Decision {
  std::string name;                  // "stage1.block0.kernel"
  std::vector<std::string> options;  // labels, as written in YAML: "3", "5", "7"
};

struct Architecture {
  std::string space;         // "mobile", "macro", "cell"
  std::vector<int> choices;  // one index per decision, in the space's order
  friend bool operator==(const Architecture& a, const Architecture& b) {
    return a.space == b.space && a.choices == b.choices;
  }
};

class SearchSpace {
 public:
  virtual ~SearchSpace() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;  // one line
  const std::vector<Decision>& decisions() const { return decisions_; }

  // The network; error(bad_input) when the input is too small for the space's strides.
  virtual ir::Graph build(const Architecture& a, const models::ModelConfig& cfg, const ir::OpTable& ops) const = 0;
  // The same network with every decision that does not reach it reset to option 0.
  virtual Architecture canonical(const Architecture& a) const { return a; }
  // A short human-readable summary ("d2x16 k5e6se ...").
  virtual std::string describe(const Architecture& a) const;

  // Error(bad_input) naming the decision when `a` is not an architecture of this space.
  void validate(const Architecture& a) const;
  Architecture sample(Rng& rng) const;  // every decision uniform
  // `count` decisions changed, each to another of its options (evolution's mutation).
  Architecture mutate(const Architecture& a, Rng& rng, int count = 1) const;
  // Decision index by name; -1 when absent.
  int find(const std::string& decision) const;
  // log2 of the number of architectures (decisions' option counts multiplied).
  double log2_size() const;

 protected:
  std::vector<Decision> decisions_;
};

// "mobile", "macro", "cell"; error(usage) listing them for anything else.
std::unique_ptr<SearchSpace> make_space(const std::string& name);
std::vector<std::string> space_names();

// 32 hex digits over the canonical architecture (space, choices): equal networks, equal hash.
std::string arch_hash(const SearchSpace& space, const Architecture& a);

// YAML: `space: mobile` and `choices: {decision: label, ...}`; from_yaml checks every name and
// label (error(bad_input) naming the decision, the label and the labels it accepts); decisions
// missing from the text take option 0.
std::string to_yaml(const SearchSpace& space, const Architecture& a);
Architecture from_yaml(const std::string& text);
Architecture load_yaml_file(const std::string& path);
// The choices by label as a JSON object text, for result files: {"stage0.depth":"2",...}.
std::string choices_json(const SearchSpace& space, const Architecture& a);

// A 128-bit FNV-1a based content hash of any text (32 hex digits).
std::string content_hash(const std::string& text);

}  // namespace leancnn::search
