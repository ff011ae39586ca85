// Mappings: tiles, capacity, validation and the one-line text form.
#include "leancnn/accel/mapping.h"

#include <cmath>

#include "index_set.h"
#include "leancnn/accel/cosim.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {

int64_t LevelMapping::x_used() const {
  int64_t n = 1;
  for (int64_t f : spatial_x) n *= f;
  return n;
}

int64_t LevelMapping::y_used() const {
  int64_t n = 1;
  for (int64_t f : spatial_y) n *= f;
  return n;
}

namespace {
std::string factors_text(const DimFactors& f, const std::array<Dim, kNumDims>& order) {
  std::string s;
  for (Dim d : order)
    if (f[static_cast<int>(d)] != 1) s += str_cat(s.empty() ? "" : " ", dim_letter(d), f[static_cast<int>(d)]);
  return s;
}
}  // namespace

std::string Mapping::to_string(const Architecture& arch) const {
  std::string s;
  for (size_t i = 0; i < levels.size(); ++i) {
    const LevelMapping& l = levels[i];
    std::string inner = factors_text(l.temporal, l.order);
    const std::string x = factors_text(l.spatial_x, kAllDims);
    const std::string y = factors_text(l.spatial_y, kAllDims);
    if (!x.empty()) inner += str_cat(inner.empty() ? "" : " ", "| X: ", x);
    if (!y.empty()) inner += str_cat(inner.empty() ? "" : " ", "| Y: ", y);
    const std::string name = i < arch.levels.size() ? arch.levels[i].name : str_cat("L", i);
    s += str_cat(s.empty() ? "" : " ", name, "[", inner, "]");
  }
  return s;
}

Mapping empty_mapping(int num_levels) {
  Mapping m;
  m.levels.resize(static_cast<size_t>(num_levels));
  return m;
}

DimFactors tile_extents(const Mapping& m, int level) {
  DimFactors e = kOnes;
  for (size_t j = static_cast<size_t>(level); j < m.levels.size(); ++j)
    for (int d = 0; d < kNumDims; ++d)
      e[static_cast<size_t>(d)] *= m.levels[j].temporal[static_cast<size_t>(d)] * m.levels[j].spatial_x[static_cast<size_t>(d)] *
                                   m.levels[j].spatial_y[static_cast<size_t>(d)];
  return e;
}

int64_t tile_elements(const Problem& p, const DimFactors& e, Operand t) {
  auto E = [&](Dim d) { return e[static_cast<int>(d)]; };
  switch (t) {
    case Operand::weights: return E(Dim::G) * E(Dim::M) * E(Dim::C) * E(Dim::R) * E(Dim::S);
    case Operand::outputs: return E(Dim::N) * E(Dim::G) * E(Dim::M) * E(Dim::P) * E(Dim::Q);
    case Operand::inputs:
      return E(Dim::N) * E(Dim::G) * E(Dim::C) * detail::sliding_count(E(Dim::P), p.stride_h, E(Dim::R), p.dil_h) *
             detail::sliding_count(E(Dim::Q), p.stride_w, E(Dim::S), p.dil_w);
  }
  return 0;
}

int64_t mac_units_used(const Mapping& m) {
  int64_t n = 1;
  for (const LevelMapping& l : m.levels) n *= l.x_used() * l.y_used();
  return n;
}

namespace {

int64_t words_for(double elements, int bits, int word_bits) {
  if (bits <= word_bits) {
    const int per_word = word_bits / bits;
    return static_cast<int64_t>(std::ceil(elements / per_word));
  }
  return static_cast<int64_t>(std::ceil(elements)) * ((bits + word_bits - 1) / word_bits);
}

// Empty string when valid, else the reason (naming level and field).
std::string check(const Mapping& m, const Problem& p, const Architecture& arch, bool with_capacity) {
  if (static_cast<int>(m.levels.size()) != arch.num_levels())
    return str_cat("mapping has ", m.levels.size(), " levels, architecture '", arch.name, "' has ", arch.num_levels());
  for (Dim d : kAllDims) {
    int64_t prod = 1;
    for (const LevelMapping& l : m.levels) prod *= l.t(d) * l.spatial(d);
    if (prod != p.dim(d)) {
      std::string per_level;
      for (size_t i = 0; i < m.levels.size(); ++i)
        if (m.levels[i].t(d) * m.levels[i].spatial(d) != 1)
          per_level += str_cat(per_level.empty() ? "" : ", ", arch.levels[i].name, " ", m.levels[i].t(d) * m.levels[i].spatial(d));
      return str_cat("mapping: factors of ", dim_letter(d), " multiply to ", prod, " (", per_level.empty() ? "none" : per_level,
                     ") but layer '", p.name, "' has ", dim_letter(d), " = ", p.dim(d));
    }
  }
  for (size_t i = 0; i < m.levels.size(); ++i) {
    const LevelMapping& l = m.levels[i];
    const StorageLevel& a = arch.levels[i];
    for (int d = 0; d < kNumDims; ++d) {
      if (l.temporal[static_cast<size_t>(d)] < 1 || l.spatial_x[static_cast<size_t>(d)] < 1 || l.spatial_y[static_cast<size_t>(d)] < 1)
        return str_cat("mapping: level '", a.name, "': factors must be >= 1");
    }
    if (l.x_used() > a.fanout.x)
      return str_cat("mapping: level '", a.name, "': field 'spatial_x': factors multiply to ", l.x_used(),
                     " but the fan-out has x = ", a.fanout.x);
    if (l.y_used() > a.fanout.y)
      return str_cat("mapping: level '", a.name, "': field 'spatial_y': factors multiply to ", l.y_used(),
                     " but the fan-out has y = ", a.fanout.y);
    if (!with_capacity || a.capacity_words == 0) continue;
    const int64_t need = tile_words(p, arch, m, static_cast<int>(i));
    if (need > a.capacity_words) {
      const DimFactors e = tile_extents(m, static_cast<int>(i));
      std::string parts;
      for (Operand t : kAllOperands)
        if (a.keeps_operand(t))
          parts += str_cat(parts.empty() ? "" : " + ", operand_name(t), " ",
                           words_for(tile_elements(p, e, t) * storage_factor(p, arch, static_cast<int>(i), t),
                                     p.bits[static_cast<int>(t)], a.word_bits));
      return str_cat("mapping: level '", a.name, "': field 'capacity': the tile needs ", need, " words (", parts,
                     ") but the level holds ", a.capacity_words);
    }
  }
  return {};
}

}  // namespace

int64_t tile_words(const Problem& p, const Architecture& arch, const Mapping& m, int level) {
  const StorageLevel& a = arch.levels[static_cast<size_t>(level)];
  const DimFactors e = tile_extents(m, level);
  int64_t words = 0;
  for (Operand t : kAllOperands) {
    if (!a.keeps_operand(t)) continue;
    const double elems = static_cast<double>(tile_elements(p, e, t)) * storage_factor(p, arch, level, t);
    words += words_for(elems, p.bits[static_cast<int>(t)], a.word_bits);
  }
  return words;
}

void validate_mapping(const Mapping& m, const Problem& p, const Architecture& arch) {
  const std::string why = check(m, p, arch, true);
  if (!why.empty()) fail(ErrorKind::bad_input, why);
}

bool mapping_fits(const Mapping& m, const Problem& p, const Architecture& arch) { return check(m, p, arch, true).empty(); }

}  // namespace leancnn::accel
