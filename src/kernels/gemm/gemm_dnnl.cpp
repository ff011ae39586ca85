// Gemm (fp32) through oneDNN matmul: Y = A * B' + C for transA = 0, alpha = 1 and beta = 1 (or
// C absent), with transB either way and C absent or broadcast from [N], [1, N] (matmul's bias),
// [M, N], [M, 1] or a single value (a binary-add post-op). Backward: dA and dB are matmuls over transposed views (strides, no copies);
// dC is a reduction_sum of dY over C's broadcast dims (a copy when C is [M, N]). Prepared
// (inference plans): B packed once into the layout the matmul prefers.
#include <cstring>

#include "dnnl/dnnl_common.h"
#include "gemm_kernels.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/gemm.h"

namespace leancnn::kernels {
namespace {
using namespace dnnl_glue;
using ops::GemmGeometry;

bool has_c(const std::vector<Tensor>& inputs) { return inputs.size() > 2 && inputs[2].defined(); }

// C as a 2-D {rows, cols} broadcast against [M, N] (each 1 or the full extent), or a reason.
struct BiasView {
  Dims dims;
  std::string why;
};
BiasView bias_view(const GemmGeometry& g, const Shape& c) {
  if (c.empty() || (c.size() == 1 && c[0] == 1) || (c.size() == 2 && c[0] == 1 && c[1] == 1)) return {{1, 1}, ""};
  if (c.size() == 1 && c[0] == g.n) return {{1, g.n}, ""};
  if (c.size() == 2 && (c[0] == 1 || c[0] == g.m) && (c[1] == 1 || c[1] == g.n)) return {{c[0], c[1]}, ""};
  return {{}, str_cat("C ", shape_str(c), " is not a broadcast of [M, N] = [", g.m, ", ", g.n, "]")};
}

std::string check_geometry(const GemmGeometry& g, const std::vector<Tensor>& inputs) {
  if (g.trans_a) return "transA=1 unsupported";
  if (g.alpha != 1.f) return str_cat("alpha ", g.alpha, " != 1 unsupported");
  if (has_c(inputs)) {
    if (g.beta != 1.f) return str_cat("beta ", g.beta, " != 1 unsupported");
    return bias_view(g, inputs[2].shape()).why;
  }
  return "";
}

GemmGeometry geometry_of(const ir::Node& node, const std::vector<Tensor>& inputs) {
  return ops::gemm_geometry(node, inputs.at(0).shape(), inputs.at(1).shape());
}

// A [rows, cols] view of a row-major buffer, or of the transpose of one (`transposed`: the
// buffer is [cols, rows]).
Md view_md(int64_t rows, int64_t cols, bool transposed) {
  return f32_md({rows, cols}, transposed ? Tag::ba : Tag::ab);
}

struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  Md src, weights, dst, c;  // weights: the primitive's layout (the user view unless packed)
  Md user_weights;          // the (possibly transposed) view of the weights tensor
  bool c_as_post_op = false;
};

// dst[rows, cols] = src[rows, inner] * weights[inner, cols] (+ C), over (possibly transposed)
// views. C of shape [1, cols] is matmul's bias; any other broadcast of C is added by a binary
// post-op, because oneDNN 2.6 only has its slow reference matmul for those biases.
// packed_weights: the weights in the layout the primitive prefers (format_tag::any), for a
// prepared inference kernel that reorders them once; else the weights tensor as it is.
std::shared_ptr<const Matmul> matmul_entry(const char* kind, int64_t rows, int64_t inner, int64_t cols, bool src_t,
                                           bool weights_t, const Dims& c, bool packed_weights = false) {
  Key key(kind);
  key << rows << inner << cols << (src_t ? 1 : 0) << (weights_t ? 1 : 0) << c << (packed_weights ? 1 : 0);
  return cached<Matmul>(key, [&] {
    const Md src = view_md(rows, inner, src_t), user_weights = view_md(inner, cols, weights_t);
    const Md weights = packed_weights ? any_md({inner, cols}) : user_weights;
    const Md dst = view_md(rows, cols, false);
    const Md c_md = c.empty() ? Md() : f32_md(c, Tag::ab);
    const bool post_op = !c.empty() && c != Dims{1, cols};
    dnnl::primitive_attr attr = user_scratchpad_attr();
    if (post_op) {
      dnnl::post_ops ops;
      ops.append_binary(dnnl::algorithm::binary_add, c_md);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc = c.empty() || post_op ? dnnl::matmul::desc(src, weights, dst)
                                                   : dnnl::matmul::desc(src, weights, c_md, dst);
    dnnl::matmul::primitive_desc pd(desc, attr, engine());
    log_impl(kind, pd);
    return Matmul{pd, dnnl::matmul(pd), src, pd.weights_desc(), dst, c_md, user_weights, post_op};
  });
}

void run_matmul(const Matmul& mm, const Tensor& src, const dnnl::memory& weights, const Tensor& dst,
                const Tensor* c) {
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, wrap_held(&mm, DNNL_ARG_SRC, src, mm.src)},
      {DNNL_ARG_WEIGHTS, weights},
      {DNNL_ARG_DST, wrap_held(&mm, DNNL_ARG_DST, dst, mm.dst)}};
  if (c) args.emplace(mm.c_as_post_op ? DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1 : DNNL_ARG_BIAS,
                      wrap_held(&mm, DNNL_ARG_BIAS, *c, mm.c));
  execute(mm.prim, mm.pd, std::move(args));
}

void run_matmul(const Matmul& mm, const Tensor& src, const Tensor& weights, const Tensor& dst, const Tensor* c) {
  run_matmul(mm, src, wrap(weights, mm.weights), dst, c);
}

// Forward: Y[M, N] = A[M, K] * B'[K, N] (+ C); B is stored [N, K] when transB.
std::shared_ptr<const Matmul> forward_entry(const GemmGeometry& g, const std::vector<Tensor>& inputs,
                                            bool packed_weights = false) {
  const Dims bias = has_c(inputs) ? bias_view(g, inputs[2].shape()).dims : Dims{};
  return matmul_entry("gemm_fwd", g.m, g.k, g.n, false, g.trans_b, bias, packed_weights);
}

std::string common_checks(const std::vector<Tensor>& inputs) {
  if (inputs.size() < 2 || !inputs[0].defined() || !inputs[1].defined()) return "missing A or B";
  return check_f32(inputs, "input");
}

std::string check_forward(const ir::ForwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.outputs, "output");
  if (!why.empty()) return why;
  return try_build("matmul", [&] {
    const GemmGeometry g = geometry_of(ctx.node, ctx.inputs);
    const std::string reason = check_geometry(g, ctx.inputs);
    if (!reason.empty()) fail(ErrorKind::bad_input, reason);
    forward_entry(g, ctx.inputs);
  });
}

// What prepare() returns: the primitive for packed weights, B packed into its layout and a copy
// of C, for one shape of A.
struct PreparedGemm {
  Shape a_shape;
  std::shared_ptr<const Matmul> mm;
  dnnl::memory weights;
  Tensor c;  // undefined when there is none
};

// Inference plans only (Kernel::prepare): B (and C) are the plan's constants. Training graphs
// change their weights, so nothing is prepared for a training run.
std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) {
  if (ctx.training) return nullptr;
  const GemmGeometry g = geometry_of(ctx.node, ctx.inputs);
  auto p = std::make_shared<PreparedGemm>();
  p->a_shape = ctx.inputs[0].shape();
  try {
    p->mm = forward_entry(g, ctx.inputs, true);
  } catch (const dnnl::error&) {
    return nullptr;  // no primitive for packed weights: runs unprepared, as checked
  }
  p->weights = pack(ctx.inputs[1], p->mm->user_weights, p->mm->weights);
  if (has_c(ctx.inputs)) p->c = ctx.inputs[2].clone();
  return p;
}

void forward(ir::ForwardCtx& ctx) {
  if (ctx.prepared) {
    const auto& p = *static_cast<const PreparedGemm*>(ctx.prepared);
    LEANCNN_CHECK(ctx.inputs[0].shape() == p.a_shape, "prepared Gemm for A ", shape_str(p.a_shape), " run on ",
                  shape_str(ctx.inputs[0].shape()));
    run_matmul(*p.mm, ctx.inputs[0], p.weights, ctx.outputs[0], p.c.defined() ? &p.c : nullptr);
    return;
  }
  const GemmGeometry g = geometry_of(ctx.node, ctx.inputs);
  const auto mm = forward_entry(g, ctx.inputs);
  run_matmul(*mm, ctx.inputs[0], ctx.inputs[1], ctx.outputs[0], has_c(ctx.inputs) ? &ctx.inputs[2] : nullptr);
  // The reference saves nothing for backward (it reads inputs), so neither do we.
}

// dA[M, K] = dY[M, N] * B'^T[N, K], where B'^T is B itself when transB, else B's transpose.
std::shared_ptr<const Matmul> d_a_entry(const GemmGeometry& g) {
  return matmul_entry("gemm_bwd_a", g.m, g.n, g.k, false, !g.trans_b, {});
}
// dB = dB' (transB = 0): [K, N] = A^T[K, M] * dY[M, N]; or dB'^T (transB = 1): [N, K] = dY^T[N, M] * A[M, K].
std::shared_ptr<const Matmul> d_b_entry(const GemmGeometry& g) {
  return g.trans_b ? matmul_entry("gemm_bwd_b", g.n, g.m, g.k, true, false, {})
                   : matmul_entry("gemm_bwd_b", g.k, g.m, g.n, true, false, {});
}

struct Reduction {
  dnnl::reduction::primitive_desc pd;
  dnnl::reduction prim;
  Md src, dst;
};

// dC: dY[M, N] summed down to C's broadcast view.
std::shared_ptr<const Reduction> d_c_entry(const GemmGeometry& g, const Dims& c) {
  Key key("gemm_bwd_c");
  key << g.m << g.n << c;
  return cached<Reduction>(key, [&] {
    const Md src = f32_md({g.m, g.n}, Tag::ab), dst = f32_md(c, Tag::ab);
    dnnl::reduction::primitive_desc pd({dnnl::algorithm::reduction_sum, src, dst, 0.f, 0.f}, user_scratchpad_attr(),
                                       engine());
    log_impl("gemm backward C", pd);
    return Reduction{pd, dnnl::reduction(pd), src, dst};
  });
}

bool wants(const ir::BackwardCtx& ctx, size_t i) { return ctx.d_inputs.size() > i && ctx.d_inputs[i].defined(); }

std::string check_backward(const ir::BackwardCtx& ctx) {
  std::string why = common_checks(ctx.inputs);
  if (why.empty()) why = check_f32(ctx.d_outputs, "d_output");
  if (why.empty()) why = check_f32(ctx.d_inputs, "d_input");
  if (!why.empty()) return why;
  return try_build("matmul backward", [&] {
    const GemmGeometry g = geometry_of(ctx.node, ctx.inputs);
    const std::string reason = check_geometry(g, ctx.inputs);
    if (!reason.empty()) fail(ErrorKind::bad_input, reason);
    if (wants(ctx, 0)) d_a_entry(g);
    if (wants(ctx, 1)) d_b_entry(g);
    if (wants(ctx, 2)) {
      const Dims c = bias_view(g, ctx.inputs[2].shape()).dims;
      if (c != Dims{g.m, g.n}) d_c_entry(g, c);
    }
  });
}

void backward(ir::BackwardCtx& ctx) {
  const GemmGeometry g = geometry_of(ctx.node, ctx.inputs);
  const Tensor& a = ctx.inputs[0];
  const Tensor& b = ctx.inputs[1];
  const Tensor& d_y = ctx.d_outputs[0];
  if (wants(ctx, 0)) run_matmul(*d_a_entry(g), d_y, b, ctx.d_inputs[0], nullptr);
  if (wants(ctx, 1)) {
    if (g.trans_b)
      run_matmul(*d_b_entry(g), d_y, a, ctx.d_inputs[1], nullptr);
    else
      run_matmul(*d_b_entry(g), a, d_y, ctx.d_inputs[1], nullptr);
  }
  if (wants(ctx, 2)) {
    const Tensor& d_c = ctx.d_inputs[2];
    const Dims c = bias_view(g, ctx.inputs[2].shape()).dims;
    if (c == Dims{g.m, g.n}) {
      std::memcpy(d_c.raw(), d_y.raw(), d_y.nbytes());
    } else {
      const auto r = d_c_entry(g, c);
      execute(r->prim, r->pd, {{DNNL_ARG_SRC, wrap(d_y, r->src)}, {DNNL_ARG_DST, wrap(d_c, r->dst)}});
    }
  }
}
}  // namespace

Kernel dnnl_gemm_f32() {
  Kernel k;
  k.name = "dnnl_gemm_f32";
  k.check_forward = check_forward;
  k.forward = forward;
  k.prepare = prepare;
  k.check_backward = check_backward;
  k.backward = backward;
  return k;
}

}  // namespace leancnn::kernels
