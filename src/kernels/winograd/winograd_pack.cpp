// Winograd's ISA-independent parts: the weight transform U = G g G^T with its packing, and how a
// run splits into OpenMP tasks (winograd.h, winograd_simd.h).
#include <algorithm>

#include "leancnn/core/cpu.h"
#include "winograd.h"

namespace leancnn::kernels::winograd {
namespace {
// G of F(2, 3) and F(4, 3) (Lavin & Gray 2016), rows = tile points.
constexpr double kG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
constexpr double kG4[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                              {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6},  {0, 0, 1}};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A task's transformed inputs V (alpha^2 x tiles x ic floats) are kept to about this size, so
// that they stay in L2 beside the slice of U the GEMMs stream (1 MiB L2 on Zen 4, 512 KiB on
// Zen 3, 1 MiB on Cascade Lake).
constexpr int64_t kVBytes = 192 << 10;
// A task's slice of U is kept to about this size where a group keeps at least kMinGroupOc output
// channels (smaller groups repeat the input transform too often).
constexpr int64_t kUBytes = 384 << 10;
constexpr int64_t kMinGroupOc = 64;
}  // namespace

void pack(Packed& p, const float* weights, const float* bias) {
  const ops::ConvGeometry& g = p.g;
  const int a = p.alpha;
  p.nr = block_oc(p.isa, g.oc);
  p.oc_blocks = ceil_div(g.oc, p.nr);
  p.tiles_h = ceil_div(g.oh, p.m);
  p.tiles_w = ceil_div(g.ow, p.m);
  p.u.assign(static_cast<size_t>(a * a * p.oc_blocks * g.ic * p.nr), 0.f);
  p.bias.assign(static_cast<size_t>(g.oc), 0.f);
  if (bias) std::copy_n(bias, g.oc, p.bias.begin());
  const double(*G)[3] = p.m == 2 ? kG2 : kG4;
#pragma omp parallel for schedule(static) if (g.oc * g.ic >= 4096)
  for (int64_t oc = 0; oc < g.oc; ++oc)
    for (int64_t ic = 0; ic < g.ic; ++ic) {
      const float* k = weights + (oc * g.ic + ic) * 9;
      double gk[6][3];  // G k
      for (int i = 0; i < a; ++i)
        for (int j = 0; j < 3; ++j) gk[i][j] = G[i][0] * k[j] + G[i][1] * k[3 + j] + G[i][2] * k[6 + j];
      for (int i = 0; i < a; ++i)
        for (int j = 0; j < a; ++j) {
          const double u = gk[i][0] * G[j][0] + gk[i][1] * G[j][1] + gk[i][2] * G[j][2];  // (G k) G^T
          p.u[static_cast<size_t>((((i * a + j) * p.oc_blocks + oc / p.nr) * g.ic + ic) * p.nr + oc % p.nr)] =
              static_cast<float>(u);
        }
    }
}

Blocking blocking(const Packed& p, int64_t total, int mr) {
  const ops::ConvGeometry& g = p.g;
  const int64_t threads = std::max(1, num_threads());
  const int64_t points = static_cast<int64_t>(p.alpha) * p.alpha, w = vector_width(p.isa);
  const int64_t v_tile = points * ceil_div(g.ic, w) * w * 4;
  const int64_t u_bytes = points * g.ic * p.oc_blocks * p.nr * 4;
  Blocking b;
  if (u_bytes >= v_tile * total) {
    // The weights outweigh all transformed inputs (deep layers, small maps): every task takes
    // all tiles, so U is streamed once; the tasks split the output channels.
    b.tb = total;
  } else {
    int64_t tb = std::clamp<int64_t>(kVBytes / v_tile, mr, 8 * mr) / mr * mr;
    const int64_t blocks = ceil_div(ceil_div(total, tb), threads) * threads;  // whole rounds of threads
    // Equal blocks, not multiples of mr: 49 tiles over 2 threads as 25 + 24, where rounding to
    // 24 rows made 48 + 1 (the GEMM splits a block into even row chunks of at most mr itself).
    b.tb = std::max<int64_t>(1, std::min(total, ceil_div(total, blocks)));
  }
  b.blocks = ceil_div(total, b.tb);
  int64_t groups = 1;
  for (; groups < p.oc_blocks; ++groups) {
    const int64_t ocg = ceil_div(p.oc_blocks, groups) * p.nr;
    const bool few = b.blocks * groups < threads;
    const bool big = b.blocks > 1 && points * g.ic * ocg * 4 > kUBytes && ocg > kMinGroupOc;
    if (!few && !big) break;
  }
  b.ocg = ceil_div(p.oc_blocks, groups) * p.nr;
  b.groups = ceil_div(p.oc_blocks * p.nr, b.ocg);
  return b;
}

}  // namespace leancnn::kernels::winograd
