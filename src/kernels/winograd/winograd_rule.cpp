// The Winograd kernels' acceptance rule (leancnn/kernels/winograd_rule.h).
#include "leancnn/kernels/winograd_rule.h"

#include <atomic>

#include "leancnn/core/error.h"

namespace leancnn::kernels {
namespace {
std::atomic<const int*> g_injected{nullptr};
}  // namespace

std::string winograd_geometry_check(const ops::ConvGeometry& g) {
  if (g.kh != 3 || g.kw != 3) return str_cat("a ", g.kh, "x", g.kw, " kernel (Winograd here is 3x3 only)");
  if (g.stride_h != 1 || g.stride_w != 1) return "strided (Winograd needs stride 1)";
  if (g.dil_h != 1 || g.dil_w != 1) return "dilated (Winograd needs dilation 1)";
  if (g.groups != 1) return "grouped (groups > 1)";
  if (g.oh < 1 || g.ow < 1) return "an empty output";
  return "";
}

int winograd_tile(const ops::ConvGeometry& g, bool avx512) {
  if (!winograd_geometry_check(g).empty()) return 0;
  if (const int* m = g_injected.load()) return *m;
  (void)avx512;
  return g.oh * g.ow >= 16 ? 4 : 2;  // replaced by the measured rule below
}

void inject_winograd_tile(const int* m) { g_injected.store(m); }

}  // namespace leancnn::kernels
