// The mapper: spatial candidates × random capacity-repaired tilings × loop orders, then a
// local search moving prime factors between levels; cached per layer shape and architecture.
#include "leancnn/accel/mapper.h"

#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <charconv>
#include <unordered_map>

#include "leancnn/accel/dataflow.h"
#include "leancnn/core/error.h"
#include "search_util.h"

namespace leancnn::accel {

const char* objective_name(Objective o) {
  switch (o) {
    case Objective::energy: return "energy";
    case Objective::delay: return "delay";
    case Objective::edp: return "edp";
  }
  return "?";
}

Objective parse_objective(const std::string& text) {
  if (text == "energy") return Objective::energy;
  if (text == "delay") return Objective::delay;
  if (text == "edp") return Objective::edp;
  fail(ErrorKind::bad_input, "unknown objective '", text, "'; expected energy, delay or edp");
}

double objective_value(const Cost& c, Objective o) {
  switch (o) {
    case Objective::energy: return c.energy_pj;
    case Objective::delay: return static_cast<double>(c.cycles) * (1.0 + 1e-12 * c.energy_pj);
    case Objective::edp: return c.energy_pj * static_cast<double>(c.cycles);
  }
  return c.energy_pj;
}

namespace {

using detail::level_fits;

constexpr double kInf = std::numeric_limits<double>::infinity();

class Searcher {
 public:
  Searcher(const Problem& p, const Architecture& arch, const DataflowSpec& spec, const MapperOptions& o)
      : p_(p), arch_(arch), spec_(spec), opts_(o), k_(arch.num_levels()), cl_(constrained_level(arch, spec)),
        rng_(o.seed) {
    eval_.dataflow = spec.dataflow;  // a systolic array's timing follows the searched dataflow
    eval_.output_fill = o.output_fill;
    allowed_.assign(static_cast<size_t>(k_), {true, true, true, true, true, true, true, true});
    if (cl_ >= 0) {
      auto& a = allowed_[static_cast<size_t>(cl_)];
      a.fill(false);
      for (Dim d : spec.pe_temporal) a[static_cast<size_t>(d)] = true;
    }
  }

  int64_t evaluations() const { return evals_; }
  bool has_best() const { return best_value_ < kInf; }
  const Mapping& best() const { return best_; }
  const Cost& best_cost() const { return best_cost_; }

  // Evaluates a mapping whose factors multiply correctly; +inf when a tile does not fit.
  double consider(const Mapping& m) {
    for (int i = 0; i < k_; ++i)
      if (!level_fits(p_, arch_, m, i)) return kInf;
    const Cost c = evaluate_unchecked(p_, arch_, m, eval_);
    ++evals_;
    const double v = objective_value(c, opts_.objective);
    if (v < best_value_) {
      best_value_ = v;
      best_ = m;
      best_cost_ = c;
    }
    return v;
  }

  std::vector<Mapping> spatial_candidates() const {
    std::vector<Mapping> out;
    Mapping cur = empty_mapping(k_);
    for (LevelMapping& l : cur.levels) l.order = stationary_order(spec_.stationary);
    auto rec = [&](auto&& self, int i, const DimFactors& rem) -> void {
      if (i == k_) {
        out.push_back(cur);
        return;
      }
      const FanOut& f = arch_.levels[static_cast<size_t>(i)].fanout;
      if (f.instances() == 1) {
        self(self, i + 1, rem);
        return;
      }
      for (const DimFactors& x : detail::axis_options(rem, allowed_x(arch_, i, spec_), f.x, 6)) {
        DimFactors r2 = rem;
        for (int d = 0; d < kNumDims; ++d) r2[static_cast<size_t>(d)] /= x[static_cast<size_t>(d)];
        for (const DimFactors& y : detail::axis_options(r2, allowed_y(arch_, i, spec_), f.y, 6)) {
          DimFactors r3 = r2;
          for (int d = 0; d < kNumDims; ++d) r3[static_cast<size_t>(d)] /= y[static_cast<size_t>(d)];
          cur.levels[static_cast<size_t>(i)].spatial_x = x;
          cur.levels[static_cast<size_t>(i)].spatial_y = y;
          self(self, i + 1, r3);
        }
      }
      cur.levels[static_cast<size_t>(i)].spatial_x = kOnes;
      cur.levels[static_cast<size_t>(i)].spatial_y = kOnes;
    };
    rec(rec, 0, p_.dims);
    std::stable_sort(out.begin(), out.end(),
                     [](const Mapping& a, const Mapping& b) { return mac_units_used(a) > mac_units_used(b); });
    if (out.size() > static_cast<size_t>(opts_.spatial_candidates)) out.resize(static_cast<size_t>(opts_.spatial_candidates));
    return out;
  }

  // A random tiling on top of a spatial assignment, repaired (inner levels first) by moving
  // prime factors outwards until every tile fits. False when it cannot fit.
  bool sample(Mapping& m) {
    DimFactors rem = p_.dims;
    for (const LevelMapping& l : m.levels)
      for (int d = 0; d < kNumDims; ++d) rem[static_cast<size_t>(d)] /= l.spatial_x[static_cast<size_t>(d)] * l.spatial_y[static_cast<size_t>(d)];
    for (LevelMapping& l : m.levels) l.temporal = kOnes;
    for (Dim d : kAllDims) {
      const size_t di = static_cast<size_t>(d);
      std::vector<int> levels;
      for (int i = 0; i < k_; ++i)
        if (allowed_[static_cast<size_t>(i)][di]) levels.push_back(i);
      for (int64_t q : detail::prime_factors(rem[di])) {
        const int i = levels[static_cast<size_t>(rng_() % levels.size())];
        m.levels[static_cast<size_t>(i)].temporal[di] *= q;
      }
    }
    for (int i = k_ - 1; i >= 1; --i) {
      while (!level_fits(p_, arch_, m, i)) {
        LevelMapping& l = m.levels[static_cast<size_t>(i)];
        Dim pick = Dim::N;
        int64_t most = 1;
        for (Dim d : spec_.spill_order)
          if (l.t(d) > most) {
            most = l.t(d);
            pick = d;
          }
        if (most == 1) return false;
        const size_t di = static_cast<size_t>(pick);
        int j = i - 1;
        while (j > 0 && !allowed_[static_cast<size_t>(j)][di]) --j;
        const int64_t q = detail::smallest_prime(l.temporal[di]);
        l.temporal[di] /= q;
        m.levels[static_cast<size_t>(j)].temporal[di] *= q;
      }
    }
    return level_fits(p_, arch_, m, 0);
  }

  // One pass over the levels trying the three stationary orders on each unconstrained level.
  double refine_orders(Mapping& m, double value) {
    for (int i = 0; i < k_; ++i) {
      if (i == cl_) continue;
      int loops = 0;
      for (int64_t f : m.levels[static_cast<size_t>(i)].temporal) loops += f > 1;
      if (loops < 2) continue;
      const auto keep = m.levels[static_cast<size_t>(i)].order;
      auto chosen = keep;
      for (Operand t : kAllOperands) {
        const auto order = stationary_order(t);
        if (order == keep) continue;
        m.levels[static_cast<size_t>(i)].order = order;
        const double v = consider(m);
        if (v < value) {
          value = v;
          chosen = order;
        }
      }
      m.levels[static_cast<size_t>(i)].order = chosen;
    }
    return value;
  }

  // First-improvement local search: move one prime factor of a dimension to a neighbouring
  // level, or change one level's order.
  void local_search() {
    if (!has_best()) return;
    Mapping cur = best_;
    double value = best_value_;
    const int64_t budget = evals_ + opts_.local_steps;
    bool improved = true;
    while (improved && evals_ < budget) {
      improved = false;
      for (int i = 0; i < k_ && !improved && evals_ < budget; ++i)
        for (Dim d : kAllDims) {
          const size_t di = static_cast<size_t>(d);
          const int64_t f = cur.levels[static_cast<size_t>(i)].temporal[di];
          if (f == 1) continue;
          const int64_t q = detail::smallest_prime(f);
          for (int j : {i - 1, i + 1}) {
            if (j < 0 || j >= k_ || !allowed_[static_cast<size_t>(j)][di]) continue;
            Mapping next = cur;
            next.levels[static_cast<size_t>(i)].temporal[di] /= q;
            next.levels[static_cast<size_t>(j)].temporal[di] *= q;
            const double v = consider(next);
            if (v < value) {
              cur = next;
              value = refine_orders(cur, v);
              improved = true;
              break;
            }
          }
          if (improved || evals_ >= budget) break;
        }
    }
  }

 private:
  const Problem& p_;
  const Architecture& arch_;
  const DataflowSpec& spec_;
  MapperOptions opts_;
  EvalOptions eval_;
  int k_;
  int cl_;
  std::mt19937_64 rng_;
  std::vector<std::array<bool, kNumDims>> allowed_;
  int64_t evals_ = 0;
  double best_value_ = kInf;
  Mapping best_;
  Cost best_cost_;
};

std::string cache_key(const Problem& p, const Architecture& arch, Dataflow df, const MapperOptions& o) {
  std::string k;
  k.reserve(256);
  char buf[32];
  auto num = [&](auto v) {
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    k.append(buf, r.ptr);
    k += ',';
  };
  for (int64_t d : p.dims) num(d);
  num(p.stride_h);
  num(p.stride_w);
  num(p.dil_h);
  num(p.dil_w);
  for (int b : p.bits) num(b);
  num(p.weight_density);
  num(p.input_density);
  k += dataflow_name(df);
  k += objective_name(o.objective);
  k += output_fill_name(o.output_fill);
  num(o.spatial_candidates);
  num(o.samples);
  num(o.local_steps);
  num(o.seed);
  k += arch.fingerprint();
  return k;
}

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}

std::unordered_map<std::string, MapperResult>& cache() {
  static std::unordered_map<std::string, MapperResult> c;
  return c;
}

}  // namespace

MapperResult map_layer(const Problem& p, const Architecture& arch, const MapperOptions& opts) {
  const Dataflow df = opts.dataflow.value_or(arch.dataflow);
  std::string key;
  if (opts.use_cache) {
    key = cache_key(p, arch, df, opts);
    std::lock_guard<std::mutex> lock(cache_mutex());
    auto it = cache().find(key);
    if (it != cache().end()) {
      MapperResult r = it->second;
      r.from_cache = true;
      r.evaluations = 0;
      return r;
    }
  }
  p.validate();
  const DataflowSpec& spec = dataflow_spec(df);
  Searcher s(p, arch, spec, opts);
  const Mapping seed = template_mapping(p, arch, df);
  if (mapping_fits(seed, p, arch)) {
    Mapping m = seed;
    s.refine_orders(m, s.consider(m));
  }
  for (Mapping base : s.spatial_candidates()) {
    for (int k = 0; k < opts.samples; ++k) {
      Mapping m = base;
      if (!s.sample(m)) continue;
      const double v = s.consider(m);
      if (v < kInf) s.refine_orders(m, v);
    }
  }
  s.local_search();
  if (!s.has_best()) {
    try {
      validate_mapping(seed, p, arch);
    } catch (Error& e) {
      e.add_context(str_cat("no valid mapping of layer '", p.name, "' (", p.shape_string(), ") on '", arch.name,
                            "' with dataflow ", dataflow_name(df)));
      throw;
    }
    fail(ErrorKind::bad_input, "no valid mapping of layer '", p.name, "' on '", arch.name, "'");
  }
  MapperResult r{s.best(), s.best_cost(), s.evaluations(), false};
  if (opts.use_cache) {
    std::lock_guard<std::mutex> lock(cache_mutex());
    cache().emplace(key, r);
  }
  return r;
}

void clear_mapper_cache() {
  std::lock_guard<std::mutex> lock(cache_mutex());
  cache().clear();
}

size_t mapper_cache_size() {
  std::lock_guard<std::mutex> lock(cache_mutex());
  return cache().size();
}

}  // namespace leancnn::accel
