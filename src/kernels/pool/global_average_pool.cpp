// GlobalAveragePool over fp32, forward (pool_kernels.h): each channel's plane summed and divided
// by its area, NCHW (a plane is contiguous: eight partial sums the compiler keeps in one vector)
// or channels-last (NHWC: per pixel a contiguous row of channels added into the sums). At batch 1
// the op is a few thousand additions, and oneDNN's pooling call costs 1.6-3 us around them
// (ResNet-20's 64x7x7 in `leancnn bench --profile`); this loop takes a tenth of that. Threads only
// for large inputs. Backward stays with oneDNN's kernel (the next in the list).
#include <algorithm>
#include <string>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "pool_kernels.h"

namespace leancnn::kernels {
namespace {

constexpr int64_t kParallelValues = 1 << 16;

// Sum of n contiguous floats in 8 interleaved partial sums (a fixed order: the result does not
// depend on the thread count).
float sum_plane(const float* x, int64_t n) {
  float part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += x[i + j];
  for (int j = 0; i < n; ++i, ++j) part[j] += x[i];
  return ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
}

// out[ch] += row[ch]: restrict, so the compiler vectorizes without the alias checks it put
// around every pixel's loop (MobileNetV2's 1280x7x7 pool took 18 us, ONNX Runtime's 6 us).
void add_row(const float* __restrict row, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += row[i];
}

// Channels-last: each thread sums its own range of channels over every pixel (the same order
// per channel as one thread: the result does not depend on the thread count).
constexpr int64_t kChannelBlock = 64;

std::string check(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.size() != 1 || !ctx.inputs[0].defined()) return "missing X";
  const Tensor& x = ctx.inputs[0];
  if (x.dtype() != DType::f32 || !x.is_contiguous()) return "X is not a contiguous f32 tensor";
  if (x.rank() != 4) return str_cat("X has rank ", x.rank(), " (2-D pooling, NCHW, only)");
  if (ctx.outputs.size() != 1 || ctx.outputs[0].dtype() != DType::f32 || !ctx.outputs[0].is_contiguous())
    return "the output is not a contiguous f32 tensor";
  if (ctx.outputs[0].numel() != x.shape()[0] * x.shape()[1]) return "the output is not N x C x 1 x 1";
  return "";
}

void forward(ir::ForwardCtx& ctx) {
  const Shape& s = ctx.inputs[0].shape();
  const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
  const float* x = ctx.inputs[0].data<float>();
  float* y = ctx.outputs[0].data<float>();
  const float inv = hw > 0 ? 1.f / static_cast<float>(hw) : 0.f;
  const bool parallel = num_threads() > 1 && n * c * hw >= kParallelValues;
  if ((ctx.channels_last & ir::channels_last_input(0)) == 0) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t p = 0; p < n * c; ++p) y[p] = sum_plane(x + p * hw, hw) * inv;
    return;
  }
  const int64_t blocks = (c + kChannelBlock - 1) / kChannelBlock;
  const bool parallel_nhwc = num_threads() > 1 && n * c * hw >= kParallelValues / 4 && n * blocks > 1;
#pragma omp parallel for collapse(2) schedule(static) if (parallel_nhwc)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kChannelBlock, cn = std::min(kChannelBlock, c - c0);
      float* out = y + b * c + c0;
      std::fill(out, out + cn, 0.f);
      const float* img = x + b * hw * c + c0;
      for (int64_t px = 0; px < hw; ++px) add_row(img + px * c, out, cn);
      for (int64_t ch = 0; ch < cn; ++ch) out[ch] *= inv;
    }
}

// X may be channels-last; the N x C x 1 x 1 output is the same bytes in either order.
ChannelsLast channels_last(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.empty() || !ctx.inputs[0].defined() || ctx.inputs[0].rank() != 4) return {};
  return {ir::channels_last_input(0) | ir::channels_last_output(0), false};
}

}  // namespace

Kernel cpu_global_average_pool_f32() {
  Kernel k;
  k.name = "cpu_global_average_pool_f32";
  k.check_forward = check;
  k.forward = forward;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
