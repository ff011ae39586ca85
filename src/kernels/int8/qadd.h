// QAdd's element loop for the AVX2 kernel (qadd_avx2.cpp), private to the int8 kernels: the same
// f32 steps as ops::qadd_forward_ref, in the same order (DequantizeLinear of a and b, Add, Relu,
// QuantizeLinear with a true division), eight lanes at a time, so the bytes are identical.
#pragma once
#include <cstdint>

#include "leancnn/core/dtype.h"

namespace leancnn::kernels::int8 {

struct QAddParams {
  DType a = DType::u8, b = DType::u8, y = DType::u8;  // each u8 or s8
  float a_scale = 1.f, b_scale = 1.f, y_scale = 1.f;
  int32_t a_zp = 0, b_zp = 0, y_zp = 0;
  bool relu = false;
};

namespace avx2 {
// y[i] = Q(act(DQ(a[i]) + DQ(b[i]))) for i < n. Call only when the CPU has AVX2.
void qadd(const void* a, const void* b, void* y, int64_t n, const QAddParams& p);
}  // namespace avx2

}  // namespace leancnn::kernels::int8
