// Helpers for the accelerator-model tests: small problems, architectures and mappings.
#pragma once
#include <string>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/mapping.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel::test_util {

// Timeloop's conv1d family: K output channels (our M), C input channels, R taps, P outputs.
inline Problem conv1d(int64_t k, int64_t c, int64_t r, int64_t p) {
  Problem pr;
  pr.name = "conv1d";
  pr.op = "Conv";
  pr.dim(Dim::M) = k;
  pr.dim(Dim::C) = c;
  pr.dim(Dim::R) = r;
  pr.dim(Dim::P) = p;
  return pr;
}

inline StorageLevel level(const std::string& name, int64_t capacity_words, bool dram = false) {
  StorageLevel l;
  l.name = name;
  l.capacity_words = capacity_words;
  l.dram = dram;
  return l;
}

// Resolves and validates a one-mapping YAML text against an architecture.
inline Mapping mapping_from_yaml(const std::string& yaml, const Architecture& arch) {
  const MappingFile f = parse_mapping_file(yaml, "test mapping");
  return resolve_mapping(*f.find(""), arch);
}

inline Architecture finish(Architecture a) {
  a.resolve_energies();
  a.validate();
  return a;
}

}  // namespace leancnn::accel::test_util
