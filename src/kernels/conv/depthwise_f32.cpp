// Depthwise Conv (group = C = OC, fp32, NCHW) backward: d_src, d_weights, d_bias by direct loops
// over each channel's plane, any kernel size, stride, dilation and padding.
//
// Why: oneDNN 2.6 runs depthwise backward with its jit_dw kernels only for some shapes; 5x5 and
// dilated layers (the DARTS cell space's sep_conv_5x5 and dil_conv_*, the mobile space's 5x5
// and 7x7) fall to its per-group im2col GEMM: 1.5-3 GFLOP/s, 6.9 ms for one 5x5 8-channel
// 28x28 backward-weights pass at batch 64, 60 % of a DARTS supernet's training time
// (ONEDNN_VERBOSE). A plane is small and the taps few: a row loop per tap, contiguous at
// stride 1 (the compiler vectorizes it), does better on every shape.
//
// d_src: per plane, every (output row, tap) scatters w x dy's row into dx's row (planes in
// parallel). d_weights: per channel, each tap's sum over batch and output pixels of dy x x, as
// per-row float sums added in double in a fixed order (channels in parallel; the same result for
// any thread count). d_bias: per channel, the sum of dy likewise. The forward stays with oneDNN
// (its depthwise forward kernels are fast); this kernel has none.
#include <algorithm>
#include <vector>

#include "conv_kernels.h"
#include "leancnn/core/cpu.h"
#include "leancnn/ops/conv.h"

namespace leancnn::kernels {
namespace {
using ops::ConvGeometry;

bool is_f32(const Tensor& t) { return t.defined() && t.dtype() == DType::f32 && t.is_contiguous(); }

std::string check_backward(const ir::BackwardCtx& ctx) {
  if (ctx.inputs.size() < 2 || !is_f32(ctx.inputs[0]) || !is_f32(ctx.inputs[1])) return "X or W is not contiguous f32";
  if (ctx.inputs[0].rank() != 4) return "not a 2-D (NCHW) convolution";
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined() && !is_f32(ctx.inputs[2])) return "B is not contiguous f32";
  if (ctx.d_outputs.empty() || !is_f32(ctx.d_outputs[0])) return "dY is not contiguous f32";
  const ConvGeometry g = ops::conv_geometry(ctx.node, ctx.inputs[0].shape(), ctx.inputs[1].shape());
  if (!g.depthwise()) return "not depthwise (group = C = OC)";
  return "";
}

// The output columns [lo, hi) whose input column ox * stride + x0 lies in [0, iw).
void column_range(int64_t x0, int64_t stride, int64_t iw, int64_t ow, int64_t* lo, int64_t* hi) {
  *lo = x0 >= 0 ? 0 : (-x0 + stride - 1) / stride;
  *hi = iw - 1 - x0 < 0 ? 0 : std::min(ow, (iw - 1 - x0) / stride + 1);
  if (*hi < *lo) *hi = *lo;
}

void backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) {
  const int64_t planes = g.n * g.ic, taps = g.kh * g.kw;
  const bool parallel = num_threads() > 1 && planes > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t c = p % g.ic;
    const float* wc = w + c * taps;
    const float* dyp = dy + p * g.oh * g.ow;
    float* dxp = dx + p * g.ih * g.iw;
    std::fill(dxp, dxp + g.ih * g.iw, 0.f);
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const float* dyr = dyp + oy * g.ow;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
        if (iy < 0 || iy >= g.ih) continue;
        float* dxr = dxp + iy * g.iw;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const float wv = wc[ky * g.kw + kx];
          const int64_t x0 = kx * g.dil_w - g.pad_l;
          int64_t lo, hi;
          column_range(x0, g.stride_w, g.iw, g.ow, &lo, &hi);
          if (g.stride_w == 1) {
            float* d = dxr + x0;
#pragma omp simd
            for (int64_t ox = lo; ox < hi; ++ox) d[ox] += wv * dyr[ox];
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dxr[ox * g.stride_w + x0] += wv * dyr[ox];
          }
        }
      }
    }
  }
}

void backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* db) {
  const int64_t taps = g.kh * g.kw;
  const bool parallel = num_threads() > 1 && g.ic > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < g.ic; ++c) {
    std::vector<double> acc(static_cast<size_t>(taps), 0.0);
    double bias = 0;
    for (int64_t n = 0; n < g.n; ++n) {
      const int64_t p = n * g.ic + c;
      const float* xp = x + p * g.ih * g.iw;
      const float* dyp = dy + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const float* dyr = dyp + oy * g.ow;
        if (db) {
          float s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t ox = 0; ox < g.ow; ++ox) s += dyr[ox];
          bias += s;
        }
        if (!dw) continue;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
          if (iy < 0 || iy >= g.ih) continue;
          const float* xr = xp + iy * g.iw;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t x0 = kx * g.dil_w - g.pad_l;
            int64_t lo, hi;
            column_range(x0, g.stride_w, g.iw, g.ow, &lo, &hi);
            float s = 0;
            if (g.stride_w == 1) {
              const float* xs = xr + x0;
#pragma omp simd reduction(+ : s)
              for (int64_t ox = lo; ox < hi; ++ox) s += dyr[ox] * xs[ox];
            } else {
              for (int64_t ox = lo; ox < hi; ++ox) s += dyr[ox] * xr[ox * g.stride_w + x0];
            }
            acc[static_cast<size_t>(ky * g.kw + kx)] += s;
          }
        }
      }
    }
    if (dw)
      for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] = static_cast<float>(acc[static_cast<size_t>(t)]);
    if (db) db[c] = static_cast<float>(bias);
  }
}

void backward(ir::BackwardCtx& ctx) {
  const ConvGeometry g = ops::conv_geometry(ctx.node, ctx.inputs[0].shape(), ctx.inputs[1].shape());
  const float* dy = ctx.d_outputs[0].data<float>();
  if (ctx.d_inputs[0].defined()) backward_data(g, ctx.inputs[1].data<float>(), dy, ctx.d_inputs[0].data<float>());
  float* dw = ctx.d_inputs[1].defined() ? ctx.d_inputs[1].data<float>() : nullptr;
  float* db = ctx.d_inputs.size() > 2 && ctx.d_inputs[2].defined() ? ctx.d_inputs[2].data<float>() : nullptr;
  if (dw || db) backward_weights(g, ctx.inputs[0].data<float>(), dy, dw, db);
}
}  // namespace

Kernel cpu_depthwise_conv_f32() {
  Kernel k;
  k.name = "cpu_depthwise_conv_f32";
  k.check_backward = check_backward;
  k.backward = backward;
  return k;
}

}  // namespace leancnn::kernels
