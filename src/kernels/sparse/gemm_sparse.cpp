// Gemm on sparse weights (sparse_rule.h decides which): Y = A B^T + C with B [N, K] constant and
// mostly zeros, packed once for table-lookup products (lut_rows.h: per row of A, blocks of 8 or
// 16 outputs, the inputs looked up from registers), blocks of outputs split across threads. The contract's form only: transA = 0,
// transB = 1, alpha = beta = 1, C absent or one value per output column. Within fp32 tolerance of
// the reference (tests/conformance/sparse_conformance.cpp).
#include <algorithm>

#include "csr.h"
#include "lut_rows.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/gemm.h"
#include "sparse_kernels.h"
#include "leancnn/kernels/sparse_rule.h"

namespace leancnn::kernels {
namespace {
using sparse::SparseRows;

struct PreparedGemm {
  Shape a_shape;
  sparse::LutRows b;
  sparse::LutGemvFn gemv = nullptr;  // the product b was packed for
  std::vector<float> c;  // one per output column, padded to b.blocks * b.lanes; empty: no C
};

std::shared_ptr<PreparedGemm> prepare_gemm(const ir::ForwardCtx& ctx) {
  auto pg = std::make_shared<PreparedGemm>();
  const Tensor& b = ctx.inputs[1];
  pg->a_shape = ctx.inputs[0].shape();
  const sparse::LutProduct& p = sparse::lut_product();
  pg->b = sparse::pack_lut_rows(b.data<float>(), b.shape()[0], b.shape()[1], p.lanes, p.cols);
  pg->gemv = p.gemv;
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined()) {
    pg->c.assign(ctx.inputs[2].data<float>(), ctx.inputs[2].data<float>() + ctx.inputs[2].numel());
    pg->c.resize(static_cast<size_t>(pg->b.blocks * pg->b.lanes), 0.f);
  }
  return pg;
}

void run(const PreparedGemm& pg, const Tensor& a, Tensor& y) {
  const sparse::LutRows& b = pg.b;
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.n;
  const int64_t xs = b.chunks * b.cols, ys = b.blocks * b.lanes;
  // The rows of A zero-padded to whole chunks, the outputs to whole blocks.
  // (Pointers, not the thread_local buffers, go into the parallel region: each thread would see its own.)
  thread_local std::vector<float> x_buffer, out_buffer;
  x_buffer.assign(static_cast<size_t>(m * xs), 0.f);
  out_buffer.resize(static_cast<size_t>(m * ys));
  float* x = x_buffer.data();
  float* out = out_buffer.data();
  for (int64_t i = 0; i < m; ++i) std::copy_n(a.data<float>() + i * k, k, x + i * xs);
  const float* bias = pg.c.empty() ? nullptr : pg.c.data();
  // A batch-1 product of a 90 %-pruned layer takes a few microseconds: about what waking a second
  // thread costs, so threads only from about 8,000 slots (one permute + FMA each) on.
  const int64_t slots = static_cast<int64_t>(b.val.size()) / b.lanes;
  const bool parallel = num_threads() > 1 && slots * m >= (1 << 13);
  constexpr int64_t kBlocks = 4;  // blocks of outputs per task
  const int64_t tasks = (b.blocks + kBlocks - 1) / kBlocks;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < m * tasks; ++t) {
    const int64_t row = t / tasks, b0 = (t % tasks) * kBlocks, b1 = std::min(b.blocks, b0 + kBlocks);
    pg.gemv(b, b0, b1, x + row * xs, bias, out + row * ys);
  }
  for (int64_t i = 0; i < m; ++i) std::copy_n(out + i * ys, n, y.data<float>() + i * n);
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  const Tensor& a = ctx.inputs[0];
  if (a.dtype() != DType::f32 || a.rank() != 2 || !a.is_contiguous()) return "A is not a contiguous 2-D f32 tensor";
  std::string why = check_sparse_weights(ctx, 1, sparse_gemm_crossover(a.shape()[0]));
  if (!why.empty()) return why;
  const ir::Node& node = ctx.node;
  if (node.attrs.get_int("transA", 0) != 0 || node.attrs.get_int("transB", 0) != 1) return "only transA = 0, transB = 1";
  if (node.attrs.get_float("alpha", 1.f) != 1.f || node.attrs.get_float("beta", 1.f) != 1.f) return "only alpha = beta = 1";
  try {
    const ops::GemmGeometry g = ops::gemm_geometry(node, a.shape(), ctx.inputs[1].shape());
    if (ctx.inputs.size() > 2 && ctx.inputs[2].defined()) {
      const Tensor& c = ctx.inputs[2];
      if (c.dtype() != DType::f32 || !c.is_contiguous() || c.numel() != g.n || c.shape().back() != g.n)
        return "C must be absent or one f32 value per output column";
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void forward(ir::ForwardCtx& ctx) {
  if (ctx.prepared) {
    const auto& pg = *static_cast<const PreparedGemm*>(ctx.prepared);
    LEANCNN_CHECK(ctx.inputs[0].shape() == pg.a_shape, "prepared sparse gemm for A ", shape_str(pg.a_shape), " run on A ",
                  shape_str(ctx.inputs[0].shape()));
    run(pg, ctx.inputs[0], ctx.outputs[0]);
    return;
  }
  run(*prepare_gemm(ctx), ctx.inputs[0], ctx.outputs[0]);
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) { return prepare_gemm(ctx); }
}  // namespace

Kernel cpu_gemm_f32_sparse_avx2() {
  Kernel k;
  k.name = "cpu_gemm_f32_sparse_avx2";
  k.check_forward = check_forward;
  k.forward = forward;
  k.prepare = prepare;
  return k;
}

}  // namespace leancnn::kernels
