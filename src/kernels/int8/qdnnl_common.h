// oneDNN glue shared by the int8 kernels (qconv_dnnl.cpp, qgemm_dnnl.cpp): memory over tensors
// of any dtype, the requantization attributes (output scales, zero points, the fused clamp) and
// the checks every u8 x s8 kernel makes. Private to the dnnl kernels.
#pragma once
#include <string>
#include <vector>

#include "dnnl/dnnl_common.h"
#include "leancnn/ops/qlinear.h"

namespace leancnn::kernels::dnnl_glue {

dnnl::memory::data_type dnnl_type(DType t);
Md typed_md(const Dims& dims, DType t, Tag tag);
// A dnnl::memory over a contiguous tensor's storage (no copy), of any dtype.
dnnl::memory wrap_any(const Tensor& t, const Md& md);

// oneDNN attributes that requantize exactly as ops::requantize: output scales = the multipliers
// (mask: per output channel along `channel_dim`, or common), src and dst zero points (common),
// and, when the output range is narrowed by a fused Relu/Clip, an eltwise_clip post-op over
// [lo - y_zp, hi - y_zp] (applied before the dst zero point is added; rounding is monotone, so
// this equals clamping the rounded result to [lo, hi]). f32 outputs get the multipliers
// x_scale * w_scale and an eltwise_relu for a fused Relu.
dnnl::primitive_attr requant_attr(const ops::QLinearParams& p, int channel_dim);
// Appends every value that shapes requant_attr to a cache key.
void add_requant_key(Key& key, const ops::QLinearParams& p);

// "" when the call is one the u8 x s8 kernels run exactly: x u8, w s8 (constant over the plan),
// symmetric weights (zero points 0), an s32 bias, and no 16-bit saturation on this CPU
// (int8_exactness.h).
std::string check_u8s8(const ir::ForwardCtx& ctx);

}  // namespace leancnn::kernels::dnnl_glue
