// Mappings: tiles and capacity, the text form, and errors that name the level and the field.
#include <gtest/gtest.h>

#include "accel_test_util.h"
#include "leancnn/accel/cost_model.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {
namespace {
using namespace test_util;

Architecture two_level(int64_t buffer_words, int64_t fanout_x = 1) {
  Architecture a;
  a.name = "toy";
  StorageLevel buf = level("Buffer", buffer_words);
  buf.fanout.x = fanout_x;
  a.levels = {level("DRAM", 0, true), buf};
  return finish(a);
}

std::string mapping_error(const Problem& p, const Architecture& a, const std::string& yaml) {
  try {
    validate_mapping(mapping_from_yaml(yaml, a), p, a);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    return e.what();
  }
  ADD_FAILURE() << "expected an error for:\n" << yaml;
  return "";
}

void expect_mentions(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' missing from: " << msg;
}

TEST(Mapping, TilesAndWords) {
  const Architecture a = two_level(1000);
  const Problem p = conv1d(8, 4, 3, 16);
  const Mapping m = mapping_from_yaml(
      "mapping:\n  - level: DRAM\n    temporal: M2 P4\n  - level: Buffer\n    temporal: M4 C4 R3 P4\n", a);
  const DimFactors e = tile_extents(m, 1);
  EXPECT_EQ(e[static_cast<int>(Dim::M)], 4);
  EXPECT_EQ(e[static_cast<int>(Dim::P)], 4);
  EXPECT_EQ(tile_elements(p, e, Operand::weights), 4 * 4 * 3);
  EXPECT_EQ(tile_elements(p, e, Operand::inputs), 4 * (4 + 2));
  EXPECT_EQ(tile_elements(p, e, Operand::outputs), 4 * 4);
  EXPECT_EQ(tile_words(p, a, m, 1), 48 + 24 + 16);
  // 8-bit operands pack two per 16-bit word.
  Problem p8 = p;
  p8.bits = {8, 8, 8};
  EXPECT_EQ(tile_words(p8, a, m, 1), 24 + 12 + 8);
  EXPECT_EQ(m.to_string(a), "DRAM[M2 P4] Buffer[M4 C4 R3 P4]");
  EXPECT_NO_THROW(validate_mapping(m, p, a));
}

TEST(Mapping, FactorsMustMultiplyToTheLayer) {
  const Architecture a = two_level(1000);
  const Problem p = conv1d(8, 4, 3, 16);
  expect_mentions(mapping_error(p, a, "mapping:\n  - level: DRAM\n    temporal: M2 P4\n  - level: Buffer\n    temporal: M2 C4 R3 P4\n"),
                  {"factors of M multiply to 4", "DRAM 2", "Buffer 2", "M = 8"});
}

TEST(Mapping, TileMustFitTheLevel) {
  const Architecture a = two_level(40);
  const Problem p = conv1d(8, 4, 3, 16);
  expect_mentions(mapping_error(p, a, "mapping:\n  - level: DRAM\n    temporal: M2 P4\n  - level: Buffer\n    temporal: M4 C4 R3 P4\n"),
                  {"level 'Buffer'", "capacity", "88 words", "weights 48", "holds 40"});
}

TEST(Mapping, SpatialFactorsMustFitTheFanOut) {
  const Architecture a = two_level(1000, 4);
  const Problem p = conv1d(8, 4, 3, 16);
  expect_mentions(mapping_error(p, a, "mapping:\n  - level: DRAM\n    temporal: P16\n  - level: Buffer\n    temporal: C4 R3\n    spatial_x: M8\n"),
                  {"level 'Buffer'", "spatial_x", "8", "x = 4"});
  // spatial_y on a fan-out of height 1.
  expect_mentions(mapping_error(p, a, "mapping:\n  - level: DRAM\n    temporal: P16 M4\n  - level: Buffer\n    temporal: C4 R3\n    spatial_y: M2\n"),
                  {"level 'Buffer'", "spatial_y"});
}

TEST(Mapping, FileErrorsNameLevelAndField) {
  const Architecture a = two_level(1000);
  auto resolve_error = [&](const std::string& yaml) -> std::string {
    try {
      mapping_from_yaml(yaml, a);
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected an error for:\n" << yaml;
    return "";
  };
  expect_mentions(resolve_error("mapping:\n  - level: L2\n    temporal: M2\n"), {"level 'L2'", "'level'", "DRAM, Buffer"});
  expect_mentions(resolve_error("mapping:\n  - level: Buffer\n    temporal: M0\n"), {"level 'Buffer'", "temporal", "M0"});
  expect_mentions(resolve_error("mapping:\n  - level: Buffer\n    temporal: X4\n"), {"level 'Buffer'", "temporal", "X4"});
  expect_mentions(resolve_error("mapping:\n  - level: Buffer\n    spatial_x: M2 M2\n"), {"spatial_x", "twice"});
  expect_mentions(resolve_error("mapping:\n  - level: Buffer\n    tempral: M2\n"), {"level 'Buffer'", "tempral"});
  expect_mentions(resolve_error("mapping:\n  - level: Buffer\n  - level: Buffer\n"), {"appears twice"});
  EXPECT_THROW(parse_mapping_file("nothing: here\n", "m.yaml"), Error);
  EXPECT_THROW(load_mapping_file("/nonexistent/map.yaml"), Error);
}

TEST(Mapping, PerLayerFilesFallBackToTheFileWideMapping) {
  const MappingFile f = parse_mapping_file(
      "mapping:\n  - level: Buffer\n    temporal: M2\n"
      "layers:\n  conv1:\n    - level: DRAM\n      temporal: P4\n",
      "m.yaml");
  ASSERT_NE(f.find("conv1"), nullptr);
  EXPECT_EQ(f.find("conv1")->entries.at(0).level, "DRAM");
  EXPECT_EQ(f.find("other")->entries.at(0).level, "Buffer");
}

}  // namespace
}  // namespace leancnn::accel
