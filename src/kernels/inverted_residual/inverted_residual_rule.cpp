// The rule of inverted_residual_rule.h.
#include "leancnn/kernels/inverted_residual_rule.h"

#include "inverted_residual.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"

namespace leancnn::kernels {

namespace {
const int64_t* g_min_bytes = nullptr;  // set by tests and benchmarks only
}  // namespace

int64_t inverted_residual_min_bytes() {
  if (g_min_bytes) return *g_min_bytes;
  return (cpu_features().avx512f ? int64_t{8} : int64_t{12}) << 20;
}

void inject_inverted_residual_min_bytes(const int64_t* min_bytes) { g_min_bytes = min_bytes; }

std::string inverted_residual_rule(const ops::InvertedResidualGeometry& g) {
  if (!cpu_features().avx2 || !cpu_features().fma) return "no AVX2 + FMA here (the row pass's ISA)";
  const ops::ConvGeometry& d = g.dw;
  if (d.dil_h != 1 || d.dil_w != 1) return "a dilated depthwise";
  if (d.kh > inverted_residual::kMaxKernelRows) return str_cat("a depthwise window of ", d.kh, " rows");
  const int64_t bytes = d.n * g.m * d.ih * d.iw * static_cast<int64_t>(sizeof(float));
  if (bytes < inverted_residual_min_bytes())
    return str_cat("the expanded activation (", bytes, " bytes) is below ", inverted_residual_min_bytes(),
                   ": it stays in cache unfused, where oneDNN's convolutions measured faster");
  return "";
}

}  // namespace leancnn::kernels
