// The sparse kernels' acceptance rule (leancnn/kernels/sparse_rule.h).
#include "leancnn/kernels/sparse_rule.h"
#include "leancnn/kernels/winograd_rule.h"

#include <algorithm>
#include <atomic>

#include "csr.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"

namespace leancnn::kernels {

namespace {
std::atomic<const double*> g_injected{nullptr};
}  // namespace

double sparse_conv_crossover(const ops::ConvGeometry& g) {
  if (const double* d = g_injected.load()) return *d;
  const bool one_by_one = g.kh == 1 && g.kw == 1;
  const bool strided = g.stride_h != 1 || g.stride_w != 1;
  // Measured with bench/sparse_bench at 1 thread (docs/sparse_runtime.md): where oneDNN runs
  // AVX-512 its dense k x k layers are ~1.6x faster than with AVX2, its 1x1 ones hardly.
  const bool avx512 = cpu_features().avx512f;
  if (one_by_one) return 0.5;
  if (strided) return avx512 ? 0.25 : 0.4;
  // Where Winograd takes the dense layer (winograd_rule.h) the dense side is 2.5x (AVX-512) to 3x
  // (AVX2) faster than oneDNN's direct convolution the crossovers above were measured against.
  if (winograd_tile(g, avx512) != 0) return avx512 ? 0.3 / 2.5 : 0.5 / 3.0;
  return avx512 ? 0.3 : 0.5;
}

double sparse_gemm_crossover(int64_t rows_of_a) {
  if (const double* d = g_injected.load()) return *d;
  return (cpu_features().avx512f ? 0.6 : 0.4) / static_cast<double>(std::max<int64_t>(1, rows_of_a));
}

std::string check_sparse_weights(const ir::ForwardCtx& ctx, int weight_slot, double max_density) {
  const CpuFeatures& cpu = cpu_features();
  if (!cpu.avx2 || !cpu.fma) return "no AVX2 + FMA on this CPU";
  if (ctx.training) return "training: the weights change every step (dense kernels)";
  if (static_cast<int>(ctx.inputs.size()) <= weight_slot || !ctx.inputs[weight_slot].defined()) return "no weights";
  const Tensor& w = ctx.inputs[weight_slot];
  if (w.dtype() != DType::f32 || !w.is_contiguous()) return "weights are not a contiguous f32 tensor";
  const double d = sparse::density(w.data<float>(), w.numel());
  if (d > max_density) return str_cat("weight density ", d, " is above this layer's sparse crossover ", max_density);
  return "";
}

void inject_sparse_max_density(const double* max_density) { g_injected.store(max_density); }

}  // namespace leancnn::kernels
