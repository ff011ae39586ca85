// What the s16 int8 kernels (qconv_s16.cpp, qgemm_s16.cpp) share: the checks every call must
// pass, the requantization parameters of a column range, and the thread-local scratch.
#pragma once
#include <string>
#include <vector>

#include "leancnn/ir/op_schema.h"
#include "leancnn/ops/qlinear.h"
#include "s16_gemm.h"

namespace leancnn::kernels::int8 {

// "" when the s16 kernels can run the call: AVX2 on this CPU (kernels/int8_exactness.h's
// features, so tests can pretend otherwise), x u8/s8 and w s8/u8 contiguous, a contiguous s32
// bias, finite multipliers.
std::string check_s16_call(const ir::ForwardCtx& ctx);

// The Requant of output columns [c0, c0 + count) (count padded to whole panels).
Requant requant_of(const ops::QLinearParams& p, const Tensor& bias, int64_t c0, int64_t count);

// The value of an s8 or u8 weight minus its zero point.
inline int32_t weight_at(const Tensor& w, int64_t i, int32_t zp) {
  return (w.dtype() == DType::u8 ? int32_t{w.data<uint8_t>()[i]} : int32_t{w.data<int8_t>()[i]}) - zp;
}

// Widens n activations (u8 or s8 by `is_u8`) minus zp into dst. Short runs (the few channels of
// a network's first layer) inline, without a call into the AVX2 unit.
inline void widen(const uint8_t* src, int64_t n, int32_t zp, bool is_u8, int16_t* dst) {
  if (n < 16) {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = static_cast<int16_t>((is_u8 ? int32_t{src[i]} : int32_t{static_cast<int8_t>(src[i])}) - zp);
    return;
  }
  if (is_u8)
    avx2::widen_u8(src, n, zp, dst);
  else
    avx2::widen_s8(reinterpret_cast<const int8_t*>(src), n, zp, dst);
}

// A per-thread buffer of at least n elements (grown, never shrunk; reused across calls).
int16_t* thread_a_buffer(int64_t n);
int32_t* thread_tile_buffer(int64_t n);

}  // namespace leancnn::kernels::int8
