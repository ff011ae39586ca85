// Gemm (fp32) for the few-row products of batch-1 inference, where oneDNN's matmul call costs
// 1.5-2 us around little arithmetic (`leancnn bench --profile`). Y = A * B' + C with transA = 0,
// alpha = 1, beta = 1 (or no C) and C broadcast from any shape Gemm allows, as dnnl_gemm_f32 takes
// them; inference only, no prepared state. Two kernels:
// - cpu_gemm_f32_small: small weights (a classifier over a pooled feature vector: ResNet-20's
//   64 -> 10, the small CNN's 128 -> 10), one thread; transB = 1 (B stored [N, K], PyTorch's
//   Linear): each output a dot product over K in eight interleaved partial sums; transB = 0:
//   rows of B added in K order into the output row.
// - cpu_gemv_f32_avx2: larger weights stored [N, K] (the small CNN's fc1, 3136 -> 128: 1.6 MB),
//   the output columns split between the threads in fixed ranges (each core's share of B stays
//   in its L2 from run to run), each a dot product over K in AVX2 registers (gemv_avx2.cpp).
// Larger products, more rows and training (for its backward's sake) go to oneDNN, next in the list.
#include <algorithm>
#include <string>

#include "gemm_kernels.h"
#include "gemv.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/gemm.h"

namespace leancnn::kernels {
namespace {

// Where the call overhead dominates: a few rows, weights that sit in L1/L2.
constexpr int64_t kMaxRows = 8;
constexpr int64_t kMaxWeights = 32 * 1024;  // floats of B (128 KiB)
// The threaded product: up to 4 Mi floats of B (16 MiB), threads from 64 Ki floats on.
constexpr int64_t kGemvMaxWeights = 4 * 1024 * 1024;
constexpr int64_t kGemvParallelWeights = 64 * 1024;

bool has_c(const std::vector<Tensor>& in) { return in.size() > 2 && in[2].defined(); }

float dot(const float* a, const float* b, int64_t k) {
  float part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += a[i + j] * b[i + j];
  for (int j = 0; i < k; ++i, ++j) part[j] += a[i] * b[i];
  return ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
}

enum class Kind { small, gemv };

template <Kind kind>
std::string check(const ir::ForwardCtx& ctx) {
  if (kind == Kind::gemv && !(cpu_features().avx2 && cpu_features().fma)) return "no AVX2 + FMA here";
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
    const int64_t max_weights = kind == Kind::small ? kMaxWeights : kGemvMaxWeights;
    if (g.m > kMaxRows || g.k * g.n > max_weights)
      return str_cat("[", g.m, " x ", g.k, "] x [", g.k, " x ", g.n, "] is past the ",
                     kind == Kind::small ? "small-product" : "threaded product's", " bounds (M <= ", kMaxRows,
                     ", K * N <= ", max_weights, ")");
    if (kind == Kind::gemv && !g.trans_b) return "transB = 0 (the threaded product reads B as [N, K])";
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Y += C through C's broadcast: row stride 0 when C has one row, column stride 0 for one column.
void add_c(const ops::GemmGeometry& g, const Tensor& c_tensor, float* y) {
  const Shape& cs = c_tensor.shape();
  const float* c = c_tensor.data<float>();
  const int64_t rows = cs.size() == 2 ? cs[0] : 1, cols = cs.empty() ? 1 : cs.back();
  const int64_t c_col = cols == 1 ? 0 : 1, c_row = rows == 1 ? 0 : cols;
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) y[i * g.n + j] += c[i * c_row + j * c_col];
}

template <Kind kind>
void forward(ir::ForwardCtx& ctx) {
  const std::vector<Tensor>& in = ctx.inputs;
  const ops::GemmGeometry g = ops::gemm_geometry(ctx.node, in[0].shape(), in[1].shape());
  const float* a = in[0].data<float>();
  const float* b = in[1].data<float>();
  float* y = ctx.outputs[0].data<float>();
  if constexpr (kind == Kind::gemv) {
    const gemv::Args args{a, b, y, g.m, g.k, g.n};
    const int64_t threads = g.k * g.n >= kGemvParallelWeights ? std::max(1, num_threads()) : 1;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(threads)) if (threads > 1)
    for (int64_t t = 0; t < threads; ++t) gemv::rows_avx2(args, g.n * t / threads, g.n * (t + 1) / threads);
  } else {
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
    }
  }
  if (has_c(in)) add_c(g, in[2], y);
}

template <Kind kind>
Kernel make(const char* name) {
  Kernel k;
  k.name = name;
  k.check_forward = check<kind>;
  k.forward = forward<kind>;
  return k;
}

}  // namespace

Kernel cpu_gemm_f32_small() { return make<Kind::small>("cpu_gemm_f32_small"); }
Kernel cpu_gemv_f32_avx2() { return make<Kind::gemv>("cpu_gemv_f32_avx2"); }

}  // namespace leancnn::kernels
