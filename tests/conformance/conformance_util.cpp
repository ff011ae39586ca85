// Conformance helpers: dispatcher-driven forward/backward runs and tolerant comparison.
#include "conformance_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <type_traits>

#include "kernel_coverage.h"
#include "leancnn/core/log.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::testing {

namespace {
std::vector<Tensor> deep_copies(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.defined() ? t.clone() : Tensor());
  return out;
}

Tensor nan_like(const Shape& shape, DType dtype) {
  if (dtype != DType::f32) return Tensor::zeros(shape, dtype);
  return Tensor::full(shape, NAN);
}
}  // namespace

namespace {
// The kernel named `name` from the op's list; fails (throws) when it is absent or declines.
template <class Ctx>
const kernels::Kernel& named_kernel(const ir::OpSchema& schema, const Ctx& ctx, const std::string& name,
                                    bool backward) {
  for (const kernels::Kernel& k : kernels::kernel_list(schema)) {
    if (k.name != name) continue;
    std::string why;
    if constexpr (std::is_same_v<Ctx, ir::ForwardCtx>) {
      if (k.check_forward) why = k.check_forward(ctx);
    } else {
      if (!k.backward) why = "no backward";
      if (why.empty() && k.check_backward) why = k.check_backward(ctx);
    }
    if (!why.empty())
      throw std::runtime_error(name + (backward ? " backward" : " forward") + " declined: " + why);
    return k;
  }
  throw std::runtime_error("no kernel named " + name + " for " + schema.op_type);
}

// For the coverage claims (kernel_coverage.h): the kernel that runs, and when the dispatcher
// chose it, the fast kernels before it in the list, which it asked and which declined.
template <class Ctx>
void note_dispatch(const ir::OpSchema& schema, const Ctx& ctx, const kernels::Kernel& chosen, bool dispatched) {
  note_kernel(schema.op_type, chosen.name, Coverage::runs);
  if (!dispatched || kernels::reference_only()) return;
  for (const kernels::Kernel& k : kernels::kernel_list(schema)) {
    if (&k == &chosen || k.name == "reference") break;
    std::string why;
    if constexpr (std::is_same_v<Ctx, ir::ForwardCtx>) {
      if (!k.forward) continue;  // not asked
      if (k.check_forward) why = k.check_forward(ctx);
    } else {
      why = !k.backward ? "no backward" : k.check_backward ? k.check_backward(ctx) : "";
    }
    if (!why.empty()) note_kernel(schema.op_type, k.name, Coverage::declines);
  }
}

KernelForward run_forward_impl(const OpCase& c, bool allow_fast, const std::string& only) {
  const ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpTable& ops = ops::op_table();
  const ir::OpSchema& schema = ops.get(n);
  const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
  KernelForward r;
  r.inputs = deep_copies(c.inputs);
  Rng rng(c.seed);
  ir::ForwardCtx ctx{n, r.inputs, {}, c.training, &rng, c.training ? &r.saved : nullptr};
  for (int i = 0; i < c.num_outputs; ++i) ctx.outputs.push_back(nan_like(types.at(i).shape, types[i].dtype));
  const kernels::Kernel& k =
      only.empty() ? kernels::select_forward(schema, ctx, allow_fast) : named_kernel(schema, ctx, only, false);
  r.kernel = k.name;
  note_dispatch(schema, ctx, k, allow_fast && only.empty());
  k.forward(ctx);
  r.outputs = ctx.outputs;
  return r;
}

KernelBackward run_backward_impl(const OpCase& c, const KernelForward& fwd, const std::vector<Tensor>& d_outputs,
                                 const std::vector<int>& wrt, bool allow_fast, const std::string& only) {
  const ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpSchema& schema = ops::op_table().get(n);
  ir::BackwardCtx ctx{n, deep_copies(c.inputs), fwd.outputs, fwd.saved, deep_copies(d_outputs), {}};
  ctx.d_inputs.resize(c.inputs.size());
  for (int i : wrt) ctx.d_inputs.at(i) = nan_like(c.inputs.at(i).shape(), DType::f32);
  const kernels::Kernel& k =
      only.empty() ? kernels::select_backward(schema, ctx, allow_fast) : named_kernel(schema, ctx, only, true);
  KernelBackward r;
  r.kernel = k.name;
  note_dispatch(schema, ctx, k, allow_fast && only.empty());
  k.backward(ctx);
  r.d_inputs = ctx.d_inputs;
  return r;
}

}  // namespace

KernelForward run_forward(const OpCase& c, bool allow_fast) { return run_forward_impl(c, allow_fast, ""); }

KernelForward run_forward_with(const OpCase& c, const std::string& kernel) { return run_forward_impl(c, true, kernel); }

KernelBackward run_backward(const OpCase& c, const KernelForward& fwd, const std::vector<Tensor>& d_outputs,
                            const std::vector<int>& wrt, bool allow_fast) {
  return run_backward_impl(c, fwd, d_outputs, wrt, allow_fast, "");
}

KernelBackward run_backward_with(const OpCase& c, const KernelForward& fwd, const std::vector<Tensor>& d_outputs,
                                 const std::vector<int>& wrt, const std::string& kernel) {
  return run_backward_impl(c, fwd, d_outputs, wrt, true, kernel);
}

void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(shape_str(a.shape()), shape_str(b.shape())) << what;
  double worst = 0;
  int64_t worst_at = -1, nans = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.at(i), y = b.at(i);
    if (std::isnan(x) != std::isnan(y)) {
      ++nans;
      continue;
    }
    const double d = std::fabs(x - y) / std::max(1.0, std::fabs(y));
    if (d > worst) {
      worst = d;
      worst_at = i;
    }
  }
  EXPECT_EQ(nans, 0) << what << ": " << nans << " elements are NaN in one result only (unwritten?)";
  EXPECT_LE(worst, tol) << what << ": worst relative difference at element " << worst_at << ": "
                        << (worst_at >= 0 ? a.at(worst_at) : 0.f) << " vs reference "
                        << (worst_at >= 0 ? b.at(worst_at) : 0.f);
}

double fp32_tol(int64_t k) { return std::max(1e-5, 1e-5 * std::sqrt(static_cast<double>(k))); }

std::string dispatch_log_of(const std::function<void()>& f) {
  const char* old = std::getenv("LEANCNN_VERBOSE");
  const std::string saved = old ? old : "";
  const bool had = old != nullptr;
  setenv("LEANCNN_VERBOSE", "dispatch", 1);
  log::reload();
  auto restore = [&] {
    if (had)
      setenv("LEANCNN_VERBOSE", saved.c_str(), 1);
    else
      unsetenv("LEANCNN_VERBOSE");
    log::reload();
  };
  ::testing::internal::CaptureStderr();
  try {
    f();
  } catch (...) {
    ::testing::internal::GetCapturedStderr();
    restore();
    throw;
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  restore();
  return out;
}

}  // namespace leancnn::testing
