// MobileNetV2's inverted residual block in one pass over bands of rows, fp32 (private to the
// inverted-residual kernels; docs/fused_blocks.md): each thread walks its share of the output
// rows a band at a time; the expanded input rows a band's depthwise windows need are computed
// once into a ring of rows (kept for the next band where the windows overlap), the band's
// depthwise rows go to a small buffer, and the projection writes the band with bias, residual and
// activation applied in registers. The wide expanded activation never goes to memory whole.
#pragma once
#include <cstdint>
#include <vector>

#include "simd/float_isa.h"
#include "leancnn/ops/fused_conv.h"

namespace leancnn::kernels::inverted_residual {

using Isa = simd::FloatIsa;

constexpr int64_t kMaxKernelRows = 16;  // the kernels decline taller depthwise windows (the ring's slot table)
constexpr int64_t vector_width(Isa isa) { return isa == Isa::avx512 ? 16 : 8; }

// The block's shapes (activations NHWC).
struct Geometry {
  int64_t n = 0, ih = 0, iw = 0, c = 0;  // X
  bool expand = false;                   // a 1x1 expansion first (else the depthwise reads X)
  int64_t m = 0;                         // the depthwise's channels
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, pad_t = 0, pad_l = 0;
  int64_t oh = 0, ow = 0, oc = 0;        // Y
};

// The weights packed for one ISA. A GEMM operand's columns come in blocks of two vectors (the
// last may be one): the block starting at column j0 is [k][its width] at offset j0 * k_len.
struct Packed {
  Geometry g;
  Isa isa = Isa::avx2;
  int64_t mp = 0;             // m rounded up to whole vectors: the ring's and D's channel stride
  int64_t ocp = 0;            // oc rounded up to whole vectors
  std::vector<float> we, be;  // expansion [c][mp] in column blocks; bias [mp] (zeros past m)
  std::vector<float> wd, bd;  // depthwise [kh * kw][mp]; bias [mp]
  std::vector<float> wp, bp;  // projection [m][ocp] in column blocks; bias [ocp]
  ops::FusedEpilogue act_expand, act_dw, act;
};

// From the ONNX weights (We [m][c] or null, Wd [m][kh*kw], Wp [oc][m]; biases may be null).
void pack(Packed& p, const float* we, const float* be, const float* wd, const float* bd, const float* wp,
          const float* bp);

// The activations of one run: X, Y and Z (or null) NHWC with dense pixels.
struct Io {
  const float* src = nullptr;
  float* dst = nullptr;
  const float* z = nullptr;
};

// Y = act(project(act_dw(depthwise(act_expand(expand(X))))) + bias [+ Z]), OpenMP over bands
// of output rows (leancnn's thread count).
void run_avx2(const Packed& p, const Io& io);
void run_avx512(const Packed& p, const Io& io);

// A thread-local buffer's storage for at least n floats (grown, never shrunk; contents not kept).
inline float* grown(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace leancnn::kernels::inverted_residual
