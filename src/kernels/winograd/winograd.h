// Winograd F(m x m, 3 x 3) convolution, fp32 (private to the winograd kernels): the packed
// transformed weights an inference plan builds once, the activations' view the ISA-specific runs
// take (NHWC with a pixel stride; conv_winograd.cpp transposes NCHW in and out), and the runs.
// docs/winograd.md has the transforms, their error growth and the tolerance.
#pragma once
#include <cstdint>
#include <vector>

#include "simd/float_isa.h"
#include "conv/nhwc_conv.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/fused_conv.h"

namespace leancnn::kernels::winograd {

using Isa = simd::FloatIsa;

// Register blocking of the batched GEMM per ISA: output channels per packed block, two vectors
// (the 2-vector micro-kernel reuses each broadcast twice) unless one vector pads the output
// channels less (16 on AVX-512: one 16-lane block, not half of a 32-lane one; 40: 48, not 64),
// where the 1-vector micro-kernel takes twice the rows instead.
constexpr int vector_width(Isa isa) { return isa == Isa::avx512 ? 16 : 8; }
constexpr int64_t block_oc(Isa isa, int64_t oc) {
  const int64_t w = vector_width(isa), one = (oc + w - 1) / w * w, two = (oc + 2 * w - 1) / (2 * w) * 2 * w;
  return one < two ? w : 2 * w;
}

// The weights of one stride-1, dilation-1, groups-1 3x3 conv transformed into F(m x m, 3 x 3)'s
// domain (U = G g G^T per output/input channel pair) and packed for the ISA's GEMM:
// u[p][oc / nr][ic][oc % nr] for the alpha^2 points p, output channels zero-padded to nr
// (block_oc: one or two vectors).
struct Packed {
  ops::ConvGeometry g;
  Isa isa = Isa::avx2;
  int m = 4;          // output tile (2 or 4)
  int alpha = 6;      // input tile, m + 2
  int64_t nr = 16;    // output channels per packed block
  int64_t oc_blocks = 0;
  int64_t tiles_h = 0, tiles_w = 0;  // tiles per image
  std::vector<float> u;
  std::vector<float> bias;  // oc values (zeros when the conv has none)
};

// U from OIHW weights [oc, ic, 3, 3] (transform in double, rounded once to float).
void pack(Packed& p, const float* weights, const float* bias);

// The activations of one run (conv/nhwc_conv.h).
using Io = NhwcIo;

// How a run splits into tasks.
struct Blocking {
  int64_t tb = 0;       // tiles per task
  int64_t blocks = 0;   // tile blocks
  int64_t ocg = 0;      // output channels per task (a multiple of nr)
  int64_t groups = 0;   // output-channel groups
};

using kernels::grown;

// (winograd_pack.cpp, on leancnn's thread count)
Blocking blocking(const Packed& p, int64_t total_tiles, int mr);

// dst = act(conv(src) + bias [+ z]), OpenMP over (tile block, output-channel group) tasks.
void run_avx2(const Packed& p, const Io& io);
void run_avx512(const Packed& p, const Io& io);

}  // namespace leancnn::kernels::winograd
