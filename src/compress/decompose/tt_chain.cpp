// The TT / TR layer as Reshape -> Transpose -> Gemm steps (tt_chain.h). The activation x [B, K]
// is read as the tensor [B, m_1, ..., m_d]; core d, then d - 1, ..., then 1 is contracted with
// it. Before each contraction the axes the core shares with the activation (m_k and the rank
// axis already produced) are moved to the end (Reshape + Transpose, skipped when they are
// there) and the activation is viewed as a matrix [rows, shared]; a Gemm with the core arranged
// as [new axes, shared] (transB) then appends the core's new axes (r_{k-1}, n_k). The ring's
// closing rank r_0 = r_d is produced by core d and contracted by core 1, which is what the
// trace in W = trace(G_1 ... G_d) means. Axes of size 1 are dropped.
#include "tt_chain.h"

#include <algorithm>
#include <array>

#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"

namespace leancnn::compress::decompose {

namespace {
// "r3", "n0", ...: built by appends (GCC 12 at -O3 warns falsely, -Wrestrict, on "r" + to_string).
std::string mode_label(char kind, int64_t i) {
  std::string s(1, kind);
  s += std::to_string(i);
  return s;
}

struct Axis {
  std::string name;
  int64_t size;  // -1: the batch
};

struct Step {
  std::vector<Axis> view;     // the activation's axes before the step
  std::vector<int64_t> perm;  // shared axes to the end; empty when already there
  std::vector<Axis> shared, fresh;
  size_t core = 0;
  int64_t rows = 1;           // per image
};

struct Plan {
  std::vector<Step> steps;
  std::vector<Axis> final_view;
  std::vector<int64_t> final_perm;
};

int64_t size_of(const std::vector<Axis>& axes) {
  int64_t p = 1;
  for (const Axis& a : axes) p *= a.size < 0 ? 1 : a.size;
  return p;
}

bool has(const std::vector<Axis>& axes, const std::string& name) {
  return std::any_of(axes.begin(), axes.end(), [&](const Axis& a) { return a.name == name; });
}

// The core's four axes (r_{k-1}, n_k, m_k, r_k), named; r_d is r_0 for a ring.
std::vector<Axis> core_axes(const TtModes& modes, const std::vector<int64_t>& ranks, bool ring, size_t k) {
  const size_t d = modes.cores();
  auto rank = [&](size_t i) -> Axis {
    if (ring) return {mode_label('r', i % d), ranks[i % d]};
    return {mode_label('r', i), i == 0 || i == d ? 1 : ranks[i - 1]};
  };
  return {rank(k), {mode_label('n', k), modes.n[k]}, {mode_label('m', k), modes.m[k]}, rank(k + 1)};
}

// The permutation that moves `to` (a reordering of `from`) into place; empty when identity.
std::vector<int64_t> perm_of(const std::vector<Axis>& from, const std::vector<Axis>& to) {
  std::vector<int64_t> perm;
  bool identity = true;
  for (size_t i = 0; i < to.size(); ++i) {
    const auto at = std::find_if(from.begin(), from.end(), [&](const Axis& a) { return a.name == to[i].name; });
    perm.push_back(at - from.begin());
    identity = identity && perm.back() == static_cast<int64_t>(i);
  }
  return identity ? std::vector<int64_t>{} : perm;
}

Plan plan_of(const TtModes& modes, const std::vector<int64_t>& ranks, bool ring) {
  const size_t d = modes.cores();
  if (ranks.size() != (ring ? d : d - 1))
    fail(ErrorKind::usage, ring ? "tr" : "tt", " with ", d, " cores takes ", ring ? d : d - 1, " ranks, got ", ranks.size());
  Plan plan;
  std::vector<Axis> state = {{"B", -1}};
  for (size_t k = 0; k < d; ++k)
    if (modes.m[k] > 1) state.push_back({mode_label('m', k), modes.m[k]});
  for (size_t k = d; k-- > 0;) {
    Step s;
    s.core = k;
    s.view = state;
    std::vector<Axis> kept;
    for (const Axis& a : core_axes(modes, ranks, ring, k)) {
      if (a.size == 1) continue;
      (has(state, a.name) ? s.shared : s.fresh).push_back(a);
    }
    // The shared axes in the order the activation holds them (the least movement).
    std::vector<Axis> shared;
    for (const Axis& a : state) {
      if (has(s.shared, a.name)) shared.push_back(a);
      else kept.push_back(a);
    }
    s.shared = shared;
    std::vector<Axis> want = kept;
    want.insert(want.end(), shared.begin(), shared.end());
    s.perm = perm_of(state, want);
    s.rows = size_of(kept);
    state = kept;
    state.insert(state.end(), s.fresh.begin(), s.fresh.end());
    plan.steps.push_back(s);
  }
  plan.final_view = state;
  std::vector<Axis> want = {{"B", -1}};
  for (size_t k = 0; k < d; ++k)
    if (modes.n[k] > 1) want.push_back({mode_label('n', k), modes.n[k]});
  plan.final_perm = perm_of(state, want);
  return plan;
}

std::vector<int64_t> dims_of(const std::vector<Axis>& axes) {
  std::vector<int64_t> d;
  for (const Axis& a : axes) d.push_back(a.size);
  return d;
}

// The core [r_a, n, m, r_b] as the Gemm weight [fresh, shared].
Tensor weight_of(const Tensor& core, const std::vector<Axis>& axes, const std::vector<Axis>& fresh,
                 const std::vector<Axis>& shared) {
  const int64_t rows = size_of(fresh), cols = size_of(shared);
  std::array<int64_t, 4> row_stride{}, col_stride{};
  for (size_t i = 0; i < 4; ++i) {
    int64_t s = 1;
    for (size_t j = fresh.size(); j-- > 0;) {
      if (fresh[j].name == axes[i].name) row_stride[i] = s;
      s *= fresh[j].size;
    }
    s = 1;
    for (size_t j = shared.size(); j-- > 0;) {
      if (shared[j].name == axes[i].name) col_stride[i] = s;
      s *= shared[j].size;
    }
  }
  Tensor w = Tensor::zeros({rows, cols});
  const float* c = core.data<float>();
  float* p = w.data<float>();
  const int64_t d0 = core.dim(0), d1 = core.dim(1), d2 = core.dim(2), d3 = core.dim(3);
  for (int64_t a = 0; a < d0; ++a)
    for (int64_t b = 0; b < d1; ++b)
      for (int64_t e = 0; e < d2; ++e)
        for (int64_t f = 0; f < d3; ++f) {
          const int64_t r = a * row_stride[0] + b * row_stride[1] + e * row_stride[2] + f * row_stride[3];
          const int64_t q = a * col_stride[0] + b * col_stride[1] + e * col_stride[2] + f * col_stride[3];
          p[r * cols + q] = c[((a * d1 + b) * d2 + e) * d3 + f];
        }
  return w;
}

Tensor shape_tensor(const std::vector<int64_t>& dims) {
  Tensor t = Tensor::empty({static_cast<int64_t>(dims.size())}, DType::s64);
  for (size_t i = 0; i < dims.size(); ++i) t.data<int64_t>()[i] = dims[i];
  return t;
}
}  // namespace

LayerCost tt_chain_cost(const TtModes& modes, const std::vector<int64_t>& ranks, bool ring, bool bias) {
  const Plan plan = plan_of(modes, ranks, ring);
  LayerCost c;
  for (const Step& s : plan.steps) {
    c.macs += s.rows * size_of(s.fresh) * size_of(s.shared);
    int64_t p = 1;
    for (const Axis& a : core_axes(modes, ranks, ring, s.core)) p *= a.size;
    c.params += p;
  }
  if (bias) {
    int64_t n = 1;
    for (int64_t x : modes.n) n *= x;
    c.params += n;
  }
  return c;
}

std::vector<ir::NodeId> add_tt_chain(ir::Graph& g, ir::ValueId src, ir::ValueId dst, ir::ValueId bias,
                                     const TensorTrain& t, const TtModes& modes, const std::string& base) {
  const Plan plan = plan_of(modes, t.ranks, t.ring);
  struct Pending {
    std::string op, suffix;
    std::vector<ir::ValueId> extra;
    ir::Attributes attrs;
  };
  std::vector<Pending> nodes;
  int counter = 0;
  auto add_reshape = [&](const std::vector<int64_t>& dims) {
    const std::string name = g.unique_value_name(base + ".shape" + std::to_string(counter++));
    nodes.push_back({"Reshape", "reshape", {g.add_initializer(name, shape_tensor(dims), false)}, {}});
  };
  auto add_transpose = [&](const std::vector<Axis>& view, const std::vector<int64_t>& perm) {
    add_reshape(dims_of(view));
    ir::Attributes a;
    a.set("perm", perm);
    nodes.push_back({"Transpose", "transpose", {}, a});
  };
  int64_t cols = -1;  // the activation is a matrix [rows, cols]; -1: it is not (x [B, K] is
                      // a matrix, but the first core never takes all of K)
  for (const Step& s : plan.steps) {
    if (!s.perm.empty()) {
      add_transpose(s.view, s.perm);
      cols = -1;
    }
    const int64_t shared = size_of(s.shared);
    if (cols != shared) add_reshape({-1, shared});
    const Tensor w = weight_of(t.cores[s.core], core_axes(modes, t.ranks, t.ring, s.core), s.fresh, s.shared);
    const std::string wname = g.unique_value_name(base + ".tt_core" + std::to_string(s.core + 1) + ".weight");
    ir::Attributes a;
    a.set("transB", int64_t{1});
    nodes.push_back({"Gemm", "tt_core" + std::to_string(s.core + 1), {g.add_initializer(wname, w, true)}, a});
    cols = size_of(s.fresh);
  }
  if (!plan.final_perm.empty()) {
    add_transpose(plan.final_view, plan.final_perm);
    cols = -1;
  }
  int64_t n = 1;
  for (int64_t x : modes.n) n *= x;
  if (cols != n) add_reshape({-1, n});
  if (bias != ir::kNone) nodes.push_back({"Add", "bias", {bias}, {}});
  std::vector<ir::NodeId> out;
  ir::ValueId at = src;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Pending& p = nodes[i];
    std::vector<ir::ValueId> inputs = {at};
    inputs.insert(inputs.end(), p.extra.begin(), p.extra.end());
    const std::string name = base + "." + p.suffix + std::to_string(i);
    const ir::ValueId v = i + 1 == nodes.size() ? dst : g.add_value(g.unique_value_name(name + ".out"));
    out.push_back(g.add_node(p.op, inputs, {v}, p.attrs, name));
    at = v;
  }
  return out;
}

}  // namespace leancnn::compress::decompose
