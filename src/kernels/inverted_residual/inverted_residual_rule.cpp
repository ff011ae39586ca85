// The rule of inverted_residual_rule.h.
#include "leancnn/kernels/inverted_residual_rule.h"

#include "inverted_residual.h"
#include "leancnn/core/error.h"

namespace leancnn::kernels {

namespace {
const int64_t* g_min_batch = nullptr;  // set by tests only
}  // namespace

int64_t inverted_residual_min_batch() { return g_min_batch ? *g_min_batch : 2; }

void inject_inverted_residual_min_batch(const int64_t* min_batch) { g_min_batch = min_batch; }

std::string inverted_residual_rule(const ops::InvertedResidualGeometry& g) {
  const ops::ConvGeometry& d = g.dw;
  if (d.dil_h != 1 || d.dil_w != 1) return "a dilated depthwise";
  if (d.kh > inverted_residual::kMaxKernelRows) return str_cat("a depthwise window of ", d.kh, " rows");
  return "";
}

}  // namespace leancnn::kernels
