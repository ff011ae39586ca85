// The fused activations (ops::FusedEpilogue) on a vector, written over a vector traits type S
// (vec_f32_avx2.h, vec_f32_avx512.h) with the reference's formulas (ops/fused_conv.h).
#pragma once
#include "leancnn/ops/fused_conv.h"

namespace leancnn::kernels::simd {

template <class S>
inline typename S::V activate(const ops::FusedEpilogue& e, typename S::V v) {
  switch (e.activation) {
    case ops::FusedActivation::none: return v;
    case ops::FusedActivation::relu: return S::max(v, S::zero());
    case ops::FusedActivation::clip:  // min first, then max, as ONNX Clip (min > max gives max)
      return S::min(S::max(v, S::set1(e.clip_min)), S::set1(e.clip_max));
    case ops::FusedActivation::hard_swish: {  // x * max(0, min(1, x / 6 + 1/2))
      const typename S::V t = S::fmadd(v, S::set1(1.f / 6.f), S::set1(0.5f));
      return S::mul(v, S::max(S::zero(), S::min(S::set1(1.f), t)));
    }
  }
  return v;
}

}  // namespace leancnn::kernels::simd
