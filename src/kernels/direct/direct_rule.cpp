// The direct convolution kernels' acceptance rule (leancnn/kernels/direct_conv_rule.h).
#include "leancnn/kernels/direct_conv_rule.h"

#include <atomic>

#include "leancnn/core/error.h"

namespace leancnn::kernels {
namespace {
std::atomic<const bool*> g_injected{nullptr};
}  // namespace

std::string direct_conv_geometry_check(const ops::ConvGeometry& g) {
  if (g.groups != 1) return "grouped (groups > 1)";
  if (g.dil_h != 1 || g.dil_w != 1) return "dilated (the window's row must be contiguous)";
  if (g.oh < 1 || g.ow < 1) return "an empty output";
  return "";
}

// The envelope measured on AVX2 + FMA (AMD EPYC Zen 3, 2 threads, docs/direct_conv.md §2)
// against oneDNN's jit:avx2 kernel on channels-last activations, which ran ResNet-18's 3x3 layers
// that Winograd does not take at 35-55 % of this CPU's FMA peak: inside ResNet-18 (`leancnn bench --profile`)
// its strided 3x3 layers 1.1-1.5x faster and its 512-channel 3x3 at 7x7 1.05-1.3x; alone
// (bench/direct_conv_bench, interleaved repetitions) 0.96-1.27x and 1.05x; ResNet-20's 32->64
// stride 2 1.1-1.3x, its 16->32 equal. oneDNN stays faster on 1x1 layers (its GEMM: 1.1-2.5x,
// MobileNetV2's and ResNet-18's downsamplers) and on stems of 1 to 3 input channels (ResNet-18's
// 7x7 and MobileNetV2's 3x3/2), so the rule takes spatial kernels with at least 16 input and
// output channels (32 input channels on larger maps, below). Not measured on an AVX-512 CPU,
// where oneDNN runs its AVX-512 kernels: there the rule takes nothing (the AVX-512 kernel is
// exercised by the conformance tests through injection).
constexpr int64_t kMinChannels = 16;
// Below 32 input channels only on small outputs. ResNet-20 at 1x224x224, 16->32 3x3 stride 2
// (12,544 output pixels): oneDNN 0.80-0.88 ms against 1.13-1.17 direct inside the network (three
// `leancnn bench --profile` runs each), 0.87 vs 1.19 alone (direct_conv_bench r20_224_*); pruned to
// 24->40 on 3,136 pixels oneDNN was ahead in two of three runs. At 1x28x28 (196 pixels) the
// direct kernel stayed ahead, 20.6-21 against 24 us in two of three runs.
constexpr int64_t kMinInputChannels = 32, kSmallMapPixels = 1024;

bool direct_conv_takes(const ops::ConvGeometry& g, bool avx512) {
  if (!direct_conv_geometry_check(g).empty()) return false;
  if (const bool* take = g_injected.load()) return *take;
  if (avx512) return false;
  if (g.kh * g.kw == 1 || g.oc < kMinChannels) return false;
  return g.ic >= kMinInputChannels || (g.ic >= kMinChannels && g.n * g.oh * g.ow <= kSmallMapPixels);
}

void inject_direct_conv(const bool* take) { g_injected.store(take); }

}  // namespace leancnn::kernels
