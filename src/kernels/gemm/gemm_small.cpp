// Gemm (fp32) for the few-row, small-weight products of batch-1 inference — a classifier over a
// pooled feature vector (ResNet-20's 64 -> 10, the small CNN's 128 -> 10) — where oneDNN's
// matmul call costs 1.5-2 us around under a microsecond of arithmetic (`leancnn bench
// --profile`). Y = A * B' + C with transA = 0, alpha = 1, beta = 1 (or no C) and C broadcast from
// any shape Gemm allows, as dnnl_gemm_f32 takes them; inference only, one thread, no prepared
// state. transB = 1 (B stored [N, K], PyTorch's Linear): each output a dot product over K in
// eight interleaved partial sums; transB = 0: rows of B added in K order into the output row.
// Larger products (and training, for its backward's sake) go to oneDNN, the next in the list.
#include <algorithm>
#include <string>

#include "gemm_kernels.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/gemm.h"

namespace leancnn::kernels {
namespace {

// Where the call overhead dominates: a few rows, weights that sit in L1/L2.
constexpr int64_t kMaxRows = 8;
constexpr int64_t kMaxWeights = 32 * 1024;  // floats of B (128 KiB)

bool has_c(const std::vector<Tensor>& in) { return in.size() > 2 && in[2].defined(); }

float dot(const float* a, const float* b, int64_t k) {
  float part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += a[i + j] * b[i + j];
  for (int j = 0; i < k; ++i, ++j) part[j] += a[i] * b[i];
  return ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
}

std::string check(const ir::ForwardCtx& ctx) {
  if (ctx.training) return "training (oneDNN's kernel, which has the backward, takes it)";
  const std::vector<Tensor>& in = ctx.inputs;
  if (in.size() < 2 || !in[0].defined() || !in[1].defined()) return "missing A or B";
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].defined() && (in[i].dtype() != DType::f32 || !in[i].is_contiguous()))
      return str_cat("input ", i, " is not a contiguous f32 tensor");
  if (ctx.outputs.size() != 1 || ctx.outputs[0].dtype() != DType::f32 || !ctx.outputs[0].is_contiguous())
    return "the output is not a contiguous f32 tensor";
  try {
    const ops::GemmGeometry g = ops::gemm_geometry(ctx.node, in[0].shape(), in[1].shape());
    if (g.trans_a) return "transA=1 unsupported";
    if (g.alpha != 1.f) return str_cat("alpha ", g.alpha, " != 1 unsupported");
    if (has_c(in)) {
      if (g.beta != 1.f) return str_cat("beta ", g.beta, " != 1 unsupported");
      ops::check_gemm_bias_shape(g, in[2].shape());
    }
    if (g.m > kMaxRows || g.k * g.n > kMaxWeights)
      return str_cat("[", g.m, " x ", g.k, "] x [", g.k, " x ", g.n, "] is past the small-product bounds (M <= ",
                     kMaxRows, ", K * N <= ", kMaxWeights, ")");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void forward(ir::ForwardCtx& ctx) {
  const std::vector<Tensor>& in = ctx.inputs;
  const ops::GemmGeometry g = ops::gemm_geometry(ctx.node, in[0].shape(), in[1].shape());
  const float* a = in[0].data<float>();
  const float* b = in[1].data<float>();
  float* y = ctx.outputs[0].data<float>();
  // C[i, j] through its broadcast: row stride 0 when C has one row, column stride 0 for one column.
  const float* c = has_c(in) ? in[2].data<float>() : nullptr;
  int64_t c_row = 0, c_col = 0;
  if (c) {
    const Shape& cs = in[2].shape();
    const int64_t rows = cs.size() == 2 ? cs[0] : 1, cols = cs.empty() ? 1 : cs.back();
    c_col = cols == 1 ? 0 : 1;
    c_row = rows == 1 ? 0 : cols;
  }
  for (int64_t i = 0; i < g.m; ++i) {
    const float* ai = a + i * g.k;
    float* yi = y + i * g.n;
    if (g.trans_b) {
      for (int64_t j = 0; j < g.n; ++j) yi[j] = dot(ai, b + j * g.k, g.k);
    } else {
      std::fill(yi, yi + g.n, 0.f);
      for (int64_t p = 0; p < g.k; ++p) {
        const float s = ai[p];
        const float* bp = b + p * g.n;
        for (int64_t j = 0; j < g.n; ++j) yi[j] += s * bp[j];
      }
    }
    if (c)
      for (int64_t j = 0; j < g.n; ++j) yi[j] += c[i * c_row + j * c_col];
  }
}

}  // namespace

Kernel cpu_gemm_f32_small() {
  Kernel k;
  k.name = "cpu_gemm_f32_small";
  k.check_forward = check;
  k.forward = forward;
  return k;
}

}  // namespace leancnn::kernels
