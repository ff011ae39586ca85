// Packing the inverted residual block's weights for the row pass (inverted_residual.h).
#include <algorithm>

#include "inverted_residual.h"

namespace leancnn::kernels::inverted_residual {

namespace {

// w is [cols][k] (an ONNX 1x1 conv's [out][in]); out holds cols_padded columns in blocks of two
// vectors (the last one vector when that is what is left), zeros past cols.
void pack_columns(const float* w, int64_t cols, int64_t k, int64_t cols_padded, int64_t vw, std::vector<float>& out) {
  out.assign(static_cast<size_t>(cols_padded * k), 0.f);
  for (int64_t j0 = 0; j0 < cols_padded; j0 += 2 * vw) {
    const int64_t nb = std::min(2 * vw, cols_padded - j0);
    float* blk = out.data() + j0 * k;
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < nb && j0 + j < cols; ++j) blk[kk * nb + j] = w[(j0 + j) * k + kk];
  }
}

std::vector<float> padded(const float* v, int64_t n, int64_t np) {
  std::vector<float> out(static_cast<size_t>(np), 0.f);
  if (v) std::copy(v, v + n, out.begin());
  return out;
}

}  // namespace

void pack(Packed& p, const float* we, const float* be, const float* wd, const float* bd, const float* wp,
          const float* bp) {
  const Geometry& g = p.g;
  const int64_t vw = vector_width(p.isa), taps = g.kh * g.kw;
  p.mp = (g.m + vw - 1) / vw * vw;
  p.ocp = (g.oc + vw - 1) / vw * vw;
  if (g.expand) {
    pack_columns(we, g.m, g.c, p.mp, vw, p.we);
    p.be = padded(be, g.m, p.mp);
  }
  p.wd.assign(static_cast<size_t>(taps * p.mp), 0.f);
  for (int64_t ch = 0; ch < g.m; ++ch)
    for (int64_t t = 0; t < taps; ++t) p.wd[static_cast<size_t>(t * p.mp + ch)] = wd[ch * taps + t];
  p.bd = padded(bd, g.m, p.mp);
  pack_columns(wp, g.oc, g.m, p.ocp, vw, p.wp);
  p.bp = padded(bp, g.oc, p.ocp);
}

}  // namespace leancnn::kernels::inverted_residual
