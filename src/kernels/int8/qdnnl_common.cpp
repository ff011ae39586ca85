// oneDNN glue of the int8 kernels: typed memory, requantization attributes, shared checks.
#include "qdnnl_common.h"

#include <algorithm>

#include "leancnn/core/error.h"
#include "leancnn/kernels/int8_exactness.h"

namespace leancnn::kernels::dnnl_glue {

dnnl::memory::data_type dnnl_type(DType t) {
  switch (t) {
    case DType::f32: return dnnl::memory::data_type::f32;
    case DType::u8: return dnnl::memory::data_type::u8;
    case DType::s8: return dnnl::memory::data_type::s8;
    case DType::s32: return dnnl::memory::data_type::s32;
    default: fail(ErrorKind::internal, "no oneDNN type for ", dtype_name(t));
  }
}

Md typed_md(const Dims& dims, DType t, Tag tag) { return Md(dims, dnnl_type(t), tag); }

dnnl::memory wrap_any(const Tensor& t, const Md& md) {
  LEANCNN_CHECK(t.is_contiguous(), "int8 dnnl kernels take contiguous tensors");
  LEANCNN_CHECK(md.get_size() == t.nbytes(), "memory descriptor of ", md.get_size(), " bytes for a tensor of ",
                t.nbytes());
  return dnnl::memory(md, engine(), t.raw());
}

dnnl::primitive_attr requant_attr(const ops::QLinearParams& p, int channel_dim) {
  dnnl::primitive_attr attr = user_scratchpad_attr();
  bool common = true;
  for (float m : p.multiplier) common = common && m == p.multiplier[0];
  attr.set_output_scales(common ? 0 : 1 << channel_dim,
                         common ? std::vector<float>{p.multiplier[0]} : p.multiplier);
  if (p.x_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {p.x_zp});
  dnnl::post_ops ops;
  if (p.float_output) {
    if (p.float_relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  } else {
    if (p.y_zp != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {p.y_zp});
    const int32_t qmin = p.y_dtype == DType::u8 ? 0 : -128, qmax = p.y_dtype == DType::u8 ? 255 : 127;
    if (p.bounds.lo > qmin || p.bounds.hi < qmax) {
      // Clip's order (lo > hi gives hi): clamp the lower bound to hi first.
      const int32_t lo = std::min(p.bounds.lo, p.bounds.hi);
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, static_cast<float>(lo - p.y_zp),
                         static_cast<float>(p.bounds.hi - p.y_zp));
    }
  }
  if (ops.len() > 0) attr.set_post_ops(ops);
  return attr;
}

void add_requant_key(Key& key, const ops::QLinearParams& p) {
  key << p.x_zp << p.y_zp << static_cast<int64_t>(p.y_dtype) << p.bounds.lo << p.bounds.hi << (p.float_output ? 1 : 0)
      << (p.float_relu ? 1 : 0) << static_cast<int64_t>(p.multiplier.size());
  for (float m : p.multiplier) key << m;
}

std::string check_u8s8(const ir::ForwardCtx& ctx) {
  const std::vector<Tensor>& in = ctx.inputs;
  if (in.size() <= ops::kQW || !in[ops::kQX].defined() || !in[ops::kQW].defined()) return "missing x or w";
  if (in[ops::kQX].dtype() != DType::u8) return str_cat("x is ", dtype_name(in[ops::kQX].dtype()), ", not u8");
  if (in[ops::kQW].dtype() != DType::s8) return str_cat("w is ", dtype_name(in[ops::kQW].dtype()), ", not s8");
  if (in.size() > ops::kQWZp && in[ops::kQWZp].defined()) {
    const Tensor& z = in[ops::kQWZp];
    for (int64_t i = 0; i < z.numel(); ++i)
      if (z.data<int8_t>()[i] != 0) return "w_zero_point is not 0 (asymmetric weights)";
  }
  for (const Tensor& t : in)
    if (t.defined() && !t.is_contiguous()) return "a non-contiguous input";
  return int8_pair_sum_refusal(int8_cpu_features(), max_abs_s8(in[ops::kQW]));
}

}  // namespace leancnn::kernels::dnnl_glue
