// Shared checks, requantization parameters and scratch of the s16 int8 kernels (s16_common.h).
#include "s16_common.h"

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/kernels/int8_exactness.h"

namespace leancnn::kernels::int8 {

std::string check_s16_call(const ir::ForwardCtx& ctx) {
  if (!int8_cpu_features().avx2) return "no AVX2 on this CPU";
  const std::vector<Tensor>& in = ctx.inputs;
  if (in.size() <= ops::kQWScale || !in[ops::kQX].defined() || !in[ops::kQW].defined()) return "missing x or w";
  const DType x = in[ops::kQX].dtype(), w = in[ops::kQW].dtype();
  if (x != DType::u8 && x != DType::s8) return str_cat("x is ", dtype_name(x), ", not u8 or s8");
  if (w != DType::u8 && w != DType::s8) return str_cat("w is ", dtype_name(w), ", not s8 or u8");
  if (!in[ops::kQX].is_contiguous() || !in[ops::kQW].is_contiguous()) return "a non-contiguous x or w";
  if (in.size() > ops::kQBias && in[ops::kQBias].defined() &&
      (in[ops::kQBias].dtype() != DType::s32 || !in[ops::kQBias].is_contiguous()))
    return "the bias is not a contiguous s32 tensor";
  return "";
}

Requant requant_of(const ops::QLinearParams& p, const Tensor& bias, int64_t c0, int64_t count) {
  Requant q;
  const size_t padded = static_cast<size_t>(panels(count) * kPanel);
  q.bias.assign(padded, 0.f);
  q.mult.assign(padded, 0.f);
  for (int64_t c = 0; c < count; ++c) {
    q.bias[c] = bias.defined() ? static_cast<float>(bias.data<int32_t>()[c0 + c]) : 0.f;
    q.mult[c] = p.multiplier[c0 + c];
    if (!std::isfinite(q.mult[c]))
      fail(ErrorKind::bad_input, "requantization multiplier ", q.mult[c], " of output channel ", c0 + c, " is not finite");
  }
  q.y = p.y_dtype;
  q.y_zp = static_cast<float>(p.y_zp);
  q.lo = static_cast<float>(p.bounds.lo);
  q.hi = static_cast<float>(p.bounds.hi);
  q.relu = p.float_relu;
  return q;
}

int16_t* thread_a_buffer(int64_t n) {
  thread_local std::vector<int16_t> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

int32_t* thread_tile_buffer(int64_t n) {
  thread_local std::vector<int32_t> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

}  // namespace leancnn::kernels::int8
