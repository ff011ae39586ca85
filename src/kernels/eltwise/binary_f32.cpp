// Fast fp32 Add / Mul: equal shapes, per-channel broadcasting of one operand, and one operand
// a single value (a DARTS mixed op's weight times an operation's output, search/darts.cpp).
#include "eltwise_kernels.h"

#include <omp.h>

#include <algorithm>
#include <vector>

namespace leancnn::kernels {

namespace {
bool is_f32(const Tensor& t) { return t.defined() && t.dtype() == DType::f32 && t.is_contiguous(); }

std::string check_same(const ir::ForwardCtx& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  if (!is_f32(a) || !is_f32(b)) return "inputs are not contiguous f32";
  if (a.shape() != b.shape()) return "shapes differ (broadcasting)";
  return "";
}

template <bool kMul>
void same_forward(ir::ForwardCtx& ctx) {
  const float* a = ctx.inputs[0].data<float>();
  const float* b = ctx.inputs[1].data<float>();
  float* y = ctx.outputs[0].data<float>();
  const int64_t n = ctx.outputs[0].numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = kMul ? a[i] * b[i] : a[i] + b[i];
}

std::string check_same_backward(const ir::BackwardCtx& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  if (!is_f32(a) || !is_f32(b) || a.shape() != b.shape()) return "not two contiguous f32 inputs of equal shape";
  return "";
}

template <bool kMul>
void same_backward(ir::BackwardCtx& ctx) {
  const float* dy = ctx.d_outputs[0].data<float>();
  const float* a = ctx.inputs[0].data<float>();
  const float* b = ctx.inputs[1].data<float>();
  float* da = ctx.d_inputs[0].defined() ? ctx.d_inputs[0].data<float>() : nullptr;
  float* db = ctx.d_inputs[1].defined() ? ctx.d_inputs[1].data<float>() : nullptr;
  const int64_t n = ctx.d_outputs[0].numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    if (da) da[i] = kMul ? dy[i] * b[i] : dy[i];
    if (db) db[i] = kMul ? dy[i] * a[i] : dy[i];
  }
}

// Which input is the per-channel operand: 1 (b) or 0 (a); -1 when the shapes are not
// [N, C, H, W] with [N|1, C, 1, 1] / [C, 1, 1].
int per_channel_operand(const Tensor& a, const Tensor& b) {
  auto matches = [](const Shape& full, const Shape& ch) {
    if (full.size() != 4) return false;
    if (ch.size() == 3) return ch[0] == full[1] && ch[1] == 1 && ch[2] == 1;
    return ch.size() == 4 && (ch[0] == full[0] || ch[0] == 1) && ch[1] == full[1] && ch[2] == 1 && ch[3] == 1 &&
           (full[2] * full[3] > 1);
  };
  if (matches(a.shape(), b.shape())) return 1;
  if (matches(b.shape(), a.shape())) return 0;
  return -1;
}

std::string check_per_channel(const ir::ForwardCtx& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  if (!is_f32(a) || !is_f32(b)) return "inputs are not contiguous f32";
  if (per_channel_operand(a, b) < 0) return "not [N,C,H,W] with a per-channel [N|1,C,1,1] operand";
  return "";
}

std::string check_per_channel_backward(const ir::BackwardCtx& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  if (!is_f32(a) || !is_f32(b) || per_channel_operand(a, b) < 0)
    return "not [N,C,H,W] with a per-channel [N|1,C,1,1] operand";
  return "";
}

struct PerChannel {
  const Tensor* full;
  const Tensor* ch;
  int ch_index;
  int64_t n, c, hw;
  bool ch_per_sample;  // the per-channel operand has N rows (else 1, shared by all samples)
};

PerChannel layout(const Tensor& a, const Tensor& b) {
  const int k = per_channel_operand(a, b);
  const Tensor& full = k == 1 ? a : b;
  const Tensor& ch = k == 1 ? b : a;
  return {&full, &ch, k, full.dim(0), full.dim(1), full.dim(2) * full.dim(3), ch.rank() == 4 && ch.dim(0) > 1};
}

template <bool kMul>
void per_channel_forward(ir::ForwardCtx& ctx) {
  const PerChannel p = layout(ctx.inputs[0], ctx.inputs[1]);
  const float* x = p.full->data<float>();
  const float* s = p.ch->data<float>();
  float* y = ctx.outputs[0].data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < p.n * p.c; ++row) {
    const float v = s[p.ch_per_sample ? row : row % p.c];
    const float* xr = x + row * p.hw;
    float* yr = y + row * p.hw;
#pragma omp simd
    for (int64_t i = 0; i < p.hw; ++i) yr[i] = kMul ? xr[i] * v : xr[i] + v;
  }
}

template <bool kMul>
void per_channel_backward(ir::BackwardCtx& ctx) {
  const PerChannel p = layout(ctx.inputs[0], ctx.inputs[1]);
  const float* x = p.full->data<float>();
  const float* s = p.ch->data<float>();
  const float* dy = ctx.d_outputs[0].data<float>();
  const Tensor& d_full_t = ctx.d_inputs[p.ch_index == 1 ? 0 : 1];
  const Tensor& d_ch_t = ctx.d_inputs[p.ch_index];
  float* d_full = d_full_t.defined() ? d_full_t.data<float>() : nullptr;
  // Per-(sample, channel) sums first, then over samples in a fixed order: deterministic.
  std::vector<double> row_sum(d_ch_t.defined() ? p.n * p.c : 0);
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < p.n * p.c; ++row) {
    const float v = s[p.ch_per_sample ? row : row % p.c];
    const float* dyr = dy + row * p.hw;
    if (d_full) {
      float* dr = d_full + row * p.hw;
#pragma omp simd
      for (int64_t i = 0; i < p.hw; ++i) dr[i] = kMul ? dyr[i] * v : dyr[i];
    }
    if (!row_sum.empty()) {
      const float* xr = x + row * p.hw;
      double acc = 0;
      for (int64_t i = 0; i < p.hw; ++i) acc += kMul ? static_cast<double>(dyr[i]) * xr[i] : dyr[i];
      row_sum[row] = acc;
    }
  }
  if (row_sum.empty()) return;
  float* d_ch = d_ch_t.data<float>();
  if (p.ch_per_sample) {
    for (int64_t row = 0; row < p.n * p.c; ++row) d_ch[row] = static_cast<float>(row_sum[row]);
  } else {
    for (int64_t ch = 0; ch < p.c; ++ch) {
      double acc = 0;
      for (int64_t n = 0; n < p.n; ++n) acc += row_sum[n * p.c + ch];
      d_ch[ch] = static_cast<float>(acc);
    }
  }
}

// Which input is the single value: 1 (b) or 0 (a); -1 when neither has one element, or the
// broadcast output would not be the other operand's shape (a [1,1,1,1] against a rank-2 tensor).
int scalar_operand(const Tensor& a, const Tensor& b) {
  const auto fits = [](const Tensor& full, const Tensor& one) { return one.numel() == 1 && one.rank() <= full.rank(); };
  if (fits(a, b) && a.numel() > 1) return 1;
  if (fits(b, a) && b.numel() > 1) return 0;
  return -1;
}

std::string check_scalar(const ir::ForwardCtx& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  if (!is_f32(a) || !is_f32(b)) return "inputs are not contiguous f32";
  if (scalar_operand(a, b) < 0) return "no operand is a single value broadcast over the other";
  return "";
}

std::string check_scalar_backward(const ir::BackwardCtx& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1];
  if (!is_f32(a) || !is_f32(b) || scalar_operand(a, b) < 0) return "no operand is a single value broadcast over the other";
  return "";
}

template <bool kMul>
void scalar_forward(ir::ForwardCtx& ctx) {
  const int k = scalar_operand(ctx.inputs[0], ctx.inputs[1]);
  const float* x = ctx.inputs[k == 1 ? 0 : 1].data<float>();
  const float v = ctx.inputs[k].data<float>()[0];
  float* y = ctx.outputs[0].data<float>();
  const int64_t n = ctx.outputs[0].numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = kMul ? x[i] * v : x[i] + v;
}

// The single value's gradient sums over every element: per-block double sums in a fixed block
// order, so the result does not depend on the thread count.
template <bool kMul>
void scalar_backward(ir::BackwardCtx& ctx) {
  const int k = scalar_operand(ctx.inputs[0], ctx.inputs[1]);
  const float* x = ctx.inputs[k == 1 ? 0 : 1].data<float>();
  const float v = ctx.inputs[k].data<float>()[0];
  const float* dy = ctx.d_outputs[0].data<float>();
  const Tensor& d_full_t = ctx.d_inputs[k == 1 ? 0 : 1];
  const Tensor& d_one_t = ctx.d_inputs[k];
  float* d_full = d_full_t.defined() ? d_full_t.data<float>() : nullptr;
  const int64_t n = ctx.d_outputs[0].numel();
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> block_sum(d_one_t.defined() ? static_cast<size_t>(blocks) : 0);
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t lo = blk * kBlock, hi = std::min(n, lo + kBlock);
    if (d_full) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) d_full[i] = kMul ? dy[i] * v : dy[i];
    }
    if (!block_sum.empty()) {
      double acc = 0;
      for (int64_t i = lo; i < hi; ++i) acc += kMul ? static_cast<double>(dy[i]) * x[i] : dy[i];
      block_sum[static_cast<size_t>(blk)] = acc;
    }
  }
  if (block_sum.empty()) return;
  double acc = 0;
  for (double b : block_sum) acc += b;
  d_one_t.data<float>()[0] = static_cast<float>(acc);
}
}  // namespace

Kernel cpu_binary_f32_scalar(bool mul) {
  Kernel k;
  k.name = mul ? "cpu_mul_f32_scalar" : "cpu_add_f32_scalar";
  k.check_forward = check_scalar;
  k.forward = mul ? scalar_forward<true> : scalar_forward<false>;
  k.check_backward = check_scalar_backward;
  k.backward = mul ? scalar_backward<true> : scalar_backward<false>;
  return k;
}

Kernel cpu_binary_f32_same(bool mul) {
  Kernel k;
  k.name = mul ? "cpu_mul_f32_same" : "cpu_add_f32_same";
  k.check_forward = check_same;
  k.forward = mul ? same_forward<true> : same_forward<false>;
  k.check_backward = check_same_backward;
  k.backward = mul ? same_backward<true> : same_backward<false>;
  return k;
}

Kernel cpu_binary_f32_per_channel(bool mul) {
  Kernel k;
  k.name = mul ? "cpu_mul_f32_per_channel" : "cpu_add_f32_per_channel";
  k.check_forward = check_per_channel;
  k.forward = mul ? per_channel_forward<true> : per_channel_forward<false>;
  k.check_backward = check_per_channel_backward;
  k.backward = mul ? per_channel_backward<true> : per_channel_backward<false>;
  return k;
}

}  // namespace leancnn::kernels
