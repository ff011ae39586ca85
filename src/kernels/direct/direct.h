// Direct convolution over channels-last fp32 activations (private to the direct kernels): the
// weights packed once by an inference plan's prepare, and the ISA-specific runs. Each output
// pixel's window row (kw taps x ic channels) is contiguous in a zero-padded NHWC copy of its
// input rows, so a kernel row is one GEMM inner loop of kw * ic steps: R output pixels (in
// raster order, across output rows) x NR output channels in registers, bias, residual and
// activation applied at the store. docs/direct_conv.md has the layout and the measurements.
#pragma once
#include <cstdint>
#include <vector>

#include "simd/float_isa.h"
#include "conv/nhwc_conv.h"
#include "leancnn/ops/conv.h"

namespace leancnn::kernels::direct {

using Isa = simd::FloatIsa;

constexpr int vector_width(Isa isa) { return isa == Isa::avx512 ? 16 : 8; }

// The weights of one dilation-1, groups-1 convolution packed for the ISA's micro-kernel:
// w[oc / nr][kh][kw][ic][oc % nr], output channels zero-padded to nr (one or two vectors, as
// Winograd's block_oc); bias zero-padded likewise.
struct Packed {
  ops::ConvGeometry g;
  Isa isa = Isa::avx2;
  int64_t nr = 16;
  int64_t oc_blocks = 0;
  std::vector<float> w;
  std::vector<float> bias;
};

// From OIHW weights [oc, ic, kh, kw].
void pack(Packed& p, const float* weights, const float* bias);

// How a run splits into OpenMP tasks: bands of output rows (of one image) x groups of output
// channel blocks.
struct Blocking {
  int64_t band_rows = 0;  // output rows per band
  int64_t bands = 0;      // bands over all images
  int64_t group_blocks = 0;  // oc blocks per group
  int64_t groups = 0;
};

// (direct_pack.cpp, on leancnn's thread count)
Blocking blocking(const Packed& p);

// dst = act(conv(src) + bias [+ z]).
void run_avx2(const Packed& p, const NhwcIo& io);
void run_avx512(const Packed& p, const NhwcIo& io);

}  // namespace leancnn::kernels::direct
