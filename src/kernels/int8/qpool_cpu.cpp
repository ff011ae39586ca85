// Integer pooling kernels: QLinearMaxPool (window maxima on u8/s8, then the requantization as a
// 256-entry table) and QLinearGlobalAveragePool (exact integer channel sums, then the op's f32
// mean and a vectorized quantize), NCHW or channels-last. Plain loops that the compiler
// vectorizes (omp simd); OpenMP over planes or rows only where the tensor is big enough to pay
// for waking the threads.
#include "int8_kernels.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "leancnn/core/error.h"
#include "leancnn/ops/pool.h"
#include "leancnn/ops/qpool.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::kernels {

namespace {
using ops::PoolGeometry;
using ops::PoolKind;
using ops::QPoolParams;

// Below this many input bytes a pool runs on the calling thread: waking the OpenMP team costs
// more than the work (a 32x28x28 u8 map takes a few microseconds on one core).
constexpr int64_t kParallelMinBytes = int64_t{1} << 17;
// Channels handled per stack buffer.
constexpr int64_t kBlock = 512;

bool is_q8(DType t) { return t == DType::u8 || t == DType::s8; }

std::string check_common(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.size() != 5 || ctx.outputs.size() != 1) return "not 5 inputs and one output";
  const Tensor& x = ctx.inputs[ops::kQPoolX];
  if (!x.defined() || x.rank() != 4 || !is_q8(x.dtype()) || !x.is_contiguous()) return "x is not a contiguous 4-D u8/s8 tensor";
  const Tensor& y = ctx.outputs[0];
  if (!y.defined() || !is_q8(y.dtype()) || !y.is_contiguous()) return "y is not a contiguous u8/s8 tensor";
  try {
    const QPoolParams p = ops::qpool_params(ctx.node, ctx.inputs);
    if (p.y_dtype != y.dtype()) return "y_zero_point's type differs from the output's";
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool nhwc_input(const ir::ForwardCtx& ctx) { return (ctx.channels_last & ir::channels_last_input(0)) != 0; }
bool nhwc_output(const ir::ForwardCtx& ctx) { return (ctx.channels_last & ir::channels_last_output(0)) != 0; }

// --- QLinearMaxPool ---

// R(v) for every input value v (index v - min of x's type), as output bytes; identity when the
// table maps every value to itself in the same type (equal scales and zero points), so the
// maxima are stored as they are.
struct RequantTable {
  std::array<uint8_t, 256> bytes;
  bool identity = true;
};

RequantTable requant_table(const QPoolParams& p) {
  const int32_t lo = p.x_dtype == DType::u8 ? 0 : -128;
  float real[256];
  for (int32_t i = 0; i < 256; ++i) real[i] = static_cast<float>(lo + i - p.x_zp) * p.x_scale;  // DequantizeLinear
  RequantTable t;
  if (p.y_dtype == DType::u8)
    ops::quantize_row(real, 256, p.y_scale, p.y_zp, p.y_min, p.y_max, t.bytes.data());
  else
    ops::quantize_row(real, 256, p.y_scale, p.y_zp, p.y_min, p.y_max, reinterpret_cast<int8_t*>(t.bytes.data()));
  t.identity = p.x_dtype == p.y_dtype;
  for (int32_t i = 0; i < 256 && t.identity; ++i) t.identity = t.bytes[i] == static_cast<uint8_t>(lo + i);
  return t;
}

// Where output (n, c, pixel) lives: n * batch + c * channel + pixel * pixel_stride.
struct OutLayout {
  int64_t batch, channel, pixel;
};

// dst[i * stride] = R(acc[i]) for i < count.
template <typename T>
void store(const T* acc, int64_t count, const RequantTable& t, uint8_t* dst, int64_t stride) {
  constexpr int32_t lo = std::is_same_v<T, uint8_t> ? 0 : -128;
  if (t.identity) {
    if (stride == 1) {
      std::memcpy(dst, acc, static_cast<size_t>(count));
      return;
    }
    for (int64_t i = 0; i < count; ++i) dst[i * stride] = static_cast<uint8_t>(acc[i]);
    return;
  }
  for (int64_t i = 0; i < count; ++i) dst[i * stride] = t.bytes[static_cast<int32_t>(acc[i]) - lo];
}

// NCHW input, in two passes per output row: the maximum over the window's rows (contiguous,
// whole input rows) into a row buffer whose padding columns hold the type's minimum, then the
// maximum over the window's columns of that buffer (stride-s loads, no bounds checks).
template <typename T>
void max_pool_nchw(const T* x, const PoolGeometry& g, const RequantTable& t, uint8_t* y, const OutLayout& o,
                   bool parallel) {
  constexpr T kMin = std::numeric_limits<T>::min();  // padding never wins: every window holds an input
  // Buffer column j is input column j - pad_l; the last window ends at column `span` - 1.
  const int64_t span = (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1;
  const int64_t inside = std::max<int64_t>(0, std::min(g.iw, span - g.pad_l));  // input columns read
#pragma omp parallel if (parallel)
  {
    std::vector<T> buf(static_cast<size_t>(span), kMin), acc(static_cast<size_t>(g.ow));
    T* row_max = buf.data() + g.pad_l;
#pragma omp for schedule(static)
    for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
      const int64_t n = plane / g.c, c = plane % g.c;
      const T* src = x + plane * g.ih * g.iw;
      uint8_t* dst = y + n * o.batch + c * o.channel;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        bool first = true;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = g.y0(oy) + ky * g.dil_h;
          if (iy < 0 || iy >= g.ih) continue;
          const T* r = src + iy * g.iw;
          if (first) {
            std::memcpy(row_max, r, static_cast<size_t>(inside) * sizeof(T));
            first = false;
            continue;
          }
#pragma omp simd
          for (int64_t i = 0; i < inside; ++i) row_max[i] = std::max(row_max[i], r[i]);
        }
        const T* b = buf.data();
        const int64_t s = g.stride_w;
        T* a = acc.data();
        if (s == 1) {
#pragma omp simd
          for (int64_t ox = 0; ox < g.ow; ++ox) a[ox] = b[ox];
        } else {
#pragma omp simd
          for (int64_t ox = 0; ox < g.ow; ++ox) a[ox] = b[ox * s];
        }
        for (int64_t kx = 1; kx < g.kw; ++kx) {
          const T* bk = b + kx * g.dil_w;
          if (s == 1) {
#pragma omp simd
            for (int64_t ox = 0; ox < g.ow; ++ox) a[ox] = std::max(a[ox], bk[ox]);
          } else {
#pragma omp simd
            for (int64_t ox = 0; ox < g.ow; ++ox) a[ox] = std::max(a[ox], bk[ox * s]);
          }
        }
        store(a, g.ow, t, dst + oy * g.ow * o.pixel, o.pixel);
      }
    }
  }
}

// Channels-last input: each output pixel is the running maximum over its taps of contiguous
// channel vectors.
template <typename T>
void max_pool_nhwc(const T* x, const PoolGeometry& g, const RequantTable& t, uint8_t* y, const OutLayout& o,
                   bool parallel) {
  constexpr T kMin = std::numeric_limits<T>::min();
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t row = 0; row < g.n * g.oh; ++row) {
    const int64_t n = row / g.oh, oy = row % g.oh;
    T acc[kBlock];
    for (int64_t ox = 0; ox < g.ow; ++ox)
      for (int64_t c0 = 0; c0 < g.c; c0 += kBlock) {
        const int64_t cn = std::min(kBlock, g.c - c0);
        std::fill(acc, acc + cn, kMin);
        ops::for_each_tap(g, oy, ox, [&](int64_t iy, int64_t ix) {
          const T* src = x + ((n * g.ih + iy) * g.iw + ix) * g.c + c0;
#pragma omp simd
          for (int64_t i = 0; i < cn; ++i) acc[i] = std::max(acc[i], src[i]);
        });
        store(acc, cn, t, y + n * o.batch + c0 * o.channel + (oy * g.ow + ox) * o.pixel, o.channel);
      }
  }
}

std::string check_max_pool(const ir::ForwardCtx& ctx) {
  const std::string why = check_common(ctx);
  if (!why.empty()) return why;
  if (ctx.outputs[0].rank() != 4) return "y is not 4-D";
  return "";
}

void max_pool_forward(ir::ForwardCtx& ctx) {
  const Tensor& x = ctx.inputs[ops::kQPoolX];
  const QPoolParams p = ops::qpool_params(ctx.node, ctx.inputs);
  const PoolGeometry g = ops::pool_geometry(ctx.node, x.shape(), PoolKind::max);
  const RequantTable t = requant_table(p);
  const int64_t plane = g.oh * g.ow;
  const OutLayout o = nhwc_output(ctx) ? OutLayout{g.c * plane, 1, g.c} : OutLayout{g.c * plane, plane, 1};
  auto* y = static_cast<uint8_t*>(ctx.outputs[0].raw());
  const bool parallel = x.numel() >= kParallelMinBytes;
  if (x.dtype() == DType::u8) {
    if (nhwc_input(ctx))
      max_pool_nhwc(x.data<uint8_t>(), g, t, y, o, parallel);
    else
      max_pool_nchw(x.data<uint8_t>(), g, t, y, o, parallel);
  } else {
    if (nhwc_input(ctx))
      max_pool_nhwc(x.data<int8_t>(), g, t, y, o, parallel);
    else
      max_pool_nchw(x.data<int8_t>(), g, t, y, o, parallel);
  }
}

ChannelsLast max_pool_channels_last(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_output(0), false};
}

// --- QLinearGlobalAveragePool ---

// Pixels summed in s32 before the partial sum moves to s64: 2^23 * 255 < 2^31.
constexpr int64_t kS32Pixels = int64_t{1} << 23;

// acc[c] = sum over the plane of x, exactly (the zero point is taken off afterwards).
template <typename T>
void plane_sums(const T* x, const PoolGeometry& g, int64_t* sums, bool parallel) {
  const int64_t count = g.ih * g.iw;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const T* src = x + plane * count;
    int64_t total = 0;
    for (int64_t p0 = 0; p0 < count; p0 += kS32Pixels) {
      const int64_t p1 = std::min(count, p0 + kS32Pixels);
      int32_t s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = p0; i < p1; ++i) s += src[i];
      total += s;
    }
    sums[plane] = total;
  }
}

// Channels-last: per sample, blocks of channels accumulate over all pixels (contiguous loads).
template <typename T>
void channel_sums_nhwc(const T* x, const PoolGeometry& g, int64_t* sums, bool parallel) {
  const int64_t count = g.ih * g.iw, blocks = (g.c + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t job = 0; job < g.n * blocks; ++job) {
    const int64_t n = job / blocks, c0 = (job % blocks) * kBlock, cn = std::min(kBlock, g.c - c0);
    int32_t acc[kBlock];
    int64_t* total = sums + n * g.c + c0;
    std::fill(total, total + cn, int64_t{0});
    for (int64_t p0 = 0; p0 < count; p0 += kS32Pixels) {
      const int64_t p1 = std::min(count, p0 + kS32Pixels);
      std::fill(acc, acc + cn, 0);
      for (int64_t pix = p0; pix < p1; ++pix) {
        const T* src = x + (n * count + pix) * g.c + c0;
#pragma omp simd
        for (int64_t i = 0; i < cn; ++i) acc[i] += src[i];
      }
      for (int64_t i = 0; i < cn; ++i) total[i] += acc[i];
    }
  }
}

void global_average_pool_forward(ir::ForwardCtx& ctx) {
  const Tensor& x = ctx.inputs[ops::kQPoolX];
  const QPoolParams p = ops::qpool_params(ctx.node, ctx.inputs);
  const PoolGeometry g = ops::pool_geometry(ctx.node, x.shape(), PoolKind::global_average);
  const int64_t planes = g.n * g.c, count = g.ih * g.iw;
  std::vector<int64_t> sums(static_cast<size_t>(planes));
  const bool parallel = x.numel() >= kParallelMinBytes;
  if (x.dtype() == DType::u8) {
    if (nhwc_input(ctx))
      channel_sums_nhwc(x.data<uint8_t>(), g, sums.data(), parallel);
    else
      plane_sums(x.data<uint8_t>(), g, sums.data(), parallel);
  } else {
    if (nhwc_input(ctx))
      channel_sums_nhwc(x.data<int8_t>(), g, sums.data(), parallel);
    else
      plane_sums(x.data<int8_t>(), g, sums.data(), parallel);
  }
  // The op's arithmetic (ops::qglobal_average_pool_output), the quantization vectorized:
  // quantize_row equals quantize_value element by element.
  std::vector<float> mean(static_cast<size_t>(planes));
  const float divisor = static_cast<float>(count);
  for (int64_t i = 0; i < planes; ++i) {
    const int64_t acc = sums[i] - count * p.x_zp;
    const float sum = static_cast<float>(acc) * p.x_scale;
    mean[i] = sum / divisor;
  }
  Tensor& y = ctx.outputs[0];
  if (y.dtype() == DType::u8)
    ops::quantize_row(mean.data(), planes, p.y_scale, p.y_zp, p.y_min, p.y_max, y.data<uint8_t>());
  else
    ops::quantize_row(mean.data(), planes, p.y_scale, p.y_zp, p.y_min, p.y_max, y.data<int8_t>());
}

// The [N, C, 1, 1] output is the same bytes in both orders, so only the input is declared.
ChannelsLast global_average_pool_channels_last(const ir::ForwardCtx&) { return {ir::channels_last_input(0), false}; }
}  // namespace

Kernel cpu_qmax_pool_x8() {
  Kernel k;
  k.name = "cpu_qmax_pool_x8";
  k.check_forward = check_max_pool;
  k.forward = max_pool_forward;
  k.channels_last = max_pool_channels_last;
  return k;
}

Kernel cpu_qglobal_average_pool_x8() {
  Kernel k;
  k.name = "cpu_qglobal_average_pool_x8";
  k.check_forward = check_common;
  k.forward = global_average_pool_forward;
  k.channels_last = global_average_pool_channels_last;
  return k;
}

}  // namespace leancnn::kernels
