// QGemm (x [M, K] u8 times w [N, K] s8 transposed) and QLinearMatMul (w [K, N]) through oneDNN's
// int8 matmul: s32 accumulation, the src zero point inside the primitive, the s32 bias,
// per-column output scales, the fused clamp and the dst zero point (or an f32 output) in the
// primitive: bit-exact with ops::qgemm_forward_ref (tests/conformance/qgemm_conformance.cpp).
// Weights are packed once when prepared.
#include <cstring>

#include "int8_kernels.h"
#include "leancnn/core/error.h"
#include "qdnnl_common.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;

bool has_bias(const std::vector<Tensor>& in) { return in.size() > ops::kQBias && in[ops::kQBias].defined(); }

struct QGemmEntry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  Operand weights;
  Md src, dst, bias;
};

struct PreparedQGemm {
  Shape src_shape;
  std::shared_ptr<const QGemmEntry> e;
  dnnl::memory weights;
  Tensor bias;
};

struct Call {
  int64_t m = 0, n = 0, k = 0;
  bool w_nk = true;  // QGemm's [N, K]; QLinearMatMul's is [K, N]
  ops::QLinearParams p;
};

Call call_of(const ir::ForwardCtx& ctx) {
  Call c;
  const Shape& x = ctx.inputs.at(ops::kQX).shape();
  const Shape& w = ctx.inputs.at(ops::kQW).shape();
  if (x.size() != 2 || w.size() != 2) fail(ErrorKind::bad_input, "x and w must be 2-D");
  c.w_nk = ctx.node.op_type == "QGemm";
  c.m = x[0];
  c.k = x[1];
  c.n = c.w_nk ? w[0] : w[1];
  c.p = ops::qlinear_params(ctx.node, ctx.inputs, c.n);
  return c;
}

std::shared_ptr<const QGemmEntry> entry(const Call& c, bool bias) {
  Key key("qgemm_u8s8");
  key << c.m << c.n << c.k << (c.w_nk ? 1 : 0) << (bias ? 1 : 0);
  add_requant_key(key, c.p);
  return cached<QGemmEntry>(key, [&] {
    const Md src = typed_md({c.m, c.k}, DType::u8, Tag::ab);
    const Md w_user = typed_md({c.k, c.n}, DType::s8, c.w_nk ? Tag::ba : Tag::ab);
    const Md w_any({c.k, c.n}, dnnl::memory::data_type::s8, Tag::any);
    const Md bias_md = typed_md({1, c.n}, DType::s32, Tag::ab);
    const Md dst = typed_md({c.m, c.n}, c.p.y_dtype, Tag::ab);
    const auto desc = bias ? dnnl::matmul::desc(src, w_any, bias_md, dst) : dnnl::matmul::desc(src, w_any, dst);
    dnnl::matmul::primitive_desc pd(desc, requant_attr(c.p, 1), engine());
    log_impl("int8 matmul", pd);
    return QGemmEntry{pd, dnnl::matmul(pd), input_operand(w_user, pd.weights_desc()), src, dst, bias_md};
  });
}

dnnl::memory pack_weights(const QGemmEntry& e, const Tensor& w) {
  dnnl::memory packed(e.weights.prim, engine());
  if (!e.weights.reordered()) {
    std::memcpy(packed.get_data_handle(), w.raw(), w.nbytes());
  } else {
    execute(*e.weights.reorder, *e.weights.reorder_pd,
            {{DNNL_ARG_FROM, wrap_any(w, e.weights.user)}, {DNNL_ARG_TO, packed}});
  }
  return packed;
}

void run(const QGemmEntry& e, const dnnl::memory& weights, const Tensor& src, const Tensor* bias, const Tensor& dst) {
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, wrap_any(src, e.src)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, wrap_any(dst, e.dst)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap_any(bias->reshape({1, bias->numel()}), e.bias));
  execute(e.prim, e.pd, std::move(args));
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = check_u8s8(ctx);
  if (!why.empty()) return why;
  return try_build("int8 matmul", [&] { entry(call_of(ctx), has_bias(ctx.inputs)); });
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) {
  try {
    auto p = std::make_shared<PreparedQGemm>();
    p->src_shape = ctx.inputs[ops::kQX].shape();
    p->e = entry(call_of(ctx), has_bias(ctx.inputs));
    p->weights = pack_weights(*p->e, ctx.inputs[ops::kQW]);
    if (has_bias(ctx.inputs)) p->bias = ctx.inputs[ops::kQBias].clone();
    return p;
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

void forward(ir::ForwardCtx& ctx) {
  if (ctx.prepared) {
    const auto& p = *static_cast<const PreparedQGemm*>(ctx.prepared);
    LEANCNN_CHECK(ctx.inputs[ops::kQX].shape() == p.src_shape, "prepared int8 matmul for input ", shape_str(p.src_shape),
                  " run on ", shape_str(ctx.inputs[ops::kQX].shape()));
    run(*p.e, p.weights, ctx.inputs[ops::kQX], p.bias.defined() ? &p.bias : nullptr, ctx.outputs[0]);
    return;
  }
  const bool bias = has_bias(ctx.inputs);
  const auto e = entry(call_of(ctx), bias);
  run(*e, pack_weights(*e, ctx.inputs[ops::kQW]), ctx.inputs[ops::kQX], bias ? &ctx.inputs[ops::kQBias] : nullptr,
      ctx.outputs[0]);
}
}  // namespace

Kernel dnnl_qgemm_u8s8() {
  Kernel k;
  k.name = "dnnl_qgemm_u8s8";
  k.check_forward = check_forward;
  k.forward = forward;
  k.prepare = prepare;
  return k;
}

}  // namespace leancnn::kernels
