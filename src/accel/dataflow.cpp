// Dataflow specs and the deterministic template mapping.
#include "leancnn/accel/dataflow.h"

#include "leancnn/core/error.h"
#include "search_util.h"

namespace leancnn::accel {

const DataflowSpec& dataflow_spec(Dataflow d) {
  using D = Dim;
  static const DataflowSpec ws{Dataflow::ws, Operand::weights, {D::Q, D::P, D::N}, {D::M, D::G}, {D::C, D::S, D::R},
                               {D::N, D::P, D::Q, D::M, D::G, D::C, D::S, D::R}};
  static const DataflowSpec is{Dataflow::is, Operand::inputs, {D::M}, {D::Q, D::P, D::N}, {D::C, D::P, D::G},
                               {D::M, D::C, D::G, D::N, D::P, D::Q, D::R, D::S}};
  static const DataflowSpec os{Dataflow::os, Operand::outputs, {D::S, D::R, D::C}, {D::Q, D::P, D::N}, {D::P, D::M, D::G},
                               {D::C, D::R, D::S, D::M, D::G, D::N, D::P, D::Q}};
  static const DataflowSpec rs{Dataflow::rs, Operand::weights, {D::S, D::Q, D::C, D::M}, {D::P, D::M, D::N, D::G},
                               {D::R, D::C, D::M}, {D::N, D::M, D::G, D::C, D::P, D::Q, D::S, D::R}};
  switch (d) {
    case Dataflow::ws: return ws;
    case Dataflow::is: return is;
    case Dataflow::os: return os;
    case Dataflow::rs: return rs;
  }
  return ws;
}

namespace {
// The level whose fan-out is the PE array, or -1 without any fan-out.
int pe_array_level(const Architecture& arch) { return arch.num_macs() > 1 ? arch.array_level() : -1; }
}  // namespace

int constrained_level(const Architecture& arch, const DataflowSpec& spec) {
  const int a = pe_array_level(arch);
  if (a < 0) return -1;
  if (spec.dataflow == Dataflow::rs) return a + 1 < arch.num_levels() ? arch.num_levels() - 1 : -1;
  for (int i = arch.num_levels() - 1; i > a; --i)
    if (arch.levels[static_cast<size_t>(i)].keeps_operand(spec.stationary)) return i;
  return -1;
}

const std::vector<Dim>& allowed_x(const Architecture& arch, int level, const DataflowSpec& spec) {
  const FanOut& f = arch.levels[static_cast<size_t>(level)].fanout;
  return f.x_dims.empty() ? spec.x_dims : f.x_dims;
}

const std::vector<Dim>& allowed_y(const Architecture& arch, int level, const DataflowSpec& spec) {
  const FanOut& f = arch.levels[static_cast<size_t>(level)].fanout;
  return f.y_dims.empty() ? spec.y_dims : f.y_dims;
}

std::array<Dim, kNumDims> stationary_order(Operand t) {
  std::array<Dim, kNumDims> order{};
  int n = 0;
  for (Dim d : kAllDims)
    if (relevant(t, d)) order[static_cast<size_t>(n++)] = d;
  for (Dim d : kAllDims)
    if (!relevant(t, d)) order[static_cast<size_t>(n++)] = d;
  return order;
}

Mapping template_mapping(const Problem& p, const Architecture& arch, Dataflow df) {
  using detail::axis_options;
  using detail::level_fits;
  const DataflowSpec& spec = dataflow_spec(df);
  const int k = arch.num_levels();
  Mapping m = empty_mapping(k);
  DimFactors rem = p.dims;
  // 1. Spatial: fill every fan-out (outermost first) as fully as the allowed dims divide.
  for (int i = 0; i < k; ++i) {
    const FanOut& f = arch.levels[static_cast<size_t>(i)].fanout;
    if (f.instances() == 1) continue;
    LevelMapping& l = m.levels[static_cast<size_t>(i)];
    l.spatial_x = axis_options(rem, allowed_x(arch, i, spec), f.x, 1).front();
    for (int d = 0; d < kNumDims; ++d) rem[static_cast<size_t>(d)] /= l.spatial_x[static_cast<size_t>(d)];
    l.spatial_y = axis_options(rem, allowed_y(arch, i, spec), f.y, 1).front();
    for (int d = 0; d < kNumDims; ++d) rem[static_cast<size_t>(d)] /= l.spatial_y[static_cast<size_t>(d)];
  }
  for (LevelMapping& l : m.levels) l.order = stationary_order(spec.stationary);
  // 2. PE levels (below the array), innermost first: grow each allowed dimension greedily.
  const int a = pe_array_level(arch) >= 0 ? pe_array_level(arch) : k - 1;
  const int cl = constrained_level(arch, spec);
  std::vector<Dim> grow(spec.spill_order.rbegin(), spec.spill_order.rend());
  for (int i = k - 1; i > a; --i) {
    const std::vector<Dim>& dims = i == cl ? spec.pe_temporal : grow;
    LevelMapping& l = m.levels[static_cast<size_t>(i)];
    for (Dim d : dims) {
      const size_t di = static_cast<size_t>(d);
      const std::vector<int64_t> divs = detail::divisors(rem[di]);
      for (auto it = divs.rbegin(); it != divs.rend(); ++it) {
        l.temporal[di] = *it;
        if (level_fits(p, arch, m, i)) break;
        l.temporal[di] = 1;
      }
      rem[di] /= l.temporal[di];
    }
  }
  // 3. Everything left at the array's level; then, inner levels first, every overflowing
  // level moves one prime factor at a time to the nearest outer level that may iterate over
  // that dimension: its own factors in spill order, else (its own exhausted) factors of the
  // levels below it. The moves form one fixed chain; capacity only decides where it stops.
  for (int d = 0; d < kNumDims; ++d) m.levels[static_cast<size_t>(a)].temporal[static_cast<size_t>(d)] *= rem[static_cast<size_t>(d)];
  auto allowed = [&](int level, Dim d) {
    if (level != cl) return true;
    for (Dim x : spec.pe_temporal)
      if (x == d) return true;
    return false;
  };
  auto spill_from = [&](int from, int below) {
    for (Dim d : spec.spill_order) {
      const size_t di = static_cast<size_t>(d);
      LevelMapping& l = m.levels[static_cast<size_t>(from)];
      if (l.temporal[di] == 1) continue;
      int to = below - 1;
      while (to > 0 && !allowed(to, d)) --to;
      const int64_t f = detail::smallest_prime(l.temporal[di]);
      l.temporal[di] /= f;
      m.levels[static_cast<size_t>(to)].temporal[di] *= f;
      return true;
    }
    return false;
  };
  for (int i = k - 1; i >= 1; --i) {
    while (!level_fits(p, arch, m, i)) {
      bool moved = spill_from(i, i);
      for (int j = i + 1; !moved && j < k; ++j) moved = spill_from(j, i);
      if (!moved) break;  // even one element per loop overflows: left for validation
    }
  }
  return m;
}

}  // namespace leancnn::accel
