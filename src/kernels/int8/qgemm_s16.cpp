// ai.leancnn QGemm (x [M, K] times w [N, K] transposed) and QLinearMatMul (w [K, N]) on the exact
// s16 GEMM (s16_gemm.h), for CPUs with AVX2 and without VNNI: rows of x widened to s16 minus
// x_zp, weights packed once when prepared, the requantization (or the f32 output) fused in the
// store. Bit-exact with ops::qgemm_forward_ref (tests/conformance/qgemm_conformance.cpp).
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "int8_kernels.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "s16_common.h"

namespace leancnn::kernels {
namespace {
using namespace int8;

constexpr int64_t kKChunk = 512;
constexpr int64_t kParallelMacs = 1 << 17;

struct GemmDims {
  int64_t m = 0, n = 0, k = 0;
  bool w_nk = true;  // QGemm's [N, K]; QLinearMatMul's is [K, N]
};

GemmDims dims_of(const ir::ForwardCtx& ctx) {
  const Shape& x = ctx.inputs.at(ops::kQX).shape();
  const Shape& w = ctx.inputs.at(ops::kQW).shape();
  if (x.size() != 2 || w.size() != 2) fail(ErrorKind::bad_input, "x and w must be 2-D");
  GemmDims d;
  d.w_nk = ctx.node.op_type == "QGemm";
  d.m = x[0];
  d.k = x[1];
  d.n = d.w_nk ? w[0] : w[1];
  if ((d.w_nk ? w[1] : w[0]) != d.k) fail(ErrorKind::bad_input, "x and w disagree on K");
  return d;
}

struct PreparedGemm {
  Shape src_shape;
  GemmDims d;
  ops::QLinearParams p;
  PackedB weights;
  Requant requant;
};

std::shared_ptr<PreparedGemm> prepare_gemm(const ir::ForwardCtx& ctx) {
  auto pg = std::make_shared<PreparedGemm>();
  const Tensor& w = ctx.inputs[ops::kQW];
  pg->src_shape = ctx.inputs[ops::kQX].shape();
  pg->d = dims_of(ctx);
  pg->p = ops::qlinear_params(ctx.node, ctx.inputs, pg->d.n);
  const GemmDims& d = pg->d;
  pg->weights = pack_b(d.k, d.n, [&](int64_t k, int64_t c) {
    return weight_at(w, d.w_nk ? c * d.k + k : k * d.n + c, pg->p.w_zp[c]);
  });
  const Tensor bias = ctx.inputs.size() > ops::kQBias ? ctx.inputs[ops::kQBias] : Tensor();
  pg->requant = requant_of(pg->p, bias, 0, d.n);
  return pg;
}

void run(const PreparedGemm& pg, const Tensor& x, const Tensor& y) {
  const GemmDims& d = pg.d;
  const int64_t kp = pg.weights.kp, npanels = panels(d.n);
  const int64_t mtiles = (d.m + kTileRows - 1) / kTileRows;
  const bool is_u8 = x.dtype() == DType::u8;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  const size_t es = dtype_size(y.dtype());
  auto* dst = static_cast<uint8_t*>(y.raw());
  const bool parallel = num_threads() > 1 && d.m * d.n * d.k >= kParallelMacs;
  // One task per (tile of 6 rows, panel): each widens its rows (cheap next to the K x 16 MACs).
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < mtiles * npanels; ++t) {
    const int64_t mt = t / npanels, j = t % npanels;
    const int64_t r0 = mt * kTileRows, rows = std::min<int64_t>(kTileRows, d.m - r0);
    int16_t* a = thread_a_buffer(kTileRows * kp);
    int32_t* tile = thread_tile_buffer(kTileRows * kPanel);
    for (int64_t r = 0; r < rows; ++r) {
      widen(src + (r0 + r) * d.k * static_cast<int64_t>(dtype_size(x.dtype())), d.k, pg.p.x_zp, is_u8, a + r * kp);
      if (kp > d.k) a[r * kp + d.k] = 0;
    }
    for (int64_t k0 = 0; k0 < kp; k0 += kKChunk)
      avx2::gemm_tile(static_cast<int>(rows), std::min(kKChunk, kp - k0), a + k0, kp, pg.weights.panel(j) + k0 * kPanel,
                      tile, k0 > 0);
    const int64_t c0 = j * kPanel, cols = std::min<int64_t>(kPanel, d.n - c0);
    avx2::store_tile(tile, static_cast<int>(rows), static_cast<int>(cols), pg.requant, c0,
                     dst + static_cast<int64_t>(es) * (r0 * d.n + c0), d.n, 1);
  }
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = check_s16_call(ctx);
  if (!why.empty()) return why;
  try {
    const GemmDims d = dims_of(ctx);
    const ops::QLinearParams p = ops::qlinear_params(ctx.node, ctx.inputs, d.n);
    for (float mult : p.multiplier)
      if (!std::isfinite(mult)) return "a requantization multiplier is not finite";
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) { return prepare_gemm(ctx); }

void forward(ir::ForwardCtx& ctx) {
  if (ctx.prepared) {
    const auto& pg = *static_cast<const PreparedGemm*>(ctx.prepared);
    LEANCNN_CHECK(ctx.inputs[ops::kQX].shape() == pg.src_shape, "prepared int8 gemm for input ", shape_str(pg.src_shape),
                  " run on ", shape_str(ctx.inputs[ops::kQX].shape()));
    run(pg, ctx.inputs[ops::kQX], ctx.outputs[0]);
    return;
  }
  run(*prepare_gemm(ctx), ctx.inputs[ops::kQX], ctx.outputs[0]);
}
}  // namespace

Kernel cpu_qgemm_s16_avx2() {
  Kernel k;
  k.name = "cpu_qgemm_s16_avx2";
  k.check_forward = check_forward;
  k.forward = forward;
  k.prepare = prepare;
  return k;
}

}  // namespace leancnn::kernels
