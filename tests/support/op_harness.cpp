// Op test harness: single-node graphs, reference runs and central-difference gradient checks.
#include "op_harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::testing {

ir::Graph single_node_graph(const OpCase& c) {
  ir::Graph g;
  g.name = c.op_type;
  std::vector<ir::ValueId> in;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    in.push_back(c.inputs[i].defined() ? g.add_initializer("in" + std::to_string(i), c.inputs[i], false) : ir::kNone);
  std::vector<ir::ValueId> out;
  for (int i = 0; i < c.num_outputs; ++i) out.push_back(g.add_value("out" + std::to_string(i)));
  g.add_node(c.op_type, in, out, c.attrs, "node", c.domain);
  for (ir::ValueId v : out) g.mark_output(v);
  return g;
}

OpRun run_reference(const OpCase& c) {
  ir::Graph g = single_node_graph(c);
  const ir::OpTable& ops = ops::op_table();
  const ir::Node& n = g.node(0);
  OpRun r;
  r.inferred = ir::infer_node(g, ops, n);
  ir::ForwardCtx ctx{n, c.inputs, {}, c.training, nullptr, nullptr};
  Rng rng(c.seed);
  ctx.rng = &rng;
  if (c.training) ctx.saved = &r.saved;
  for (int i = 0; i < c.num_outputs; ++i) ctx.outputs.push_back(Tensor::zeros(r.inferred.at(i).shape, r.inferred[i].dtype));
  ops.get(n).forward(ctx);
  r.outputs = ctx.outputs;
  return r;
}

Tensor random_tensor(const Shape& shape, Rng& rng, float lo, float hi) {
  Tensor t = Tensor::empty(shape);
  rng.fill_uniform(t, lo, hi);
  return t;
}

Tensor random_q8(const Shape& s, DType t, uint64_t seed) {
  Rng rng(seed);
  const Tensor u = random_tensor(s, rng, 0.f, 256.f);
  std::vector<int64_t> v(u.numel());
  const int64_t lo = t == DType::u8 ? 0 : -128;
  for (int64_t i = 0; i < u.numel(); ++i) v[i] = std::min<int64_t>(255, static_cast<int64_t>(u.at(i))) + lo;
  return Tensor::from_ints(s, v, t);
}

void expect_bad_input(const OpCase& c, const std::string& needle) {
  try {
    run_reference(c);
    ADD_FAILURE() << c.op_type << ": expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

void expect_values(const Tensor& t, const std::vector<float>& want, float tol) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.at(i), want[i], tol) << "element " << i;
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_str(a.shape()), shape_str(b.shape()));
  if (a.shape() != b.shape()) return INFINITY;
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.at(i), y = b.at(i);
    m = std::max(m, std::fabs(x - y) / std::max(1.0, std::fabs(y)));
  }
  return m;
}

namespace {
// Copies every defined input so that perturbing one case does not touch another's data.
OpCase deep_copy(const OpCase& c) {
  OpCase d = c;
  for (auto& t : d.inputs)
    if (t.defined()) t = t.clone();
  return d;
}

double loss_of(const OpCase& c, const std::vector<Tensor>& r, int n_diff) {
  OpRun run = run_reference(deep_copy(c));  // copies: BN training mutates running stats
  double l = 0;
  for (int k = 0; k < n_diff; ++k)
    for (int64_t i = 0; i < run.outputs[k].numel(); ++i) l += static_cast<double>(run.outputs[k].at(i)) * r[k].at(i);
  return l;
}
}  // namespace

void expect_gradients_match(const OpCase& c0, const std::vector<int>& wrt, GradTolerance tol, int n_diff_outputs) {
  const OpCase c = deep_copy(c0);
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpSchema& schema = ops.get(n);
  ASSERT_NE(schema.backward, nullptr) << c.op_type << " has no backward";

  OpRun run = run_reference(deep_copy(c));
  Rng rng(1234);
  std::vector<Tensor> r;
  for (int k = 0; k < static_cast<int>(run.outputs.size()); ++k)
    r.push_back(k < n_diff_outputs ? random_tensor(run.outputs[k].shape(), rng)
                                   : Tensor::zeros(run.outputs[k].shape(), run.outputs[k].dtype()));

  ir::BackwardCtx b{n, deep_copy(c).inputs, run.outputs, run.saved, r, {}};
  b.d_inputs.resize(c.inputs.size());
  for (int i : wrt) b.d_inputs.at(i) = Tensor::full(c.inputs.at(i).shape(), NAN);  // must be overwritten
  schema.backward(b);

  for (int i : wrt) {
    const Tensor& analytic = b.d_inputs[i];
    int bad = 0;
    for (int64_t e = 0; e < c.inputs[i].numel(); ++e) {
      OpCase plus = deep_copy(c), minus = deep_copy(c);
      plus.inputs[i].data<float>()[e] += tol.eps;
      minus.inputs[i].data<float>()[e] -= tol.eps;
      const double numeric = (loss_of(plus, r, n_diff_outputs) - loss_of(minus, r, n_diff_outputs)) / (2.0 * tol.eps);
      const double a = analytic.at(e);
      const double err = std::fabs(a - numeric);
      if (!(err <= tol.atol + tol.rtol * std::max(std::fabs(a), std::fabs(numeric)))) {
        if (++bad <= 5)
          ADD_FAILURE() << c.op_type << ": d(input " << i << ")[" << e << "] analytic " << a << " vs numeric "
                        << numeric;
      }
    }
    EXPECT_EQ(bad, 0) << c.op_type << ": " << bad << " of " << c.inputs[i].numel()
                      << " gradient elements of input " << i << " disagree";
  }
}

}  // namespace leancnn::testing
