// The direct convolution's ISA-independent parts: weight packing and the task split (direct.h).
#include <algorithm>

#include "direct.h"
#include "leancnn/core/cpu.h"

namespace leancnn::kernels::direct {
namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A band's zero-padded input rows are kept to about this size (they are read kh / stride times
// per output row, for every block of output channels: L2-resident on Zen 3's 512 KiB).
constexpr int64_t kBandBytes = 128 << 10;
}  // namespace

void pack(Packed& p, const float* weights, const float* bias) {
  const ops::ConvGeometry& g = p.g;
  const int64_t w = vector_width(p.isa);
  const int64_t one = ceil_div(g.oc, w) * w, two = ceil_div(g.oc, 2 * w) * 2 * w;
  p.nr = one < two ? w : 2 * w;
  p.oc_blocks = ceil_div(g.oc, p.nr);
  const int64_t taps = g.kh * g.kw;
  p.w.assign(static_cast<size_t>(p.oc_blocks * taps * g.ic * p.nr), 0.f);
  p.bias.assign(static_cast<size_t>(p.oc_blocks * p.nr), 0.f);
  if (bias) std::copy_n(bias, g.oc, p.bias.begin());
  for (int64_t oc = 0; oc < g.oc; ++oc)
    for (int64_t ic = 0; ic < g.ic; ++ic)
      for (int64_t t = 0; t < taps; ++t)
        p.w[static_cast<size_t>(((oc / p.nr * taps + t) * g.ic + ic) * p.nr + oc % p.nr)] =
            weights[(oc * g.ic + ic) * taps + t];
}

Blocking blocking(const Packed& p) {
  const ops::ConvGeometry& g = p.g;
  const int64_t threads = std::max(1, num_threads());
  const int64_t row_bytes = (g.iw + g.pad_l + g.pad_r) * g.ic * 4;  // one padded input row
  const int64_t weight_bytes = p.oc_blocks * p.nr * g.kh * g.kw * g.ic * 4;
  const int64_t input_bytes = g.n * g.ih * row_bytes;
  Blocking b;
  if (weight_bytes >= input_bytes) {
    // The weights outweigh the activations (deep layers, small maps): every task takes whole
    // images, so the weights are streamed once; the tasks split the output channels.
    b.band_rows = g.oh;
  } else {
    // Bands whose input rows fit kBandBytes, and at least one per thread.
    const int64_t rows_fit = std::max<int64_t>(1, (kBandBytes / row_bytes - g.kh) / g.stride_h + 1);
    const int64_t bands = std::max(ceil_div(g.n * g.oh, rows_fit), threads);
    b.band_rows = std::max<int64_t>(1, ceil_div(g.n * g.oh, ceil_div(bands, threads) * threads));
    b.band_rows = std::min(b.band_rows, g.oh);
  }
  const int64_t per_image = ceil_div(g.oh, b.band_rows);
  b.bands = g.n * per_image;
  b.groups = std::min(p.oc_blocks, std::max<int64_t>(1, ceil_div(threads, b.bands)));
  b.group_blocks = ceil_div(p.oc_blocks, b.groups);
  b.groups = ceil_div(p.oc_blocks, b.group_blocks);
  return b;
}

}  // namespace leancnn::kernels::direct
