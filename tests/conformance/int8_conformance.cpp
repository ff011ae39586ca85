// Helpers of the int8 conformance tests (int8_conformance.h).
#include "int8_conformance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernel_coverage.h"
#include "leancnn/core/cpu.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/int8_exactness.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/qlinear.h"

namespace leancnn::testing {

Tensor random_ints(const Shape& s, DType t, Rng& rng, int lo, int hi) {
  Tensor f = Tensor::empty(s);
  rng.fill_uniform(f, static_cast<float>(lo), static_cast<float>(hi) + 0.999f);
  std::vector<int64_t> v(f.numel());
  for (int64_t i = 0; i < f.numel(); ++i) v[i] = std::clamp(static_cast<int64_t>(std::floor(f.at(i))), int64_t{lo}, int64_t{hi});
  return Tensor::from_ints(s, v, t);
}

Tensor scalar_f(float v) { return Tensor::from_floats({}, {v}); }

void expect_identical(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const size_t es = dtype_size(got.dtype());
  const auto* a = static_cast<const uint8_t*>(got.raw());
  const auto* b = static_cast<const uint8_t*>(want.raw());
  int64_t diffs = 0, first = -1;
  for (int64_t i = 0; i < got.numel(); ++i)
    if (std::memcmp(a + i * es, b + i * es, es) != 0) {
      ++diffs;
      if (first < 0) first = i;
    }
  EXPECT_EQ(diffs, 0) << what << ": " << diffs << " of " << got.numel() << " elements differ, first at " << first;
}

bool int8_s16_kernels_run_here() { return kernels::int8_cpu_features().avx2; }

bool int8_dnnl_takes_8bit_weights_here() {
  return kernels::int8_pair_sum_refusal(kernels::int8_cpu_features(), 127).empty();
}

namespace {
struct Ctx {
  ir::Graph g;
  std::vector<ir::TensorType> types;
};

const kernels::Kernel* find_kernel(const ir::Node& n, const std::string& kernel) {
  for (const kernels::Kernel& cand : kernels::kernel_list(ops::op_table().get(n)))
    if (cand.name == kernel) return &cand;
  return nullptr;
}

ir::ForwardCtx forward_ctx(const ir::Graph& g, const OpCase& c) {
  const ir::Node& n = g.node(0);
  const std::vector<ir::TensorType> types = ir::infer_node(g, ops::op_table(), n);
  ir::ForwardCtx ctx{n, {}, {}};
  for (const Tensor& t : c.inputs) ctx.inputs.push_back(t.defined() ? t.clone() : Tensor());
  ctx.outputs.push_back(Tensor::zeros(types[0].shape, types[0].dtype));
  return ctx;
}
}  // namespace

bool kernel_accepts(const OpCase& c, const std::string& kernel) {
  const ir::Graph g = single_node_graph(c);
  const kernels::Kernel* k = find_kernel(g.node(0), kernel);
  if (!k) return false;
  const ir::ForwardCtx ctx = forward_ctx(g, c);
  return !k->check_forward || k->check_forward(ctx).empty();
}

Tensor run_prepared(const OpCase& c, const std::string& kernel) {
  const ir::Graph g = single_node_graph(c);
  const kernels::Kernel* k = find_kernel(g.node(0), kernel);
  if (!k) throw std::runtime_error("no kernel " + kernel);
  ir::ForwardCtx ctx = forward_ctx(g, c);
  const std::string why = k->check_forward(ctx);
  if (!why.empty()) throw std::runtime_error(kernel + " declined: " + why);
  std::shared_ptr<const void> state = k->prepare(ctx);
  if (!state) throw std::runtime_error(kernel + " did not prepare");
  ctx.prepared = state.get();
  Rng rng(3);
  ctx.inputs[ops::kQW] = random_ints(ctx.inputs[ops::kQW].shape(), ctx.inputs[ops::kQW].dtype(), rng, 0, 100);
  if (ctx.inputs.size() > ops::kQBias && ctx.inputs[ops::kQBias].defined())
    ctx.inputs[ops::kQBias] = Tensor::zeros(ctx.inputs[ops::kQBias].shape(), DType::s32);
  std::memset(ctx.outputs[0].raw(), 0xA5, ctx.outputs[0].nbytes());
  note_kernel(c.op_type, k->name, Coverage::runs);
  k->forward(ctx);
  return ctx.outputs[0];
}

std::string expected_int8_kernel(const OpCase& c, const std::string& dnnl, const std::string& s16) {
  const CpuFeatures& cpu = kernels::int8_cpu_features();
  const Tensor& w = c.inputs[ops::kQW];
  bool symmetric = true;
  if (c.inputs.size() > ops::kQWZp && c.inputs[ops::kQWZp].defined()) {
    const Tensor& z = c.inputs[ops::kQWZp];
    for (int64_t i = 0; i < z.numel(); ++i)
      symmetric = symmetric && (z.dtype() == DType::u8 ? z.data<uint8_t>()[i] == 0 : z.data<int8_t>()[i] == 0);
  }
  const bool conv = c.op_type != "QGemm" && c.op_type != "QLinearMatMul";
  const bool quantized_output = c.inputs.size() > ops::kQYScale && c.inputs[ops::kQYScale].defined();
  const bool dnnl_operands = c.inputs[ops::kQX].dtype() == DType::u8 && w.dtype() == DType::s8 && symmetric &&
                             (!conv || quantized_output);
  if (dnnl_operands && kernels::int8_pair_sum_refusal(cpu, kernels::max_abs_s8(w)).empty()) return dnnl;
  return cpu.avx2 ? s16 : "reference";
}

Tensor check_int8_kernels(const OpCase& c, const std::string& dnnl, const std::string& s16, const std::string& what) {
  const KernelForward ref = run_forward(c, false);
  const KernelForward fast = run_forward(c, true);
  EXPECT_EQ(fast.kernel, expected_int8_kernel(c, dnnl, s16)) << what << " on " << cpu_features().summary();
  expect_identical(fast.outputs[0], ref.outputs[0], what + " (" + fast.kernel + ", dispatched)");
  if (kernels::int8_cpu_features().avx2) {
    EXPECT_TRUE(kernel_accepts(c, s16)) << what;
  }
  for (const std::string& k : {dnnl, s16}) {
    if (!kernel_accepts(c, k)) continue;
    expect_identical(run_forward_with(c, k).outputs[0], ref.outputs[0], what + " (" + k + ", unprepared)");
    expect_identical(run_prepared(c, k), ref.outputs[0], what + " (" + k + ", prepared)");
  }
  return ref.outputs[0];
}

}  // namespace leancnn::testing
