// The nest analysis: tile deltas per loop carry, multicast and reduction on fan-outs, then
// accesses, bandwidth cycles and energy (see cost_model.h for the counting rules).
#include "leancnn/accel/cost_model.h"

#include <algorithm>
#include <cmath>

#include "index_set.h"
#include "leancnn/accel/cosim.h"
#include "leancnn/accel/systolic.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {

const char* output_fill_name(OutputFill f) { return f == OutputFill::first_touch ? "first-touch" : "every-arrival"; }

OutputFill parse_output_fill(const std::string& text) {
  if (text == "every-arrival") return OutputFill::every_arrival;
  if (text == "first-touch") return OutputFill::first_touch;
  fail(ErrorKind::bad_input, "unknown output fill rule '", text, "'; expected every-arrival or first-touch");
}

double Cost::storage_energy_pj() const {
  double e = 0;
  for (const LevelCost& l : levels) e += l.energy_pj;
  return e;
}

double Cost::network_energy_total_pj() const {
  double e = 0;
  for (double x : network_energy_pj) e += x;
  return e;
}

namespace {

using detail::Digit;
using detail::IndexSet;

constexpr int kMaxLevels = 16;
constexpr int kMaxLoops = kMaxLevels * kNumDims;

int idx(Dim d) { return static_cast<int>(d); }

struct Loop {
  Dim dim;
  int64_t factor;
  int64_t unit;  // coordinate step of one iteration, in units of the dimension
};

// The shape of a tile (one instance's, or the union over a parent's children).
struct TileShape {
  DimFactors size = kOnes;  // distinct indices per dimension
  IndexSet h, w;            // inputs: distinct rows / columns
  int64_t elements = 1;
};

class Nest {
 public:
  Nest(const Problem& p, const Mapping& m) : p_(p), m_(m), k_(static_cast<int>(m.levels.size())) {
    LEANCNN_CHECK(k_ <= kMaxLevels, "at most ", kMaxLevels, " levels");
    for (int i = 0; i <= k_; ++i) ext_[i] = tile_extents(m, i);
    inst_[0] = 1;
    for (int i = 0; i < k_; ++i) inst_[i + 1] = inst_[i] * m.levels[static_cast<size_t>(i)].x_used() * m.levels[static_cast<size_t>(i)].y_used();
    // Flatten the temporal loops, outermost first; a loop's unit is the product of the
    // factors of its dimension inside it (inner temporal loops of its level, the level's
    // spatial loops and every deeper level).
    for (int i = 0; i < k_; ++i) {
      loops_before_[i] = n_loops_;
      const LevelMapping& l = m.levels[static_cast<size_t>(i)];
      DimFactors inner = ext_[i + 1];
      for (int d = 0; d < kNumDims; ++d) inner[static_cast<size_t>(d)] *= l.spatial_x[static_cast<size_t>(d)] * l.spatial_y[static_cast<size_t>(d)];
      Loop level_loops[kNumDims];
      int n = 0;
      for (int k = kNumDims - 1; k >= 0; --k) {
        const Dim d = l.order[static_cast<size_t>(k)];
        const int64_t f = l.t(d);
        if (f == 1) continue;
        level_loops[n++] = Loop{d, f, inner[static_cast<size_t>(idx(d))]};
        inner[static_cast<size_t>(idx(d))] *= f;
      }
      for (int k = n - 1; k >= 0; --k) loops_[n_loops_++] = level_loops[k];
    }
    loops_before_[k_] = n_loops_;
    steps_ = 1;
    for (int j = 0; j < n_loops_; ++j) steps_ *= loops_[j].factor;
  }

  int64_t steps() const { return steps_; }
  int64_t instances(int level) const { return inst_[level]; }
  const DimFactors& extents(int level) const { return ext_[level]; }

  // One instance's tile at level c (all ones for the MAC units, c == k).
  TileShape child_shape(Operand t, int c) const {
    TileShape s;
    s.size = ext_[c];
    finish(t, s, IndexSet::interval(s.size[idx(Dim::P)]), IndexSet::interval(s.size[idx(Dim::R)]),
           IndexSet::interval(s.size[idx(Dim::Q)]), IndexSet::interval(s.size[idx(Dim::S)]));
    return s;
  }

  // The union of the tiles of the level-c instances below one level-p instance.
  TileShape aggregate_shape(Operand t, int p, int c) const {
    TileShape s;
    IndexSet sets[kNumDims];
    for (Dim d : kAllDims) {
      Digit digits[2 * kMaxLevels + 1];
      int n = 0;
      digits[n++] = Digit{ext_[c][static_cast<size_t>(idx(d))], 1};
      for (int j = p; j < c; ++j) {
        const LevelMapping& l = m_.levels[static_cast<size_t>(j)];
        const int64_t below = ext_[j + 1][static_cast<size_t>(idx(d))];
        digits[n++] = Digit{l.x(d), below};
        digits[n++] = Digit{l.y(d), below * l.x(d)};
      }
      int64_t count = 1;
      for (int k = 0; k < n; ++k) count *= digits[k].count;
      s.size[static_cast<size_t>(idx(d))] = count;
      if (t == Operand::inputs && (d == Dim::P || d == Dim::Q || d == Dim::R || d == Dim::S))
        sets[idx(d)] = IndexSet::from_digits(digits, n);
    }
    if (t == Operand::inputs)
      finish(t, s, sets[idx(Dim::P)], sets[idx(Dim::R)], sets[idx(Dim::Q)], sets[idx(Dim::S)]);
    else
      finish(t, s, {}, {}, {}, {});
    return s;
  }

  // Elements entering a tile over the temporal loops of levels < c: the first tile, plus the
  // new elements at every step. A step is a carry into loop j (inner loops wrap, loop j
  // advances); it translates the tile by a fixed vector. As Timeloop does (its reset on
  // stride change), the overlap with the previous tile is credited only when the tile moves
  // along one data axis in the same direction as the previous move (or after a step that did
  // not move it); any other move refetches the whole tile. A dynamic programme over the
  // loops, with the move direction as state, sums this in O(loops).
  int64_t visits(Operand t, const TileShape& s, int c) const {
    const int n = loops_before_[c];
    if (n == 0) return s.elements;
    // Per loop j: the step's outcome. kinds: 0 unchanged, 1 slide along dir, 2 refetch.
    int kind[kMaxLoops], dir[kMaxLoops];
    int64_t slide_new[kMaxLoops];
    int64_t reset[kNumDims] = {0};
    for (int j = n - 1; j >= 0; --j) {
      const Loop& l = loops_[j];
      int64_t delta[kNumDims];
      for (int d = 0; d < kNumDims; ++d) delta[d] = -reset[d];
      delta[idx(l.dim)] += l.unit;
      classify(t, s, delta, kind[j], dir[j], slide_new[j]);
      reset[idx(l.dim)] += (l.factor - 1) * l.unit;
    }
    bool slides = false;
    for (int j = 0; j < n; ++j) slides = slides || kind[j] == 1;
    if (!slides) {
      // No partial overlaps: each step refetches the whole tile or nothing.
      int64_t total = s.elements, outer = 1;
      for (int j = 0; j < n; ++j) {
        if (kind[j] == 2) total += (loops_[j].factor - 1) * outer * s.elements;
        outer *= loops_[j].factor;
      }
      return total;
    }
    // F[g] = (new elements, final direction) of one full execution of loops k..n-1 entered
    // with direction g; built from the innermost loop outwards.
    constexpr int kDirs = 5;  // none, rows+, rows-, cols+, cols-
    int64_t fd[kDirs] = {0, 0, 0, 0, 0};
    int fg[kDirs] = {0, 1, 2, 3, 4};
    for (int k = n - 1; k >= 0; --k) {
      int64_t nd[kDirs];
      int ng[kDirs];
      for (int g = 0; g < kDirs; ++g) {
        int64_t total = fd[g];
        int cur = fg[g];
        // (factor - 1) carries of loop k, each followed by a full inner execution; the state
        // space is tiny, so detect the cycle and extrapolate.
        int64_t remaining = loops_[k].factor - 1;
        int64_t seen_at[kDirs] = {-1, -1, -1, -1, -1};
        int64_t total_at[kDirs] = {0, 0, 0, 0, 0};
        int64_t done = 0;
        while (remaining > 0) {
          if (seen_at[cur] >= 0) {
            const int64_t len = done - seen_at[cur];
            const int64_t sum = total - total_at[cur];
            const int64_t cycles = remaining / len;
            total += cycles * sum;
            remaining -= cycles * len;
            for (int x = 0; x < kDirs; ++x) seen_at[x] = -1;  // finish the remainder plainly
            if (remaining == 0) break;
          }
          seen_at[cur] = done;
          total_at[cur] = total;
          int64_t step_new;
          int next;
          step(kind[k], dir[k], slide_new[k], s.elements, cur, step_new, next);
          total += step_new + fd[next];
          cur = fg[next];
          ++done;
          --remaining;
        }
        nd[g] = total;
        ng[g] = cur;
      }
      for (int g = 0; g < kDirs; ++g) {
        fd[g] = nd[g];
        fg[g] = ng[g];
      }
    }
    return s.elements + fd[0];
  }

 private:
  void finish(Operand t, TileShape& s, const IndexSet& p, const IndexSet& r, const IndexSet& q, const IndexSet& sset) const {
    auto S = [&](Dim d) { return s.size[static_cast<size_t>(idx(d))]; };
    switch (t) {
      case Operand::weights: s.elements = S(Dim::G) * S(Dim::M) * S(Dim::C) * S(Dim::R) * S(Dim::S); break;
      case Operand::outputs: s.elements = S(Dim::N) * S(Dim::G) * S(Dim::M) * S(Dim::P) * S(Dim::Q); break;
      case Operand::inputs:
        s.h = IndexSet::sliding(p, p_.stride_h, r, p_.dil_h);
        s.w = IndexSet::sliding(q, p_.stride_w, sset, p_.dil_w);
        s.elements = S(Dim::N) * S(Dim::G) * S(Dim::C) * s.h.size() * s.w.size();
        break;
    }
  }

  // A step's outcome for a tile moved by `delta` (per problem dimension): unchanged (kind 0),
  // a slide along one input axis that keeps `slide_new` elements new (kind 1, direction 1..4),
  // or a move to a disjoint / differently shaped position (kind 2: the whole tile is new).
  void classify(Operand t, const TileShape& s, const int64_t* delta, int& kind, int& dir, int64_t& slide_new) const {
    kind = 0;
    dir = 0;
    slide_new = s.elements;
    if (t != Operand::inputs) {
      for (Dim d : kAllDims)
        if (relevant(t, d) && delta[idx(d)] != 0) kind = 2;
      return;
    }
    if (delta[idx(Dim::N)] || delta[idx(Dim::G)] || delta[idx(Dim::C)]) {
      kind = 2;
      return;
    }
    const int64_t dh = delta[idx(Dim::P)] * p_.stride_h + delta[idx(Dim::R)] * p_.dil_h;
    const int64_t dw = delta[idx(Dim::Q)] * p_.stride_w + delta[idx(Dim::S)] * p_.dil_w;
    if (dh == 0 && dw == 0) return;
    if (dh != 0 && dw != 0) {
      kind = 2;
      return;
    }
    const int64_t other = s.size[idx(Dim::N)] * s.size[idx(Dim::G)] * s.size[idx(Dim::C)];
    const int64_t shared = dh != 0 ? s.h.overlap(dh) * s.w.size() : s.w.overlap(dw) * s.h.size();
    if (shared == 0) {
      kind = 2;
      return;
    }
    kind = 1;
    dir = dh != 0 ? (dh > 0 ? 1 : 2) : (dw > 0 ? 3 : 4);
    slide_new = s.elements - other * shared;
  }

  // Applies a step to the incoming direction g: new elements and the direction after it.
  static void step(int kind, int dir, int64_t slide_new, int64_t elements, int g, int64_t& fresh, int& next) {
    if (kind == 0) {
      fresh = 0;
      next = 0;
    } else if (kind == 1 && (g == 0 || g == dir)) {
      fresh = slide_new;
      next = dir;
    } else {
      fresh = elements;
      next = 0;
    }
  }

  const Problem& p_;
  const Mapping& m_;
  int k_;
  DimFactors ext_[kMaxLevels + 1];
  int64_t inst_[kMaxLevels + 1];
  Loop loops_[kMaxLoops];
  int n_loops_ = 0;
  int loops_before_[kMaxLevels + 1] = {0};
  int64_t steps_ = 1;
};

// Distinct output elements held over the layer by all instances of a level: instances split by
// dimensions outputs do not depend on (C, R, S) above it each hold their own partial sums.
int64_t distinct_outputs(const Problem& p, const Mapping& m, int level) {
  int64_t distinct = p.size(Operand::outputs);
  for (int j = 0; j < level; ++j)
    for (Dim d : kAllDims)
      if (!relevant(Operand::outputs, d)) distinct *= m.levels[static_cast<size_t>(j)].spatial(d);
  return distinct;
}

// Vector accesses for `elements` of an operand of `bits` at a level.
double to_accesses(double elements, int bits, const StorageLevel& l, double storage) {
  const int width = l.word_bits * l.vector_width;
  if (bits <= width) return elements * storage / static_cast<double>(width / bits);
  return elements * storage * ((bits + width - 1) / width);
}

}  // namespace

Cost evaluate_unchecked(const Problem& p, const Architecture& arch, const Mapping& m, const EvalOptions& opts) {
  const int k = arch.num_levels();
  const Nest nest(p, m);
  Cost cost;
  cost.macs = p.macs();
  cost.steps = nest.steps();
  cost.mac_units_used = nest.instances(k);
  cost.levels.resize(static_cast<size_t>(k));
  cost.network_energy_pj.assign(static_cast<size_t>(k), 0.0);
  const LevelMapping& last = m.levels.back();
  const ComputeCost cc = compute_cost(p, arch, nest.steps(), cost.mac_units_used, last.y_used(), last.x_used());
  cost.effective_macs = cc.effective_macs;
  cost.mac_energy_pj = cc.energy_pj;

  double delivered[kMaxLevels] = {0};  // 16-bit words through each fan-out
  for (Operand t : kAllOperands) {
    const int ti = static_cast<int>(t);
    const int bits = p.bits[static_cast<size_t>(ti)];
    int chain[kMaxLevels + 1];
    int n = 0;
    for (int i = 0; i < k; ++i)
      if (arch.levels[static_cast<size_t>(i)].keeps_operand(t)) chain[n++] = i;
    chain[n++] = k;
    for (int i = 0; i < k; ++i)
      if (arch.levels[static_cast<size_t>(i)].keeps_operand(t))
        cost.levels[static_cast<size_t>(i)].tile[static_cast<size_t>(ti)] = tile_elements(p, nest.extents(i), t);
    for (int a = 0; a + 1 < n; ++a) {
      const int par = chain[a], c = chain[a + 1];
      const int64_t inst_p = nest.instances(par), inst_c = nest.instances(c);
      const int64_t ratio = inst_c / inst_p;
      bool multicast = true, reduction = true;
      for (int j = par; j < c; ++j) {
        const LevelMapping& lm = m.levels[static_cast<size_t>(j)];
        if (lm.x_used() * lm.y_used() == 1) continue;
        multicast = multicast && arch.levels[static_cast<size_t>(j)].fanout.multicast;
        reduction = reduction && arch.levels[static_cast<size_t>(j)].fanout.reduction;
      }
      int64_t child_visits, agg_visits;
      if (c < k) {
        child_visits = nest.visits(t, nest.child_shape(t, c), c);
        agg_visits = ratio == 1 ? child_visits : nest.visits(t, nest.aggregate_shape(t, par, c), c);
      } else {
        child_visits = nest.steps();
        agg_visits = nest.steps() * (ratio == 1 ? 1 : nest.aggregate_shape(t, par, c).elements);
      }
      // MAC-side operand fetches disappear with zero skipping.
      const double scale = (c == k && t != Operand::outputs) ? cc.operand_read_scale : 1.0;
      LevelCost& lp = cost.levels[static_cast<size_t>(par)];
      const int64_t child_total = inst_c * child_visits;
      OperandAccess& po = lp.operand[static_cast<size_t>(ti)];
      if (t != Operand::outputs) {
        const int64_t reads = inst_p * (multicast ? agg_visits : ratio * child_visits);
        po.reads += static_cast<int64_t>(std::llround(static_cast<double>(reads) * scale));
        po.multicasts += static_cast<int64_t>(std::llround(static_cast<double>(child_total - reads) * scale));
      } else {
        const int64_t ups = inst_p * (reduction ? agg_visits : ratio * child_visits);
        po.updates += ups;
        po.reads += std::max<int64_t>(0, ups - distinct_outputs(p, m, par));
        po.spatial_reductions += child_total - ups;
      }
      if (c < k) {
        int64_t fills = child_total;
        // First touch: each output element's first arrival at a child is its first result.
        if (t == Operand::outputs && opts.output_fill == OutputFill::first_touch)
          fills = std::max<int64_t>(0, child_total - distinct_outputs(p, m, c));
        cost.levels[static_cast<size_t>(c)].operand[static_cast<size_t>(ti)].fills += fills;
      }
      // Words into each fan-out's children: below the last fan-out, the union of the tiles of
      // the children's own subtree (a crossbar's row inputs, not one copy per cell).
      for (int j = par; j < c; ++j) {
        if (arch.levels[static_cast<size_t>(j)].fanout.hop_energy == 0) continue;
        int64_t words = child_total;
        if (j + 1 < c) {
          const TileShape sub = nest.aggregate_shape(t, j + 1, c);
          words = nest.instances(j + 1) * (c < k ? nest.visits(t, sub, c) : nest.steps() * sub.elements);
        }
        delivered[j] += static_cast<double>(words) * scale * bits / 16.0;
      }
    }
  }

  // Accesses, bandwidth and energy per level.
  int64_t bw_cycles = 0;
  for (int i = 0; i < k; ++i) {
    const StorageLevel& a = arch.levels[static_cast<size_t>(i)];
    LevelCost& l = cost.levels[static_cast<size_t>(i)];
    l.instances = nest.instances(i);
    double fills = 0, updates = 0;
    for (Operand t : kAllOperands) {
      const int ti = static_cast<int>(t);
      const double sf = storage_factor(p, arch, i, t);
      const int bits = p.bits[static_cast<size_t>(ti)];
      const OperandAccess& o = l.operand[static_cast<size_t>(ti)];
      l.read_accesses += to_accesses(static_cast<double>(o.reads), bits, a, sf);
      fills += to_accesses(static_cast<double>(o.fills), bits, a, sf);
      updates += to_accesses(static_cast<double>(o.updates), bits, a, sf);
    }
    l.write_accesses = fills + updates;
    l.energy_pj = l.read_accesses * a.read_energy + fills * a.write_energy + updates * a.update_energy;
    double need = 0;
    const double per_inst = static_cast<double>(std::max<int64_t>(1, l.instances));
    if (a.read_bandwidth > 0) need = std::max(need, l.read_accesses / per_inst / a.read_bandwidth);
    if (a.write_bandwidth > 0) need = std::max(need, l.write_accesses / per_inst / a.write_bandwidth);
    l.bandwidth_cycles = static_cast<int64_t>(std::ceil(need - 1e-9));
    bw_cycles = std::max(bw_cycles, l.bandwidth_cycles);
    cost.network_energy_pj[static_cast<size_t>(i)] = delivered[i] * a.fanout.hop_energy;
  }

  if (arch.compute.kind == ComputeKind::systolic) {
    const FanOut& f = arch.levels[static_cast<size_t>(arch.array_level())].fanout;
    const SystolicTiming st = systolic_timing(p, f.y, f.x, opts.dataflow.value_or(arch.dataflow));
    cost.compute_cycles = st.cycles;
    cost.mapping_efficiency = st.mapping_efficiency;
    cost.systolic_compute_utilization = st.compute_utilization;
    cost.folds = st.folds;
  } else {
    cost.compute_cycles = cc.cycles;
  }
  cost.cycles = std::max(cost.compute_cycles, bw_cycles);
  // Busy unit-cycles over available unit-cycles. Systolic arrays report SCALE-Sim's overall
  // utilisation (MACs per PE-cycle); other datapaths count the cycles their units spend on
  // the work they do (fewer MACs when skipping zeros, more cycles per MAC when bit-serial).
  const double unit_cycles = static_cast<double>(cost.cycles) * static_cast<double>(std::max<int64_t>(1, arch.num_macs()));
  const double busy = arch.compute.kind == ComputeKind::systolic
                          ? static_cast<double>(cost.macs)
                          : static_cast<double>(cost.mac_units_used) * cc.busy_cycles;
  cost.utilization = busy / unit_cycles;
  cost.energy_pj = cost.storage_energy_pj() + cost.network_energy_total_pj() + cost.mac_energy_pj;
  return cost;
}

Cost evaluate(const Problem& p, const Architecture& arch, const Mapping& m, const EvalOptions& opts) {
  p.validate();
  arch.validate();
  validate_mapping(m, p, arch);
  return evaluate_unchecked(p, arch, m, opts);
}

}  // namespace leancnn::accel
