// Mappings: per storage level, the temporal loops (factor per dimension and their order,
// outermost first) and the spatial factors spread over that level's fan-out (X and Y).
// Level i's loops iterate over tiles held by level i; its spatial loops split its tile among
// the instances below it. A valid mapping's factors multiply to the problem's dimensions.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel {

using DimFactors = std::array<int64_t, kNumDims>;
inline constexpr DimFactors kOnes = {1, 1, 1, 1, 1, 1, 1, 1};

struct LevelMapping {
  DimFactors temporal = kOnes;
  std::array<Dim, kNumDims> order = kAllDims;  // temporal loop order, outermost first
  DimFactors spatial_x = kOnes;
  DimFactors spatial_y = kOnes;

  int64_t t(Dim d) const { return temporal[static_cast<int>(d)]; }
  int64_t x(Dim d) const { return spatial_x[static_cast<int>(d)]; }
  int64_t y(Dim d) const { return spatial_y[static_cast<int>(d)]; }
  int64_t spatial(Dim d) const { return x(d) * y(d); }
  int64_t x_used() const;  // product of spatial_x
  int64_t y_used() const;
};

struct Mapping {
  std::vector<LevelMapping> levels;  // one per architecture storage level, outermost first

  // "DRAM[M2 P4] GlobalBuffer[C16 Q8 | X: M14 | Y: R3 C4] RF[Q4 S3]" (factors of 1 omitted).
  std::string to_string(const Architecture& arch) const;
};

// A mapping with every factor 1 for an architecture with n levels.
Mapping empty_mapping(int num_levels);

// Per-instance tile extent of every dimension at level i (the product of the factors of
// levels >= i, temporal and spatial); i == levels.size() gives all ones (one MAC).
DimFactors tile_extents(const Mapping& m, int level);
// Elements of operand t in an extent box (inputs: distinct sliding-window positions).
int64_t tile_elements(const Problem& p, const DimFactors& ext, Operand t);
// Words level i needs for its tile (the operands it keeps, packed by bits, compressed where
// the level compresses sparse operands).
int64_t tile_words(const Problem& p, const Architecture& arch, const Mapping& m, int level);
// MAC units the mapping uses (the product of all spatial factors).
int64_t mac_units_used(const Mapping& m);

// Throws Error(bad_input) naming the level and the field: a level count that differs from
// the architecture's, factors that do not multiply to the problem's dimensions, spatial
// factors beyond a fan-out's X or Y, a tile that does not fit a level's capacity.
void validate_mapping(const Mapping& m, const Problem& p, const Architecture& arch);
// The same checks, returning false instead of throwing (the mapper's filter).
bool mapping_fits(const Mapping& m, const Problem& p, const Architecture& arch);

// A mapping as written in a file, before it meets an architecture (see mapping_yaml.cpp):
//   mapping:                       # applies to every layer, or
//   layers: { conv1: [...], ... }  # per layer name
//   - level: DRAM
//     temporal: M32 P16            # outermost first; K is accepted for M
//     spatial_x: M4
//     spatial_y: C2
struct MappingSpec {
  struct Entry {
    std::string level;
    std::string temporal, spatial_x, spatial_y;
    int line = 0;
  };
  std::vector<Entry> entries;
  std::string source;  // for messages
};

struct MappingFile {
  std::optional<MappingSpec> all_layers;
  std::map<std::string, MappingSpec> layers;
  std::string source;
  // The spec for a layer: its own, else the file-wide one; nullptr when neither.
  const MappingSpec* find(const std::string& layer) const;
};

MappingFile parse_mapping_file(const std::string& yaml_text, const std::string& source = "<yaml>");
MappingFile load_mapping_file(const std::string& path);
// Resolves level names and factor strings against an architecture; throws Error(bad_input)
// naming the level and the field. Levels the spec does not mention get factors of 1.
Mapping resolve_mapping(const MappingSpec& spec, const Architecture& arch);

}  // namespace leancnn::accel
