// Gemm on sparse weights (sparse_rule.h decides which): Y = A B^T + C with B [N, K] constant and
// mostly zeros, packed once as CSR; per row of A, each output is a sparse dot product (AVX2
// gathers, spmm_avx2.cpp), outputs split across threads. The contract's form only: transA = 0,
// transB = 1, alpha = beta = 1, C absent or one value per output column. Within fp32 tolerance of
// the reference (tests/conformance/sparse_conformance.cpp).
#include <algorithm>

#include "csr.h"
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
  SparseRows b;  // rows = N, offsets = column indices
  std::vector<float> c;  // one per output column; empty: no C
};

std::shared_ptr<PreparedGemm> prepare_gemm(const ir::ForwardCtx& ctx) {
  auto pg = std::make_shared<PreparedGemm>();
  const Tensor& b = ctx.inputs[1];
  pg->a_shape = ctx.inputs[0].shape();
  pg->b = sparse::sparse_rows_of(b.data<float>(), b.shape()[0], b.shape()[1], [](int64_t c) { return c; });
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined())
    pg->c.assign(ctx.inputs[2].data<float>(), ctx.inputs[2].data<float>() + ctx.inputs[2].numel());
  return pg;
}

void run(const PreparedGemm& pg, const Tensor& a, Tensor& y) {
  const SparseRows& b = pg.b;
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.rows;
  const float* bias = pg.c.empty() ? nullptr : pg.c.data();
  const bool parallel = num_threads() > 1 && b.nnz() * m >= (1 << 15);
  constexpr int64_t kCols = 64;
  const int64_t blocks = (n + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < m * blocks; ++t) {
    const int64_t row = t / blocks, n0 = (t % blocks) * kCols, n1 = std::min(n, n0 + kCols);
    float* yr = y.data<float>() + row * n;
    sparse::avx2::spmv(b, n0, n1, a.data<float>() + row * k, yr);
    if (bias)
      for (int64_t j = n0; j < n1; ++j) yr[j] += bias[j];
  }
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = check_sparse_weights(ctx, 1, sparse_gemm_crossover());
  if (!why.empty()) return why;
  const Tensor& a = ctx.inputs[0];
  if (a.dtype() != DType::f32 || a.rank() != 2 || !a.is_contiguous()) return "A is not a contiguous 2-D f32 tensor";
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
