// The Winograd kernels' acceptance rule (leancnn/kernels/winograd_rule.h).
#include "leancnn/kernels/winograd_rule.h"

#include <algorithm>
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

// The envelope bench/winograd_bench measured (docs/winograd.md §4): ResNet-18's and ResNet-20's
// stride-1 3x3 layers, 16 to 512 channels on maps of 7x7 to 56x56, where Winograd beat oneDNN's
// direct convolution by 1.16x (512 channels at 7x7, F(2x2)) to 3.3x (128 at 28x28, F(4x4)) with
// and without AVX-512. Outside it (fewer than 16 channels: ResNet-20's stem over 3 channels
// measured 0.83-1.07x, the input transform dominating; more than 512; maps below 7x7) oneDNN keeps
// the layer, so no layer runs slower than before. Pruned ResNet-20 layers of 8 to 12 channels at
// 28x28 (F(4x4), AVX2's 8-lane blocks) measured 5.9-8.4 us against oneDNN's 7.0-9.7 us.
constexpr int64_t kMinChannels = 8, kMaxChannels = 512, kMinMap = 7;
// F(4x4) when its GEMM work (tiles x 36 points, padding included) is at most this fraction of
// F(2x2)'s (tiles x 16): 0.56 on maps whose sides are multiples of 4 or 7 (F(4x4) won), 0.73 at
// 14x14, where both tilings pad differently and F(2x2) won by 7-25 %.
constexpr double kF4MaxWork = 0.65;
// ... and when its weights are reused across enough tiles or fit in L2: with 4 or 16 tiles per
// image and 9.4-38 MB of transformed weights (256 and 512 channels at 14x14 and 7x7) F(4x4)
// streams U from memory and F(2x2) won by 1.2-1.8x.
constexpr int64_t kF4MinTiles = 32;
constexpr double kF4MaxWeightBytes = 1 << 20;

// In a whole network the transformed weights come from memory, not from the cache the isolated
// benchmark kept them in: ResNet-18's 512-channel layers at 7x7 read 16.8 MB of U (F(2x2)) where
// oneDNN reads 9.4 MB; inside `leancnn bench --profile` they took 3.5 ms against 1.0 ms alone
// (on a shared machine whose memory traffic also slowed oneDNN's layers there: to be re-measured
// quiet). Conservatively, layers whose chosen U exceeds this stay on oneDNN.
constexpr double kMaxWeightBytes = 8 << 20;
// Without AVX-512 the alternative is no longer oneDNN at 190+ GFLOP/s but a direct convolution at
// ~80 % of AVX2's peak (kernels/direct), and Winograd's 1.73x fewer multiply-adds outweigh its
// 1.8x more weight bytes: on a Zen 3 (32 MB L3, 2 threads, batch 1) ResNet-18's three 512-channel
// layers at 7x7 on F(2x2) (16.8 MB of U) made the whole network 7-9 % faster than on the direct
// kernel (bench/ab_latency.sh, 7 interleaved rounds at 1 and 2 threads: 22.8 -> 21.0, 23.7 ->
// 22.1, 41.0 -> 37.3 ms).
constexpr double kMaxWeightBytesAvx2 = 20 << 20;

int winograd_tile(const ops::ConvGeometry& g, bool avx512) {
  if (!winograd_geometry_check(g).empty()) return 0;
  if (const int* m = g_injected.load()) return *m;
  // The same envelope and tile choice on both ISAs: the speed-ups differ (AVX2 3.0-3.3x, AVX-512
  // 2.5-2.6x on the 56x56 and 28x28 layers) but the crossovers measured the same. Only the cap
  // on the transformed weights differs (above).
  if (g.ic < kMinChannels || g.oc < kMinChannels || g.ic > kMaxChannels || g.oc > kMaxChannels) return 0;
  if (g.oh < kMinMap || g.ow < kMinMap) return 0;
  auto tiles = [&](int64_t m) { return g.n * ((g.oh + m - 1) / m) * ((g.ow + m - 1) / m); };
  const double work4 = 36.0 * static_cast<double>(tiles(4)), work2 = 16.0 * static_cast<double>(tiles(2));
  const double weights4 = 36.0 * 4.0 * static_cast<double>(g.ic * g.oc);
  const bool f4 = work4 <= kF4MaxWork * work2 && (tiles(4) >= kF4MinTiles || weights4 <= kF4MaxWeightBytes);
  const double bytes = (f4 ? 36.0 : 16.0) * 4.0 * static_cast<double>(g.ic * g.oc);
  if (bytes > (avx512 ? kMaxWeightBytes : kMaxWeightBytesAvx2)) return 0;
  return f4 ? 4 : 2;
}

bool winograd_wide_vectors(const ops::ConvGeometry& g) {
  return g_injected.load() != nullptr || std::min(g.ic, g.oc) > 8;
}

// The weight transform (162 scalar multiply-adds per input/output channel pair, in double) is
// estimated at about Winograd's whole saving on ResNet-18's 128-channel layer at 28x28 (784
// pixels, batch 1: ~0.6 ms of 2.6 M multiply-adds against 0.58 ms saved) and a third of it at
// 56x56 (3136). An estimate, not a measurement: to be timed with the executor.
int64_t winograd_unprepared_min_pixels() { return g_injected.load() ? 0 : 2048; }

void inject_winograd_tile(const int* m) { g_injected.store(m); }

}  // namespace leancnn::kernels
